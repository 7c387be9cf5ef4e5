"""200 kiosks at once, one member: the shared 책이음 limit stays exact (20 loans),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, insert, select

from chaekieum.services import demo
from chaekieum.services.hub import Hub
from chaekieum.sip2.client import AsyncSip2Client
from chaekieum.sip2.hub_backend import HubBackend
from chaekieum.sip2.server import BackgroundServer
from chaekieum.store.tables import copies, loans, sip2_terminals

KIOSKS = 200
LIBRARIES = ["111001", "111002", "111003", "121001", "126001", "141001", "141002"]


def prepare(hub: Hub) -> list[tuple[str, str]]:
    """200 terminal accounts and one fresh copy per kiosk, spread over 7 libraries so
    that no per-library limit (20) is reached before the shared one."""
    now = hub.clock.now()
    # Cheap argon2 parameters for the 200 load-test accounts: this test is about
    # circulation under concurrency, not about hashing 200 passwords on 2 cores.
    password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
        "load-pass")
    plan = []
    with hub.db.write() as conn:
        rows, items = [], []
        for i in range(KIOSKS):
            lib = LIBRARIES[i % len(LIBRARIES)]
            login = f"load-{i:03d}"
            reg = f"LD{i:010d}"
            rows.append({"login": login, "password_hash": password_hash, "library_code": lib,
                         "label": "load test", "encoding": "utf-8", "terminator": "CR",
                         "error_detection": True, "created_at": now})
            items.append({"library_code": lib, "reg_no": reg, "title": f"부하 {i}",
                          "loanable": True, "updated_at": now})
            plan.append((login, f"${lib}{reg}"))
        conn.execute(insert(sip2_terminals), rows)
        conn.execute(insert(copies), items)
    return plan


async def storm(port: int, plan: list[tuple[str, str]], member: str) -> tuple[int, int]:
    clients = await asyncio.gather(*(AsyncSip2Client.connect("127.0.0.1", port)
                                     for _ in plan))
    try:
        assert all(await asyncio.gather(*(c.login(login, "load-pass")
                                          for c, (login, _) in zip(clients, plan, strict=True))))

        # round 1: 200 checkouts at once for one member
        async def lend(c: AsyncSip2Client, item: str) -> bool:
            r = await c.request(c.checkout_frame(member, item))
            if r.fixed["ok"] != "1":
                assert any("한도" in m for m in r.all("AF")), r.all("AF")
            return r.fixed["ok"] == "1"

        won = await asyncio.gather(*(lend(c, item) for c, (_, item) in zip(clients, plan, strict=True)))

        # round 2: the winners return while every other kiosk tries again
        async def second(c: AsyncSip2Client, item: str, lent: bool) -> bool:
            if lent:
                r = await c.request(c.checkin_frame(item))
                assert r.fixed["ok"] == "1"
                return False
            return await lend(c, item)

        again = await asyncio.gather(*(second(c, item, lent) for c, (_, item), lent
                                       in zip(clients, plan, won, strict=True)))
        return sum(won), sum(again)
    finally:
        await asyncio.gather(*(c.close() for c in clients))


def run_storm(hub: Hub) -> None:
    plan = prepare(hub)
    member = demo.info(hub)["members"][1]["number"]  # 이바다
    with BackgroundServer(HubBackend(hub)) as server:
        lent_first, lent_again = asyncio.run(storm(server.port, plan, member))
    assert lent_first == 20
    with hub.db.read() as conn:
        active = conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.state == "active"))
        total = conn.scalar(select(func.count()).select_from(loans))
    assert active == lent_again <= 20
    assert total == lent_first + lent_again
    assert len(hub.members.loans(demo.SYSTEM, member)) == active


def test_200_kiosks_one_member_sqlite(hub):  # noqa: ANN001
    run_storm(hub)


@pytest.fixture
def pg_hub(pg_url, clock) -> Iterator[Hub]:  # noqa: ANN001
    from tests.conftest import make_hub

    h = make_hub(pg_url, clock)
    yield h
    h.close()


@pytest.mark.postgres
def test_200_kiosks_one_member_postgres(pg_hub):  # noqa: ANN001
    run_storm(pg_hub)
