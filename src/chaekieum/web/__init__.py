"""Web UI adapter (staff console, circulation desk, member portal)."""

from __future__ import annotations

from typing import Any

# body caps of the routes that take files (the REST API's 1 MiB otherwise)
UPLOADS = {"/console/imports": 1 << 30}  # 1 GiB: a whole catalogue in one MARC file
DOCUMENTS = "/console/onboarding/{code}/documents"  # web/onboarding.py
MULTIPART_SLACK = 1 << 16  # the form's other fields and boundaries


def uploads(hub: Any) -> dict[str, int]:
    """UPLOADS, and the onboarding documents at the hub's document size cap."""
    return {**UPLOADS, DOCUMENTS: hub.documents.max_bytes + MULTIPART_SLACK}


def mount(app: Any, hub: Any) -> None:
    """Attach the web pages to the application (filled in by the web module)."""
    from .routes import mount as _mount

    _mount(app, hub)
