"""Security headers on every response. The editor keeps the API key in localStorage on this origin, so
nothing on it may run a script from elsewhere, be framed by another site, or be sniffed into another
type. (That is also why the API's docs browser is not served here: FastAPI's /docs and /redoc load
swagger-ui and ReDoc from a CDN; the OpenAPI document itself is at /openapi.json.)"""

from __future__ import annotations

from unclip.server.origins import origin_of


def security_headers(public_base_url: str | None = None) -> list[tuple[bytes, bytes]]:
    """The headers; `public_base_url`'s origin may serve the images the editor fetches and shows."""
    extra = origin_of(public_base_url) if public_base_url else None
    own = "'self'" + (f" {extra}" if extra else "")
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {own} data: blob:",
            f"connect-src {own}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
