"""REST API adapter: /api/v1, thin over the services."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import OperationalError

from ..domain.errors import Code, DomainError
from ..headers import SecurityHeaders
from ..services.hub import Hub
from . import docs, errors, oauth, openapi
from .fastpath import FastPath
from .limits import BodyLimit
from .openapi import errors as errors_of
from .openapi import ok
from .outputs import HealthOut, LiveOut
from .routes import (
    circulation,
    connector,
    me,
    members,
    network,
    notices,
    onboarding,
    packages,
    registrations,
    reservations,
    sandbox,
    vendors,
)

MULTIPART_SLACK = 64 * 1024


def mount(app: FastAPI, hub: Hub, larger_bodies: dict[str, int] | None = None,
          fast_path: bool = True, writes_on_loop: bool = False) -> None:
    """`larger_bodies`: path -> body cap for routes that take files (else 1 MiB).
    `fast_path`: answer the hot circulation writes without FastAPI's routing (api.fastpath;
    off only to compare the two). `writes_on_loop` (PostgreSQL): the fast path runs them
    on the event loop, not in request threads (store.db.Database.on_loop)."""
    errors.install(app)
    openapi.install(app)
    # innermost of the app's middlewares: each one below applies to its answers too
    app.add_middleware(FastPath, owner=app, enabled=fast_path, on_loop=writes_on_loop)
    # a document upload: the configured maximum plus room for the multipart framing (the
    # service refuses a file over the maximum with its own code)
    uploads = {"/api/v1" + onboarding.DOCUMENTS: hub.documents.max_bytes + MULTIPART_SLACK}
    app.add_middleware(BodyLimit, larger={**(larger_bodies or {}), **uploads})
    # the web pages' security headers on every /api answer (JSON and the docs page)
    app.add_middleware(SecurityHeaders, prefix="/api")
    docs.mount(app)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(circulation.router)
    v1.include_router(members.router)
    v1.include_router(network.router)
    v1.include_router(reservations.router)
    v1.include_router(connector.router)
    v1.include_router(sandbox.router)
    v1.include_router(onboarding.router)
    v1.include_router(notices.router)
    v1.include_router(registrations.router)
    v1.include_router(me.router)
    v1.include_router(packages.router)
    v1.include_router(vendors.router)
    oauth.mount(app, hub)

    def ready() -> dict:
        try:
            with hub.db.read() as conn:
                conn.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            raise DomainError(Code.SERVICE_UNAVAILABLE, problem="the database does not answer") \
                from exc
        return {"status": "ok", "database": "sqlite" if hub.db.is_sqlite else "postgresql"}

    @v1.get("/health", tags=["health"],
            summary="Readiness: the process answers and its database too (503 if not)",
            response_model=None, responses={**ok(HealthOut), **errors_of(503)})
    def health() -> dict:
        return ready()

    @v1.get("/health/ready", tags=["health"],
            summary="Readiness for a load balancer: 503 while the database is unreachable",
            response_model=None, responses={**ok(HealthOut), **errors_of(503)})
    def health_ready() -> dict:
        return ready()

    @v1.get("/health/live", tags=["health"],
            summary="Liveness: the process answers (whatever the database does)",
            response_model=None, responses=ok(LiveOut))
    def health_live() -> dict:
        return {"status": "ok"}

    app.include_router(v1)
