"""Composition root: one process serving the REST API, the web UI and SIP2.

Adapters never import each other; this module wires them to one Hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from . import api, logsafe, metrics, web
from .config import (
    default_database_url,
    forwarded_allow_ips,
    identity_providers,
    production,
    secret_key,
    session_idle_minutes,
    writes_on_loop,
)
from .services.hub import Hub

log = logging.getLogger("chaekieum")
SQLITE_THREADS = 16
POSTGRES_THREADS = 8
# How often a server expires uncollected reservations (seconds; 0 = never, e.g. when a
# cron job runs `chaekieum reservations expire`). Safe in every worker: each expiry is
# its own transaction that rechecks the state.
RESERVATION_SWEEP_SECONDS = 600


async def _reservation_sweeper(hub: Hub, every: float) -> None:
    from .services.context import Actor, Role

    actor = Actor(Role.SYSTEM, "system:reservation-sweep", "system")
    while True:
        await asyncio.sleep(every)
        try:
            await anyio.to_thread.run_sync(hub.reservations.expire_due, actor)
        except Exception:  # the database is away: try again next time
            log.exception("reservation sweep failed")


# uvicorn's own proxy-header handling is always off: by default it believes
# X-Forwarded-For from 127.0.0.1, so anything on the same host (or a same-host proxy
# passing the header through) could pick its own client address and dodge the login
# limits. The app applies the same middleware itself with exactly the configured list.
UVICORN_OPTIONS = {"proxy_headers": False, "forwarded_allow_ips": ""}


def _watch_pool(hub: Hub) -> None:
    """Count the checked-out database connections (chaekieum_db_pool_connections_in_use)."""
    from sqlalchemy import Engine, event

    def watch(engine: Engine) -> None:
        event.listen(engine.pool, "checkout", lambda *_: metrics.DB_POOL_IN_USE.inc())
        event.listen(engine.pool, "checkin", lambda *_: metrics.DB_POOL_IN_USE.dec())

    hub.db.on_engine(watch)


def _metrics_route(app: FastAPI, allow: str) -> None:
    """Prometheus scrapes /metrics, from the addresses in `allow` only (default loopback):
    the figures are not personal, but they are nobody else's business either."""
    from starlette.requests import Request
    from starlette.responses import Response

    networks = metrics.parse_networks(allow)

    async def scrape(request: Request) -> Response:
        if not metrics.allowed(request.client.host if request.client else None, networks):
            return Response(status_code=404)
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    app.add_route("/metrics", scrape, include_in_schema=False)


def create_app(hub: Hub, *, sip2_host: str = "127.0.0.1", sip2_port: int | None = None,
               with_web: bool = True, forwarded_allow: str = "",
               metrics_allow: str = "127.0.0.1,::1", fast_path: bool = True,
               writes_on_loop: bool = False) -> FastAPI:
    """`forwarded_allow`: comma-separated proxy addresses/networks whose X-Forwarded-For
    and X-Forwarded-Proto are believed (`--forwarded-allow-ips`); empty: none are.
    `metrics_allow`: who may scrape /metrics (`--metrics-allow-ips`). `fast_path`: the
    hot circulation writes skip FastAPI's routing (api.fastpath; the same answers).
    `writes_on_loop` (PostgreSQL; `serve` turns it on, config.writes_on_loop): the fast path runs them on the
    event loop, not in request threads (store.db.Database.on_loop)."""
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Request threads per process. On PostgreSQL, more threads than can make progress
        # only compete for the GIL with the ones holding row locks: 8 measured best on 2
        # cores. On SQLite a waiting write is parked until its group commits (store/db.py),
        # and more threads make larger groups: 16 measured best (docs/benchmarks.md).
        threads = int(os.environ.get("CHAEKIEUM_THREADS", "0")) or (
            SQLITE_THREADS if hub.db.is_sqlite else POSTGRES_THREADS)
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        sip2_server = None
        if sip2_port:
            from .sip2.hub_backend import HubBackend
            from .sip2.server import Sip2Server

            sip2_server = Sip2Server(HubBackend(hub), sip2_host, sip2_port)
            await sip2_server.start()
            log.info("SIP2 listening on %s:%s", sip2_host, sip2_port)
        every = float(os.environ.get("CHAEKIEUM_RESERVATION_SWEEP",
                                     RESERVATION_SWEEP_SECONDS))
        sweeper = asyncio.create_task(_reservation_sweeper(hub, every)) if every > 0 else None
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            if sip2_server is not None:
                await sip2_server.stop()
            await hub.db.close_loop()

    logsafe.install()
    app = FastAPI(
        title="Chaekieum 책이음 Hub API",
        version="1",
        description="책이음 통합센터 API: members, shared circulation, transits, change feed.",
        docs_url=None,  # api.docs serves /api/docs from vendored assets (no CDN)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
        # no OpenTelemetry here (Prometheus metrics instead): without this FastAPI asks
        # the global providers on every request whether anyone is listening
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.hub = hub
    _metrics_route(app, metrics_allow)  # before the web UI's catch-all pages
    api.mount(app, hub, larger_bodies=web.uploads(hub) if with_web else None,
              fast_path=fast_path, writes_on_loop=writes_on_loop and not hub.db.is_sqlite)
    if with_web:  # an API-only node (e.g. behind a load balancer) can leave the UI out
        web.mount(app, hub)
    _watch_pool(hub)
    app.add_middleware(metrics.HttpMetrics)
    trusted = [ip.strip() for ip in forwarded_allow.split(",") if ip.strip()]
    if trusted:  # outermost, so every adapter sees the client the proxy reported
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` workers: settings come from the environment."""
    logsafe.configure()  # CHAEKIEUM_LOG_FORMAT: text or json
    hub = Hub(os.environ.get("CHAEKIEUM_DATABASE_URL") or default_database_url(),
              secret=secret_key(), pool_size=int(os.environ.get("CHAEKIEUM_POOL_SIZE", "10")),
              session_idle=timedelta(minutes=session_idle_minutes()),
              read_database_url=os.environ.get("CHAEKIEUM_READ_DATABASE_URL") or None,
              identity_providers=identity_providers(), production=production())
    port = int(os.environ.get("CHAEKIEUM_SIP2_PORT", "0")) or None
    return create_app(hub, sip2_host=os.environ.get("CHAEKIEUM_SIP2_HOST", "127.0.0.1"),
                      sip2_port=port, with_web=os.environ.get("CHAEKIEUM_WEB", "1") != "0",
                      forwarded_allow=forwarded_allow_ips(),
                      metrics_allow=os.environ.get("CHAEKIEUM_METRICS_ALLOW_IPS",
                                                   "127.0.0.1,::1"),
                      fast_path=os.environ.get("CHAEKIEUM_API_FASTPATH", "1") != "0",
                      writes_on_loop=writes_on_loop())
