"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when configured), a Hub
with the demo network, and a live server on a free loopback port."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from chaekieum.services import demo
from chaekieum.services.context import FixedClock
from chaekieum.services.hub import Hub
from chaekieum.store.db import normalize_url

PG_URL = os.environ.get("CHAEKIEUM_TEST_PG_URL")  # e.g. postgresql://postgres@127.0.0.1/test
SECRET = b"test-secret"
# A Wednesday in a normal week (no public holidays nearby) keeps due dates predictable.
T0 = datetime(2026, 3, 4, 1, 0, 0)  # 10:00 in Seoul


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_pg_database(template: str | None = None) -> str:
    """Create a throw-away database on the configured cluster (optionally a copy of
    `template`) and return its URL."""
    assert PG_URL
    name = f"ck_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"'
                             + (f' TEMPLATE "{template}"' if template else ""))
    admin.dispose()
    return normalize_url(PG_URL).rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set CHAEKIEUM_TEST_PG_URL")
        pytest.skip("no PostgreSQL configured (set CHAEKIEUM_TEST_PG_URL)")
    url = fresh_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def make_hub(url: str, clock: FixedClock | None = None, with_demo: bool = True) -> Hub:
    hub = Hub(url, secret=SECRET, clock=clock)
    hub.migrate()
    if with_demo:
        demo.load(hub)
    return hub


_DEMO_TEMPLATE: dict[str, Path] = {}


def demo_hub_copy(tmp_path: Path, clock: FixedClock) -> Hub:
    """A SQLite hub with the demo network in `tmp_path`, copied from a template (hashing
    the demo's secrets once per test process keeps the suite fast)."""
    import shutil

    template = _DEMO_TEMPLATE.get("sqlite")
    if template is None:
        template_dir = Path(os.environ.get("PYTEST_TMP_TEMPLATE", tmp_path.parent / "template"))
        template_dir.mkdir(parents=True, exist_ok=True)
        template = template_dir / f"demo-{os.getpid()}.db"
        if not template.exists():
            h = make_hub(f"sqlite:///{template}", FixedClock(T0))
            with h.db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            h.close()
        _DEMO_TEMPLATE["sqlite"] = template
    target = tmp_path / "hub.db"
    shutil.copy(template, target)
    return Hub(f"sqlite:///{target}", secret=SECRET, clock=clock)


@pytest.fixture
def hub(tmp_path: Path, clock: FixedClock) -> Iterator[Hub]:
    """SQLite hub with the demo network, at a fixed time (a copy of the template)."""
    h = demo_hub_copy(tmp_path, clock)
    yield h
    h.close()


def pg_demo_database() -> str:
    """A fresh PostgreSQL database holding the demo network, cloned from a template
    built once per test process (CREATE DATABASE ... TEMPLATE is a fast file copy)."""
    assert PG_URL
    template = _DEMO_TEMPLATE.get("postgres")
    if template is None:
        url = fresh_pg_database()
        make_hub(url, FixedClock(T0)).close()
        template = url.rsplit("/", 1)[1]
        _DEMO_TEMPLATE["postgres"] = template
        import atexit

        atexit.register(drop_pg_database, url)
    return fresh_pg_database(template)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_hub(request, hub: Hub, clock: FixedClock, tmp_path: Path) -> Iterator[Hub]:
    """The demo hub on SQLite and on PostgreSQL (parametrized)."""
    if request.param == "sqlite":
        yield hub
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set CHAEKIEUM_TEST_PG_URL")
        pytest.skip("no PostgreSQL configured (set CHAEKIEUM_TEST_PG_URL)")
    url = pg_demo_database()
    h = Hub(url, secret=SECRET, clock=clock, documents=tmp_path / "pg-documents")
    try:
        yield h
    finally:
        h.close()
        drop_pg_database(url)


class LiveServer:
    def __init__(self, app, port: int):  # noqa: ANN001
        import uvicorn

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(hub: Hub) -> Iterator[LiveServer]:
    """The whole service (API + web + SIP2) in a thread, on free loopback ports."""
    from chaekieum.server import create_app

    sip2_port = free_port()
    server = LiveServer(create_app(hub, sip2_port=sip2_port), free_port()).start()
    server.sip2_port = sip2_port  # type: ignore[attr-defined]
    server.hub = hub  # type: ignore[attr-defined]
    yield server
    server.stop()
