"""The contract every connector adapter must pass (one suite, parametrized by adapter).

Each adapter comes with a harness that plays the library system on the far side through
the adapter's real channel: rows in a real MariaDB/PostgreSQL/SQLite database for
``outbox-sql``, a real HTTP receiver for ``webhook``, memory for ``mock``. A new adapter
must add a harness here (``test_every_registered_adapter_is_under_contract``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from chaekieum.connector.adapters import (
    ADAPTERS,
    CHANGE_KINDS,
    Adapter,
    Capability,
    Change,
    ConfigError,
    Delivery,
    DeliveryFailed,
)
from chaekieum.connector.adapters.outbox_sql import OutboxSqlAdapter, tables

from ...conftest import free_port
from .receiver import Receiver

SECRET = "contract-test-secret-0123456789"
T = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


class Harness:
    """The library system behind one adapter."""

    name: str

    def __init__(self) -> None:
        self.adapter: Adapter

    async def open(self) -> Adapter:
        self.adapter = self.make()
        await self.adapter.start()
        return self.adapter

    def make(self) -> Adapter:
        raise NotImplementedError

    async def restart(self) -> Adapter:
        """The connector process restarts (a crash): a new adapter on the same system."""
        await self.adapter.close()
        return await self.open()

    async def shut(self) -> None:
        await self.adapter.close()

    async def write(self, kind: str, payload: dict, occurred_at: datetime) -> None:
        raise NotImplementedError

    async def events(self) -> list[tuple[int, str, dict]]:
        raise NotImplementedError

    async def break_down(self) -> None:
        raise NotImplementedError

    async def heal(self) -> None:
        raise NotImplementedError


class ManualHarness(Harness):
    name = "manual"

    def make(self) -> Adapter:
        return ADAPTERS["manual"]({})


class MockHarness(Harness):
    name = "mock"

    def make(self) -> Adapter:
        return ADAPTERS["mock"]({})

    async def open(self) -> Adapter:
        if not hasattr(self, "adapter"):  # the memory is the library system: it survives
            self.adapter = self.make()
        await self.adapter.start()
        return self.adapter

    async def write(self, kind: str, payload: dict, occurred_at: datetime) -> None:
        self.adapter.inject(kind, payload, occurred_at)

    async def events(self) -> list[tuple[int, str, dict]]:
        return [(e.position, e.kind, e.payload) for e in self.adapter.events]

    async def break_down(self) -> None:
        self.adapter.fail_next(10**9)

    async def heal(self) -> None:
        self.adapter.fail_next(0)


OPERATIONS = {"checkout": (51, "checkout"), "checkin": (51, "checkin"),
              "renew": (51, "renew"), "member_register": (11, "register")}


class OutboxSqlHarness(Harness):
    def __init__(self, url: str, name: str) -> None:
        super().__init__()
        self.url = url
        self.name = name
        self.engine = sa.create_engine(OutboxSqlAdapter({"url": url}).url)
        self.outbox, self.inbox = tables()

    def make(self) -> Adapter:
        return ADAPTERS["outbox-sql"]({"url": self.url, "create_tables": True})

    async def shut(self) -> None:
        await super().shut()
        self.engine.dispose()

    async def write(self, kind: str, payload: dict, occurred_at: datetime) -> None:
        code, operation = OPERATIONS[kind]
        if self.engine.dialect.name == "postgresql":  # timestamptz keeps the offset
            local = occurred_at
        else:  # MariaDB DATETIME: naive local time, as KOLAS writes it
            local = occurred_at.astimezone(self.adapter.zone).replace(tzinfo=None)
        with self.engine.begin() as conn:
            conn.execute(self.outbox.insert().values(
                record_code=code, operation=operation, payload=json.dumps(payload),
                occurred_at=local))

    async def events(self) -> list[tuple[int, str, dict]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(self.inbox.c.position, self.inbox.c.kind,
                                          self.inbox.c.payload)
                                .order_by(self.inbox.c.position)).all()
        return [(r.position, r.kind, json.loads(r.payload)) for r in rows]

    async def break_down(self) -> None:  # the library system's table is gone for a while
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE chaekieum_inbox RENAME TO chaekieum_inbox_away")

    async def heal(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE chaekieum_inbox_away RENAME TO chaekieum_inbox")


class WebhookHarness(Harness):
    name = "webhook"

    def __init__(self) -> None:
        super().__init__()
        self.receiver = Receiver(SECRET, free_port())

    def make(self) -> Adapter:
        return ADAPTERS["webhook"]({"url": self.receiver.url, "secret": SECRET,
                                    "timeout": 2, "backoff_initial": 0.01,
                                    "backoff_max": 0.05})

    async def open(self) -> Adapter:
        if not self.receiver.up:
            await self.receiver.start()
        return await super().open()

    async def shut(self) -> None:
        await super().shut()
        await self.receiver.stop()

    async def events(self) -> list[tuple[int, str, dict]]:
        by_position = {r.position: r.body for r in self.receiver.requests
                       if r.signature_ok and 200 <= r.status < 300}
        return [(p, by_position[p]["kind"], by_position[p]["payload"])
                for p in self.receiver.stored]

    async def break_down(self) -> None:
        await self.receiver.stop()

    async def heal(self) -> None:
        await self.receiver.start()


# harness id -> the adapter it puts under contract
HARNESSES = {"manual": "manual", "mock": "mock", "outbox-sql-sqlite": "outbox-sql",
             "outbox-sql-mariadb": "outbox-sql", "outbox-sql-postgresql": "outbox-sql",
             "webhook": "webhook"}


def with_capability(capability: Capability) -> list[str]:
    return [h for h, name in HARNESSES.items() if capability in ADAPTERS[name].capabilities]


def build(request: pytest.FixtureRequest, tmp_path) -> Harness:  # noqa: ANN001
    kind = request.param
    if kind == "manual":
        return ManualHarness()
    if kind == "mock":
        return MockHarness()
    if kind == "webhook":
        return WebhookHarness()
    if kind == "outbox-sql-sqlite":
        return OutboxSqlHarness(f"sqlite:///{tmp_path / 'kolas.db'}", kind)
    if kind == "outbox-sql-mariadb":
        return OutboxSqlHarness(request.getfixturevalue("mariadb_url"), kind)
    return OutboxSqlHarness(request.getfixturevalue("pg_url"), kind)


@pytest.fixture(params=list(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path) -> Harness:  # noqa: ANN001
    return build(request, tmp_path)


@pytest.fixture(params=with_capability(Capability.UPLINK))
def uplink(request: pytest.FixtureRequest, tmp_path) -> Harness:  # noqa: ANN001
    return build(request, tmp_path)


@pytest.fixture(params=with_capability(Capability.EVENTS))
def events(request: pytest.FixtureRequest, tmp_path) -> Harness:  # noqa: ANN001
    return build(request, tmp_path)


def run(harness: Harness, scenario: Callable[[Adapter], Awaitable[None]]) -> None:
    async def main() -> None:
        adapter = await harness.open()
        try:
            await scenario(adapter)
        finally:
            await harness.shut()

    asyncio.run(main())


# --- every adapter -------------------------------------------------------------------------


def test_every_registered_adapter_is_under_contract() -> None:
    assert set(ADAPTERS) == set(HARNESSES.values())
    assert with_capability(Capability.UPLINK) and with_capability(Capability.EVENTS)


def test_declares_its_name_and_capabilities(harness: Harness) -> None:
    adapter = harness.make()
    assert ADAPTERS[adapter.name] is type(adapter)
    assert isinstance(adapter.capabilities, frozenset)
    assert adapter.capabilities <= set(Capability)


def test_bad_options_give_one_problem_each(harness: Harness) -> None:
    name = harness.make().name
    with pytest.raises(ConfigError) as caught:
        ADAPTERS[name]({"no_such_option": 1, "another_unknown": 2})
    problems = caught.value.problems
    assert any("no_such_option" in p for p in problems)
    assert any("another_unknown" in p for p in problems)
    assert all(p.startswith(f"{name}:") for p in problems)


def test_methods_outside_declared_capabilities_refuse(harness: Harness) -> None:
    async def scenario(adapter: Adapter) -> None:
        change = Change("x", "checkin", {"item": "1"}, T)
        if Capability.UPLINK not in adapter.capabilities:
            with pytest.raises(NotImplementedError):
                await adapter.fetch_changes(1)
            with pytest.raises(NotImplementedError):
                await adapter.acknowledge(change, {})
        if Capability.EVENTS not in adapter.capabilities:
            with pytest.raises(NotImplementedError):
                await adapter.deliver(Delivery(1, "member.joined", {}, T.isoformat()))

    run(harness, scenario)


# --- UPLINK ----------------------------------------------------------------------------------

WRITES = [
    ("checkout", {"member": "11100100000001", "item": "$111001EM0000000001"}),
    ("checkin", {"item": "$111001EM0000000001"}),
    ("renew", {"item": "$111001EM0000000002", "member": "11100100000001"}),
    ("member_register", {"name": "김책이", "birth_date": "1990-01-01"}),
]


def test_uplink_gives_changes_oldest_first_within_limit(uplink: Harness) -> None:
    async def scenario(adapter: Adapter) -> None:
        assert await adapter.fetch_changes(10) == []
        for i, (kind, payload) in enumerate(WRITES):
            await uplink.write(kind, payload, T + timedelta(minutes=i))
        first = await adapter.fetch_changes(3)
        assert [c.kind for c in first] == ["checkout", "checkin", "renew"]
        every = await adapter.fetch_changes(100)
        assert [(c.kind, c.payload) for c in every] == WRITES
        assert [c.occurred_at for c in every] == [T + timedelta(minutes=i) for i in range(4)]
        assert all(c.occurred_at.utcoffset() is not None and c.kind in CHANGE_KINDS
                   for c in every)
        assert len({c.source_id for c in every}) == 4
        assert await adapter.fetch_changes(0) == []

    run(uplink, scenario)


def test_uplink_unacknowledged_changes_come_back_after_a_crash(uplink: Harness) -> None:
    """A crash between fetch and acknowledge: the same change, with the same source_id,
    is fetched again (the core's client_txn_id makes the resend exactly-once)."""
    async def scenario(adapter: Adapter) -> None:
        for kind, payload in WRITES[:2]:
            await uplink.write(kind, payload, T)
        before = await adapter.fetch_changes(10)
        await adapter.acknowledge(before[0], {"status": 201, "body": {"loan": {"id": 1}}})
        adapter = await uplink.restart()
        after = await adapter.fetch_changes(10)
        assert [(c.source_id, c.kind, c.payload) for c in after] == [
            (before[1].source_id, before[1].kind, before[1].payload)]
        await adapter.acknowledge(after[0], {"status": 200})
        await adapter.acknowledge(after[0], {"status": 200})  # twice: harmless
        assert await adapter.fetch_changes(10) == []
        await uplink.write("checkout", WRITES[0][1], T)
        (newer,) = await adapter.fetch_changes(10)
        assert newer.source_id not in {c.source_id for c in before}

    run(uplink, scenario)


# --- EVENTS ----------------------------------------------------------------------------------

EVENTS = [Delivery(p, kind, {"member": f"m{p}", "n": p}, f"2026-03-04T01:0{p}:00+00:00")
          for p, kind in [(3, "member.suspended"), (5, "transit.addressed"),
                          (9, "member.joined")]]


def test_events_are_delivered_in_order_and_a_resend_is_idempotent(events: Harness) -> None:
    async def scenario(adapter: Adapter) -> None:
        for event in EVENTS:
            await adapter.deliver(event)
        await adapter.deliver(EVENTS[1])  # the core crashed before recording it
        adapter = await events.restart()
        await adapter.deliver(EVENTS[2])
        assert await events.events() == [(e.position, e.kind, e.payload) for e in EVENTS]

    run(events, scenario)


def test_an_unavailable_library_system_fails_the_delivery_until_it_is_back(
        events: Harness) -> None:
    async def scenario(adapter: Adapter) -> None:
        await adapter.deliver(EVENTS[0])
        await events.break_down()
        for _ in range(3):
            with pytest.raises(DeliveryFailed):
                await adapter.deliver(EVENTS[1])
        await events.heal()
        await adapter.deliver(EVENTS[1])
        await adapter.deliver(EVENTS[2])
        assert [p for p, *_ in await events.events()] == [3, 5, 9]

    run(events, scenario)


def test_a_delivered_event_can_be_read_back_or_the_adapter_says_it_cannot(
        events: Harness) -> None:
    """`stored_event` (the conformance kit's CONN-02): what the library system holds for a
    position, from the library system itself; None for a position it never got."""
    async def scenario(adapter: Adapter) -> None:
        await adapter.deliver(EVENTS[0])
        try:
            held = await adapter.stored_event(EVENTS[0].position)
        except NotImplementedError:
            return  # e.g. webhook: the receiver's 2xx is the only receipt
        assert held == {"kind": EVENTS[0].kind, "payload": EVENTS[0].payload}
        assert await adapter.stored_event(EVENTS[1].position) is None

    run(events, scenario)
