"""The daemon (a real process) with the `outbox-sql` adapter: the library system's
change records go up through the same write path as the local API, online and after an
outage, and the hub's events come down into the inbox table, in order."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from .apiclient import library_key
from .connector_procs import LIBRARY, demo_hub_db, hub_rows, start_connector, start_hub
from .netproxy import FaultProxy


def test_outbox_changes_go_up_and_events_come_down(tmp_path, hub) -> None:  # noqa: ANN001
    url, numbers = demo_hub_db(hub)
    server = start_hub(url)
    proxy = FaultProxy(server.port).start()
    ils_url = f"sqlite:///{tmp_path / 'ils.db'}"
    tables = ("[[adapters]]\ntype = \"outbox-sql\"\nname = \"kolas\"\n"
              f"[adapters.options]\nurl = \"{ils_url}\"\ncreate_tables = true\n")
    connector = start_connector(tmp_path, proxy.url, tables=tables)
    ils = sa.create_engine(ils_url)

    def record(operation: str, payload: dict) -> int:
        with ils.begin() as conn:
            return conn.execute(sa.text(
                "INSERT INTO chaekieum_outbox (record_code, operation, payload, occurred_at,"
                " status) VALUES (51, :op, :payload, :at, 'pending') RETURNING id"),
                {"op": operation, "payload": json.dumps(payload),
                 "at": datetime.now(UTC).replace(tzinfo=None)}).scalar_one()

    def wait_sent(ids: list[int], timeout: float = 60) -> dict[int, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with ils.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT id, status, result FROM chaekieum_outbox")).all()
            done = {r.id: json.loads(r.result) for r in rows if r.id in ids
                    and r.status == "sent"}
            if len(done) == len(ids):
                return done
            time.sleep(0.2)
        raise AssertionError(f"not acknowledged: {rows}")

    try:
        first = record("checkout", {"member": numbers[0], "item": "EM0000004001",
                                    "copy": {"title": "t"}})
        assert wait_sent([first])[first]["status"] == 200
        # the hub is unreachable: the change is queued (acknowledged as 202) and replayed
        proxy.set_mode(FaultProxy.REFUSE)
        ids = [record("checkout", {"member": numbers[1], "item": "EM0000004002",
                                   "copy": {"title": "t"}}),
               record("checkin", {"item": "EM0000004002"})]
        assert {r["status"] for r in wait_sent(ids).values()} == {202}
        proxy.set_mode(FaultProxy.FORWARD)
        connector.wait_drained(60)
        # a return elsewhere addresses a transit to this library: an event comes down
        r = httpx.post(f"{server.url}/api/v1/circulation/checkin", timeout=15,
                       json={"item": "$111001EM0000004001"},
                       headers={"Authorization": f"Bearer {library_key('111002')}"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        kinds: list[str] = []
        while "transit.addressed" not in kinds and time.monotonic() < deadline:
            time.sleep(0.2)
            with ils.connect() as conn:
                kinds = list(conn.scalars(sa.text(
                    "SELECT kind FROM chaekieum_inbox ORDER BY position")))
        assert "transit.addressed" in kinds, kinds
    finally:
        connector.stop()
        proxy.stop()
        server.stop()
        ils.dispose()
    rows = hub_rows(url, "SELECT l.client_txn_id, l.return_txn_id, l.offline, l.state FROM "
                    "loans l WHERE l.library_code = :lib ORDER BY l.id", lib=LIBRARY)
    assert rows == [(f"kolas:{first}", None, 0, "returned"),
                    (f"kolas:{ids[0]}", f"kolas:{ids[1]}", 1, "returned")] or rows == [
        (f"kolas:{first}", None, False, "returned"),
        (f"kolas:{ids[0]}", f"kolas:{ids[1]}", True, "returned")]
