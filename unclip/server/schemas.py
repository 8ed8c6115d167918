"""Shapes for the OpenAPI document. Requests are parsed by hand (`validation`), so their bodies are
described here as JSON Schema; responses are pydantic models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from unclip.server.validation import MAX_N, MAX_PROMPT_CHARS, RESPONSE_FORMATS, SIZES


class ImageData(BaseModel):
    url: str | None = None
    b64_json: str | None = None


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "invalid request or content policy refusal"},
    401: {"model": ErrorResponse, "description": "missing or wrong API key"},
    429: {"model": ErrorResponse, "description": "the queue is full; see the retry-after header"},
    500: {"model": ErrorResponse, "description": "server error"},
    503: {"model": ErrorResponse, "description": "the server is shutting down"},
}

_common: dict[str, Any] = {
    "model": {"type": "string", "nullable": True, "default": "dall-e-2"},
    "n": {"type": "integer", "minimum": 1, "maximum": MAX_N, "default": 1, "nullable": True},
    "size": {"type": "string", "enum": list(SIZES), "default": "1024x1024", "nullable": True},
    "response_format": {"type": "string", "enum": list(RESPONSE_FORMATS), "default": "url", "nullable": True},
    "user": {"type": "string"},
}
_prompt = {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS}
_quality = {"type": "string", "enum": ["standard"]}
_streaming: dict[str, Any] = {
    "stream": {"type": "boolean", "description": "answer with server-sent events (see SERVER.md)"},
    "partial_images": {"type": "integer", "minimum": 0, "maximum": 3, "description": "with stream only"},
    "seed": {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**64 - 1,
        "description": "unclip's extension: the same request with the same seed gives the same images",
    },
}
_file = {"type": "string", "format": "binary", "description": "a square PNG, less than 4 MB"}


def _body(content_type: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return {"requestBody": {"required": True, "content": {content_type: {"schema": schema}}}}


GENERATION_BODY = _body(
    "application/json",
    {"prompt": _prompt, **_common, "quality": _quality, **_streaming},
    ["prompt"],
)
EDIT_BODY = _body(
    "multipart/form-data",
    {
        "image": {**_file, "description": "a square PNG under 4 MB; without a mask it needs transparency"},
        "mask": {**_file, "description": "PNG of the image's size; fully transparent pixels mark the edit"},
        "prompt": _prompt,
        **_common,
        "quality": _quality,
        **_streaming,
        "outpaint": {
            "type": "boolean",
            "default": False,
            "description": "unclip only: the transparent area extends the picture past its borders, so the "
            "model's outpainting method fills it (the web editor's Outpaint tab sends true)",
        },
    },
    ["image", "prompt"],
)
VARIATION_BODY = _body("multipart/form-data", {"image": _file, **_common, **_streaming}, ["image"])
