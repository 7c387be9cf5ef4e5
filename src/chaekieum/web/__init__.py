"""Web UI adapter (staff console, circulation desk, member portal)."""

from __future__ import annotations

from typing import Any


def mount(app: Any, hub: Any) -> None:
    """Attach the web pages to the application (filled in by the web module)."""
    from .routes import mount as _mount

    _mount(app, hub)
