"""Which browsers and host names may talk to the server: the defence against cross-site requests
and DNS rebinding that local model servers adopted after the same class of CVE.

- `Host`: without API keys the server is a loopback service, and any web page could reach it by
  rebinding its own name to 127.0.0.1; so the Host header must name a loopback address, the bound
  address, the host of `public_base_url`, or one of `allowed_hosts`. (With keys, the keys are the
  guard and the server may be reached under any name.)
- `Origin`: a browser names the page that sends a request. Requests from another origin than the
  server's own (the Host it was reached at, or `public_base_url`) are refused unless `allowed_origins`
  lists it (`*`: any). The editor is served by the server itself, so it is always same-origin.
  Clients that are not browsers send no Origin and are not affected.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from unclip.server.errors import APIError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_name(host: str) -> str:
    """`Host` header -> lower-case name without the port ("[::1]:8000" -> "::1")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def origin_of(url: str) -> str | None:
    """ "https://Example.com:443/x" -> "https://example.com"; None if it is not an http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{name}"
    return f"{parts.scheme}://{name}:{port}"


class HostOriginGuard:
    """Pure ASGI middleware: a 403 (OpenAI-shaped) for a disallowed Host (key-less servers) or Origin."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        check_host: bool,
        bound_host: str,
        public_base_url: str | None,
        allowed_hosts: list[str],
        allowed_origins: list[str],
    ) -> None:
        self.app = app
        self.check_host = check_host
        self.hosts = LOOPBACK_NAMES | {host_name(bound_host)} | {h.strip().lower() for h in allowed_hosts}
        public = origin_of(public_base_url) if public_base_url else None
        if public_base_url:
            self.hosts |= {host_name(urlsplit(public_base_url).netloc)}
        self.any_origin = "*" in allowed_origins
        self.origins = {o for o in (origin_of(x) for x in allowed_origins if x != "*") if o} | (
            {public} if public else set()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k: v for k, v in scope.get("headers", ()) if k in (b"host", b"origin")}
            host = headers.get(b"host", b"").decode("latin-1")
            refusal = self._check(host, headers.get(b"origin"))
            if refusal is not None:
                scope.setdefault("state", {})["outcome"] = "forbidden"
                await refusal.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _check(self, host: str, origin_header: bytes | None) -> APIError | None:
        if self.check_host and host and host_name(host) not in self.hosts:
            return APIError(
                403,
                f"Host '{host}' is not allowed: this server has no API keys, so it answers only requests "
                "addressed to its own address (add the name to allowed_hosts to use another).",
                param=None,
                code="host_not_allowed",
                outcome="forbidden",
            )
        if origin_header is None or self.any_origin:
            return None
        origin = origin_header.decode("latin-1")
        normalized = origin_of(origin)
        same = normalized is not None and host and normalized.split("://", 1)[1] == _netloc(host, normalized)
        if same or normalized in self.origins:
            return None
        return APIError(
            403,
            f"Cross-origin requests from '{origin}' are not allowed (a web page of another site "
            "cannot use this server; add the origin to allowed_origins to permit it).",
            param=None,
            code="origin_not_allowed",
            outcome="forbidden",
        )


def _netloc(host: str, origin: str) -> str:
    """The Host header as the origin would write it (without the scheme's default port)."""
    host = host.strip().lower()
    scheme = origin.split("://", 1)[0]
    return host.removesuffix(f":{DEFAULT_PORTS[scheme]}")
