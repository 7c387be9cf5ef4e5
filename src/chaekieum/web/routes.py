"""Mount the web UI: a sub-application at "/" that owns every path outside /api.

The sub-application carries its own middleware (signed session cookie, security
headers, server timing) and an app-wide CSRF dependency, so none of it touches the REST
API that shares the process.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ..services.statistics import Statistics
from . import (
    auth,
    console,
    desk,
    imports,
    join,
    joining,
    oidc,
    onboarding,
    portal,
    portal_notices,
    pwa,
    vendors,
)
from .common import HERE, install_error_pages, templates
from .security import RateLimiter, SessionCodec, WebMiddleware, csrf_guard

LOGIN_ATTEMPTS_PER_MINUTE = 10
PAGES = (auth, desk, portal, portal_notices, pwa, join, joining, imports, onboarding, oidc,
         vendors, console)  # one APIRouter each


def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico whatever a page links: answer it, never 404."""
    return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


def create_web_app(hub: Any) -> FastAPI:
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf_guard)])
    web.state.hub = hub
    web.state.stats = Statistics(hub.db, hub.clock)
    web.state.login_limiter = RateLimiter(LOGIN_ATTEMPTS_PER_MINUTE, 60.0)
    web.add_middleware(WebMiddleware, codec=SessionCodec(hub.secret))
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    web.add_api_route("/favicon.ico", favicon, include_in_schema=False)
    for module in PAGES:
        web.include_router(module.router)
    install_error_pages(web)
    for name in templates.env.list_templates():  # compile now, not on a user's first view
        templates.env.get_template(name)
    return web


def mount(app: Any, hub: Any) -> None:
    app.mount("/", create_web_app(hub), name="web")
