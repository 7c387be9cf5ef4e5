"""REST API adapter: /api/v1, thin over the services."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from ..services.hub import Hub
from . import errors
from .limits import BodyLimit
from .routes import circulation, connector, members, network, reservations, sandbox


def mount(app: FastAPI, hub: Hub) -> None:
    errors.install(app)
    app.add_middleware(BodyLimit)
    v1 = APIRouter(prefix="/api/v1")
    v1.include_router(circulation.router)
    v1.include_router(members.router)
    v1.include_router(network.router)
    v1.include_router(reservations.router)
    v1.include_router(connector.router)
    v1.include_router(sandbox.router)

    @v1.get("/health", tags=["health"], summary="Liveness and database check")
    def health() -> dict:
        with hub.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return {"status": "ok", "database": "sqlite" if hub.db.is_sqlite else "postgresql"}

    app.include_router(v1)
