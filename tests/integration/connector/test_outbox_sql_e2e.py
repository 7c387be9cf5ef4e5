"""``outbox-sql`` end to end: a library system's database (real MariaDB and PostgreSQL)
-> the adapter -> the hub's /api/v1 -> the hub's feed -> the inbox table.

The connector's part is played by ``pump``, the loop the core runs: fetch, send with a
``client_txn_id`` derived from the change's source, acknowledge; the feed is delivered in
order. A crash between the hub's answer and the acknowledgement must not duplicate.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from chaekieum.connector.adapters import ADAPTERS, Adapter, Change, ConfigError, Delivery
from chaekieum.connector.adapters.outbox_sql import REJECTED, SENT, tables
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.hub import Hub

from ..apiclient import LibraryClient

PATHS = {"checkout": "/circulation/checkout", "checkin": "/circulation/checkin",
         "renew": "/circulation/renew", "member_register": "/members"}
SEOUL_LOCAL = datetime(2026, 3, 4, 10, 5)  # naive, as KOLAS writes it (Asia/Seoul)


@pytest.fixture(params=["mariadb", "postgresql"])
def library_db(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "pg_url")


@pytest.fixture
def api(hub: Hub):  # noqa: ANN201
    with TestClient(create_app(hub, with_web=False), raise_server_exceptions=False) as client:
        yield client


def send(hub_api: LibraryClient, adapter: Adapter, change: Change) -> dict[str, Any]:
    """What the core does with one change: the hub's endpoint, exactly once."""
    txn = f"{adapter.name}:{change.source_id}"
    body = {**change.payload, "client_txn_id": txn}
    r = hub_api.post(PATHS[change.kind], body, **{"Idempotency-Key": txn})
    replayed = r.headers.get("Idempotent-Replayed") == "true" or r.json().get("replayed")
    return {"status": r.status_code, "body": r.json(), "replayed": bool(replayed)}


async def pump_changes(hub_api: LibraryClient, adapter: Adapter) -> list[dict]:
    results = []
    while changes := await adapter.fetch_changes(2):
        for change in changes:
            result = send(hub_api, adapter, change)
            await adapter.acknowledge(change, result)
            results.append(result)
    return results


def write(engine: sa.Engine, code: int, operation: str, payload: Any) -> None:
    outbox, _ = tables()
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    occurred = (SEOUL_LOCAL.replace(tzinfo=UTC) if engine.dialect.name == "postgresql"
                else SEOUL_LOCAL)
    with engine.begin() as conn:
        conn.execute(outbox.insert().values(record_code=code, operation=operation,
                                            payload=text, occurred_at=occurred))


