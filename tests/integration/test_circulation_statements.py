"""Round trips per checkout and per checkin (issue #13): every statement costs the service
CPU (SQLAlchemy, the driver) and, on PostgreSQL, every round trip costs it more (the
socket, a wake-up) on top of the network's time, so the hot path's counts are held to an
upper bound here and a regression fails. Statements are counted as the driver receives
them (BEGIN and COMMIT not included); on PostgreSQL the round trips are counted in
libpq's own protocol trace of the connection (every Sync or simple Query message the
client sends waits for the server's answer), BEGIN and COMMIT included. The registry's
cache of libraries and policies is warm (a lookup on a miss is not the hot path). On
PostgreSQL the same holds for the writes run on the event loop (Database.on_loop, the
API's way), on psycopg's async connection."""

from __future__ import annotations

import asyncio
import re

import pytest
from psycopg import pq
from sqlalchemy import event, select

from chaekieum.services import demo, registry
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.store.tables import members, memberships

# (dialect, what) -> the most statements it may take
BOUND = {
    # lock member+copy, facts, one write statement (loan, counter, audit[, join rows])
    ("postgresql", "checkout"): 3,
    ("postgresql", "checkout_join"): 3,
    # lock member+loan+copy, anyone waiting?, one write statement
    ("postgresql", "checkin"): 3,
    # one writer: lock+facts in one read; loan, counter, audit
    ("sqlite", "checkout"): 4,
    # ... plus membership and event (both audit rows in one executemany)
    ("sqlite", "checkout_join"): 6,
    # lock read (answers "anyone waiting?"); loan returned, counter, audit
    ("sqlite", "checkin"): 4,
}
# PostgreSQL: BEGIN with the lock and what is read after it; the write with the COMMIT
ROUND_TRIPS = {"checkout": 2, "checkout_join": 2, "checkin": 2}
_WAITS = re.compile(r"^F\t\d+\t(Sync|Query)\b", re.MULTILINE)


@pytest.fixture
def counted(any_hub, tmp_path):  # noqa: ANN001, ANN201
    statements: list[str] = []
    trace = (tmp_path / "libpq.trace").open("w")

    def _count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        if not statement.startswith(("BEGIN", "COMMIT")):
            statements.append(statement)

    def _trace(dbapi_connection, record, proxy):  # noqa: ANN001, ARG001
        pgconn = proxy.driver_connection.pgconn  # psycopg's Connection or AsyncConnection
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def _untrace(dbapi_connection, record):  # noqa: ANN001, ARG001
        record.driver_connection.pgconn.untrace()  # flushes what it wrote

    def watch(engine) -> None:  # noqa: ANN001 - every engine, the loops' too
        event.listen(engine, "before_cursor_execute", _count)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "checkout", _trace)
            event.listen(engine, "checkin", _untrace)

    any_hub.db.on_engine(watch)

    def round_trips() -> int:
        path = tmp_path / "libpq.trace"
        count = len(_WAITS.findall(path.read_text()))
        path.write_text("")
        trace.seek(0)
        return count

    yield any_hub, statements, round_trips
    trace.close()


def _unjoined_member(hub, library: str) -> str:  # noqa: ANN001
    with hub.db.read() as conn:
        return conn.scalar(select(members.c.number).where(
            members.c.sandbox_of.is_(None), members.c.status == "active",
            ~select(memberships.c.member_id).where(memberships.c.member_id == members.c.id,
                                            memberships.c.library_code == library).exists())
            .order_by(members.c.id).limit(1))


def test_checkout_and_checkin_round_trips(counted, monkeypatch) -> None:  # noqa: ANN001
    hub, statements, round_trips = counted
    monkeypatch.setattr(registry, "CACHE_SECONDS", 3600.0)  # a slow test run stays warm
    info = demo.info(hub)
    lib = info["libraries"][0]["code"]
    first, second, warm = info["libraries"][0]["loanable_items"][:3]
    actor = Actor(Role.LIBRARY_SYSTEM, f"key:test{lib}", "api", lib)
    hub.circulation.checkout(actor, CheckoutRequest(info["members"][0]["number"], warm))
    hub.circulation.checkin(actor, CheckinRequest(warm))
    dialect = hub.db.engine.dialect.name
    loop = asyncio.new_event_loop()

    def run(what: str, call, on_loop: bool) -> None:  # noqa: ANN001
        statements.clear()
        round_trips()
        if on_loop:
            loop.run_until_complete(hub.db.on_loop(call))
        else:
            call()
        assert len(statements) <= BOUND[dialect, what], (what, on_loop, statements)
        if dialect == "postgresql":
            assert (n := round_trips()) == ROUND_TRIPS[what], (what, on_loop, n)
        statements.clear()

    # in a request thread; on PostgreSQL then on the event loop, as the API runs them
    for on_loop in (False, True) if dialect == "postgresql" else (False,):
        member = _unjoined_member(hub, lib)
        assert member is not None
        run("checkout_join", lambda m=member: hub.circulation.checkout(
            actor, CheckoutRequest(m, first)), on_loop)
        run("checkin", lambda: hub.circulation.checkin(actor, CheckinRequest(first)), on_loop)
        run("checkout", lambda m=member: hub.circulation.checkout(
            actor, CheckoutRequest(m, second)), on_loop)
        run("checkin", lambda: hub.circulation.checkin(actor, CheckinRequest(second)), on_loop)
        with hub.db.read() as conn:  # the checkout did join the member (counted above)
            assert conn.scalar(select(memberships.c.how).join(
                members, members.c.id == memberships.c.member_id).where(
                members.c.number == member, memberships.c.library_code == lib)) == "auto"
    loop.run_until_complete(hub.db.close_loop())
    loop.close()
