"""PostgreSQL writes run on the event loop (store.db.Database.on_loop): no request thread,
each wait for the database a switch back to the loop.

What must hold there as in a thread: a write that waits for a row lock leaves the loop
free for the next desk's write; every statement runs on the loop's own thread; a
deadlock is retried after a pause that does not stop the loop; a connection the server
dropped is replaced and the write applied once; closing the hub closes a loop's
connections even when the loop ended without `close_loop`. (The answers themselves are held to the
full path's in test_api_fastpath.py, the statements and round trips in
test_circulation_statements.py, the shared limit over two server processes in
test_concurrency.py.)
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.store.db import normalize_url
from chaekieum.store.tables import loans, members

from ..conftest import SECRET, pg_demo_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def hub(pg_url: str) -> Iterator[Hub]:  # noqa: ARG001 - skips without PostgreSQL
    h = Hub(pg_demo_database(), secret=SECRET)
    yield h
    h.close()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _desk(hub: Hub) -> tuple[Actor, list[str], list[str]]:
    info = demo.info(hub)
    lib = info["libraries"][0]
    actor = Actor(Role.LIBRARY_SYSTEM, f"key:test{lib['code']}", "api", lib["code"])
    return actor, [m["number"] for m in info["members"]], lib["loanable_items"]


def test_a_write_waiting_for_a_row_lock_leaves_the_loop_to_the_next_write(
        hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
    actor, numbers, items = _desk(hub)
    threads: set[int] = set()
    hub.db.on_engine(lambda engine: event.listen(
        engine, "before_cursor_execute", lambda *_: threads.add(threading.get_ident())))
    locker = sa.create_engine(normalize_url(hub.db.url))
    with locker.connect() as other:
        other.execute(select(members.c.id).where(members.c.number == numbers[0])
                      .with_for_update())  # another library's transaction holds the member

        async def desks() -> None:
            blocked = asyncio.ensure_future(hub.db.on_loop(lambda: hub.circulation.checkout(
                actor, CheckoutRequest(numbers[0], items[0]))))
            await asyncio.sleep(0.2)
            assert not blocked.done()  # waiting for the member's row lock
            served = await asyncio.wait_for(hub.db.on_loop(lambda: hub.circulation.checkout(
                actor, CheckoutRequest(numbers[1], items[1]))), 10)
            assert served.action == "checkout"
            assert not blocked.done()
            other.rollback()  # the other library's transaction ends
            assert (await asyncio.wait_for(blocked, 10)).action == "checkout"
            await hub.db.close_loop()

        loop.run_until_complete(desks())
    locker.dispose()
    assert threads == {threading.get_ident()}  # the loop's thread: no worker thread
    with hub.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.state == "active")) == 2


def test_a_deadlock_is_retried_without_stopping_the_loop(
        hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
    attempts: list[int] = []

    def work(conn: sa.Connection) -> int:
        attempts.append(1)
        if len(attempts) == 1:  # what PostgreSQL answers the victim of a deadlock
            conn.exec_driver_sql(
                "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
        return conn.scalar(select(func.count()).select_from(members))

    async def run() -> tuple[int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0.01)
        before = ticks
        found = await hub.db.on_loop(lambda: hub.db.run_write(work))
        ticked = ticks - before
        ticking.cancel()
        await hub.db.close_loop()
        return found, ticked

    found, ticked = loop.run_until_complete(run())
    assert found > 0 and len(attempts) == 2
    assert ticked >= 3  # the loop ran while the retry paused (10 ms)


def test_a_dropped_connection_is_replaced_and_the_write_applied_once(
        hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
    actor, numbers, items = _desk(hub)
    killer = sa.create_engine(normalize_url(hub.db.url), isolation_level="AUTOCOMMIT")

    async def run() -> None:
        await hub.db.on_loop(lambda: hub.circulation.checkout(
            actor, CheckoutRequest(numbers[0], items[0])))
        with killer.connect() as conn:  # the pooled connection's backend goes away
            killed = conn.scalar(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        assert killed >= 1
        done = await hub.db.on_loop(lambda: hub.circulation.checkout(
            actor, CheckoutRequest(numbers[1], items[1])))
        assert done.action == "checkout"
        await hub.db.close_loop()

    loop.run_until_complete(run())
    killer.dispose()
    hub.db.engine.dispose()  # its pooled connections went too
    with hub.db.read() as conn:
        rows = conn.execute(select(loans.c.member_id).where(loans.c.state == "active")).all()
    assert len(rows) == 2


def test_closing_the_hub_closes_the_connections_of_a_loop_gone_without_close_loop(
        hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
    def members_on_record() -> int:
        with hub.db.read() as conn:
            return conn.scalar(select(func.count()).select_from(members))

    assert loop.run_until_complete(hub.db.on_loop(members_on_record)) > 0
    loop.close()  # no close_loop: its engine still holds a pooled connection
    checker = sa.create_engine(normalize_url(hub.db.url), isolation_level="AUTOCOMMIT")
    others = sa.text("SELECT count(*) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    with checker.connect() as conn:
        assert conn.scalar(others) >= 1
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            hub.close()
            gc.collect()
        # closed properly, not dropped with the engine ("<psycopg.AsyncConnection …> was
        # deleted while still open"; other tests' garbage may warn of its own)
        dropped = [str(w.message) for w in warned if issubclass(w.category, ResourceWarning)
                   and "AsyncConnection" in str(w.message)]
        assert not dropped, dropped
        deadline = time.monotonic() + 5
        while conn.scalar(others) and time.monotonic() < deadline:
            time.sleep(0.05)  # a backend leaves pg_stat_activity as it exits
        assert conn.scalar(others) == 0
    checker.dispose()
