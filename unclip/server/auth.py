"""API keys: `Authorization: Bearer KEY` on every /v1 endpoint when keys are configured.

With no keys configured the server only listens on loopback (enforced in `runner`), and every
request is accepted. Image file URLs need no key: their names are unguessable.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from unclip.server.errors import missing_key, wrong_key
from unclip.server.settings import redact_key

bearer_scheme = HTTPBearer(auto_error=False, description="an API key configured with `unclip serve --api-key`")


class KeyChecker:
    def __init__(self, keys: list[str]) -> None:
        self._keys = [k.encode() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None) -> None:
        """Raise the OpenAI-shaped 401 for a missing or wrong key; return if the key is valid."""
        if not self._keys:
            return
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise missing_key()
        candidate = token.encode()
        ok = False
        for key in self._keys:  # compare against every key: no early exit
            ok |= hmac.compare_digest(candidate, key)
        if not ok:
            raise wrong_key(redact_key(token))


async def require_key(request: Request, _: HTTPAuthorizationCredentials | None = Security(bearer_scheme)) -> None:  # noqa: B008
    """FastAPI dependency (the `HTTPBearer` parameter is there so the OpenAPI document shows the scheme)."""
    request.app.state.server.keys.check(request.headers.get("authorization"))
