"""The OpenAI-compatible Images API (dall-e-2) over HTTP: `unclip serve`. See docs/SERVER.md.

    from unclip.server import ServerSettings, create_app
    app = create_app(ServerSettings(model="path/to/model", api_keys=["sk-..."]))   # an ASGI app

Imports are lazy so that `import unclip.server` needs neither FastAPI nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unclip.server.app import create_app
    from unclip.server.settings import ServerSettings, load_settings


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from unclip.server.app import create_app

        return create_app
    if name in ("ServerSettings", "load_settings"):
        from unclip.server import settings

        return getattr(settings, name)
    raise AttributeError(name)


__all__ = ["ServerSettings", "create_app", "load_settings"]
