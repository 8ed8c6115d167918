"""OpenAI-shaped errors: `{"error": {"message", "type", "param", "code"}}` with the status API.md gives."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

IMAGE_FORMAT_MESSAGE = "Uploaded image must be a PNG and less than 4 MB."
MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY). Ask the operator of this server for a key."
)
CONTENT_POLICY_MESSAGES = {
    "prompt": "Your request was rejected as a result of our safety system. Your prompt may contain text "
    "that is not allowed by our safety system.",
    "upload": "Your request was rejected as a result of our safety system. The uploaded image may contain "
    "content that is not allowed by our safety system.",
    "output": "Your request was rejected as a result of our safety system. Image descriptions generated "
    "from your prompt may contain text that is not allowed by our safety system. If you believe this was "
    "done in error, your request may succeed if retried, or by adjusting your prompt.",
}
SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! You can retry your request, "
    "or contact the server's operator if the error persists (include the request ID {request_id})."
)


class APIError(Exception):
    """An error response in OpenAI's format. Raise it anywhere in a request; the handler renders it."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        outcome: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}
        self.outcome = outcome or _default_outcome(status, code)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def _default_outcome(status: int, code: str | None) -> str:
    if code == "content_policy_violation":
        return "refused"
    return {
        400: "invalid_request",
        401: "unauthorized",
        404: "not_found",
        405: "invalid_request",
        429: "rate_limited",
        503: "unavailable",
    }.get(status, "error" if status >= 500 else "invalid_request")


# ---------------------------------------------------------------------- constructors
def invalid(param: str | None, message: str, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def missing(param: str) -> APIError:
    return invalid(param, f"Missing required parameter: '{param}'.")


def bad_image(param: str = "image") -> APIError:
    return invalid(param, IMAGE_FORMAT_MESSAGE)


def content_policy(stage: str) -> APIError:
    return APIError(400, CONTENT_POLICY_MESSAGES[stage], param=None, code="content_policy_violation")


def missing_key() -> APIError:
    return APIError(401, MISSING_KEY_MESSAGE)


def wrong_key(redacted: str) -> APIError:
    return APIError(
        401,
        f"Incorrect API key provided: {redacted}. Ask the operator of this server for a valid key.",
        code="invalid_api_key",
    )


def rate_limited(message: str, retry_after_s: int) -> APIError:
    return APIError(
        429, message, type="requests", code="rate_limit_exceeded", headers={"retry-after": str(retry_after_s)}
    )


def shutting_down() -> APIError:
    return APIError(
        503,
        "The server is shutting down and accepts no new requests; retry shortly.",
        type="server_error",
        code="server_shutting_down",
    )


def storage_full(retry_after_s: float, ttl_s: float) -> APIError:
    """No room for a request's `url` results: the storage holds only unexpired URLs, which must live
    their TTL. (`b64_json` results are not stored.)"""
    wait = max(1, min(3600, round(retry_after_s)))
    return APIError(
        503,
        f"The server's image storage is full of URLs that have not expired yet (each lives "
        f"{round(ttl_s / 60)} minutes), so this request's images could not be stored: retry in {wait}s, "
        "or ask for response_format=b64_json, which stores nothing.",
        type="server_error",
        code="storage_full",
        headers={"retry-after": str(wait)},
    )


def server_error(request_id: str) -> APIError:
    return APIError(500, SERVER_ERROR_MESSAGE.format(request_id=request_id), type="server_error")


_PARAM_PREFIX = re.compile(r"^(image|mask|prompt|size|n)\b\s*[:=]")


def from_input_error(message: str) -> APIError:
    """A pipeline `InputError` -> 400; its message names the field first ("mask: ...") when it can."""
    m = _PARAM_PREFIX.match(message)
    return invalid(m.group(1) if m else None, message)


# ---------------------------------------------------------------------- handlers
def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        request.state.outcome = exc.outcome
        request.state.error_code = exc.code
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            err = APIError(404, f"Invalid URL ({request.method} {request.url.path})")
        elif exc.status_code == 405:
            err = APIError(405, f"Method not allowed ({request.method} {request.url.path})")
        else:
            err = APIError(exc.status_code, str(exc.detail))
        return await _api_error(request, err)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        return await _api_error(
            request, invalid(loc[-1] if loc else None, str(first.get("msg", "invalid request")))
        )
