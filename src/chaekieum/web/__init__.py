"""Web UI adapter (staff console, circulation desk, member portal)."""

from __future__ import annotations

from typing import Any

# body caps of the routes that take files (the REST API's 1 MiB otherwise)
UPLOADS = {"/console/imports": 1 << 30}  # 1 GiB: a whole catalogue in one MARC file


def mount(app: Any, hub: Any) -> None:
    """Attach the web pages to the application (filled in by the web module)."""
    from .routes import mount as _mount

    _mount(app, hub)