def test_outbox_to_hub_and_feed_to_inbox(library_db: str, hub: Hub, api: TestClient) -> None:
    lib = LibraryClient(api, "111001")
    other = LibraryClient(api, "111002")
    member = demo.info(hub)["members"][0]["number"]
    i1, i2 = lib.item(1), lib.item(2)
    options = {"url": library_db, "create_tables": True}
    outbox, inbox = tables()

    async def scenario() -> None:
        adapter = ADAPTERS["outbox-sql"](options)
        await adapter.start()
        engine = sa.create_engine(adapter.url)
        try:
            write(engine, 51, "checkout", {"member": member, "item": i1})
            write(engine, 51, "checkout", {"member": member, "item": i2})
            write(engine, 51, "checkin", {"item": i1})
            write(engine, 51, "loan", {"item": i1})  # unknown operation: rejected
            write(engine, 62, "holiday", {"date": "2026-03-05"})  # policy: set at the hub
            write(engine, 51, "checkin", "{not json")  # rejected, never blocks the rest
            write(engine, 51, "checkin", {"item": lib.item(99999)})  # the hub refuses it

            # The core sends the first change, the hub applies it, the connector dies
            # before acknowledging: after a restart the same row comes back.
            (first,) = await adapter.fetch_changes(1)
            assert send(lib, adapter, first)["status"] == 200
            await adapter.close()
            adapter = ADAPTERS["outbox-sql"](options)
            await adapter.start()
            results = await pump_changes(lib, adapter)
            assert [r["status"] for r in results] == [200, 200, 200, 409]
            assert results[3]["body"]["code"]  # the refusal is kept with the row
            assert results[0]["replayed"] is True  # the resend, not a second loan

            # The hub: i1 lent once and returned, i2 on loan; no duplicate loan.
            with hub.db.read() as conn:
                count = conn.exec_driver_sql(
                    "SELECT count(*) FROM loans WHERE client_txn_id LIKE 'outbox-sql:%'").scalar()
            assert count == 2
            on_loan = [x["item"] for x in lib.get(f"/members/{member}/loans").json()["items"]]
            assert on_loan == [i2]

            # The library system's outbox: every row settled, with the answer kept.
            with engine.connect() as conn:
                rows = conn.execute(sa.select(outbox.c.id, outbox.c.status, outbox.c.result)
                                    .order_by(outbox.c.id)).all()
            assert [r.status for r in rows] == [SENT, SENT, SENT, REJECTED, REJECTED,
                                                REJECTED, SENT]
            assert "policy/holiday" in json.loads(rows[4].result)["rejected"]
            assert json.loads(rows[6].result)["status"] == 409

            # Feed -> inbox: i2 returned at another Seoul library addresses a transit.
            assert other.checkin(i2).status_code == 200
            feed = lib.get("/events", after=0).json()["events"]
            assert "transit.addressed" in [e["kind"] for e in feed]
            for event in feed:
                delivery = Delivery(event["position"], event["kind"], event["payload"],
                                    event["created_at"])
                await adapter.deliver(delivery)
            await adapter.deliver(delivery)  # the core resends the last one after a crash
            with engine.connect() as conn:
                got = conn.execute(sa.select(inbox.c.position, inbox.c.kind, inbox.c.payload,
                                             inbox.c.read_at)
                                   .order_by(inbox.c.position)).all()
            assert [(r.position, r.kind, json.loads(r.payload)) for r in got] == [
                (e["position"], e["kind"], e["payload"]) for e in feed]
            assert all(r.read_at is None for r in got)
        finally:
            await adapter.close()
            engine.dispose()

    asyncio.run(scenario())


def test_occurred_at_in_local_time_becomes_aware(library_db: str) -> None:
    async def scenario() -> None:
        adapter = ADAPTERS["outbox-sql"]({"url": library_db, "create_tables": True})
        await adapter.start()
        engine = sa.create_engine(adapter.url)
        try:
            write(engine, 11, "register", {"name": "김책이"})
            (change,) = await adapter.fetch_changes(5)
            assert change.kind == "member_register"
            expected = (SEOUL_LOCAL.replace(tzinfo=UTC) if engine.dialect.name == "postgresql"
                        else SEOUL_LOCAL.replace(tzinfo=adapter.zone))
            assert change.occurred_at == expected
        finally:
            await adapter.close()
            engine.dispose()

    asyncio.run(scenario())


def test_bad_options_are_all_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        ADAPTERS["outbox-sql"]({"url": "oracle://x/y", "outbox_table": "a;drop",
                                "create_tables": "yes", "local_timezone": "Mars/Base"})
    problems = caught.value.problems
    assert len(problems) == 4, problems
    with pytest.raises(ConfigError) as caught:
        ADAPTERS["outbox-sql"]({})
    assert caught.value.problems == [
        "outbox-sql: url is required (e.g. mysql://user:pw@host/kolas)"]
    with pytest.raises(ConfigError):
        ADAPTERS["outbox-sql"]({"url": "not a url"})


def test_the_password_never_shows_in_where() -> None:
    adapter = ADAPTERS["outbox-sql"]({"url": "mysql://kolas:s3cret@db.library/kolas"})
    assert "s3cret" not in adapter.where and adapter.url.drivername == "mysql+pymysql"
