"""The connector is killed with kill -9 while its queue is full, and again while it
drains it: after each restart nothing is lost and nothing is applied twice. A reply lost
after the hub applied a write (a proxy cuts the response) is not applied twice either."""

from __future__ import annotations

import time

from .connector_procs import LIBRARY, demo_hub_db, hub_rows, start_connector, start_hub
from .netproxy import FaultProxy

PAIRS = 100


def _loans(url: str) -> list[tuple]:
    return hub_rows(url, "SELECT l.client_txn_id, l.return_txn_id, l.state FROM loans l "
                    "WHERE l.library_code = :lib ORDER BY l.id", lib=LIBRARY)


def test_kill_9_with_a_full_queue_loses_and_duplicates_nothing(tmp_path, hub) -> None:  # noqa: ANN001
    url, numbers = demo_hub_db(hub)
    server = start_hub(url)
    proxy = FaultProxy(server.port).start()
    connector = start_connector(tmp_path, proxy.url)
    try:
        proxy.set_mode(FaultProxy.REFUSE)
        with connector.client() as desk:
            for n in range(1, PAIRS + 1):
                item = f"EM{2000 + n:010d}"
                out = desk.post("/api/v1/circulation/checkout", json={
                    "member": numbers[n % 2], "item": item, "copy": {"title": "t"},
                    "client_txn_id": f"co-{n}"})
                back = desk.post("/api/v1/circulation/checkin",
                                 json={"item": item, "client_txn_id": f"ci-{n}"})
                assert (out.status_code, back.status_code) == (202, 202), out.text
        assert connector.status()["queue_depth"] == 2 * PAIRS
        connector.kill()  # every 202 was fsync'd before it was sent

        proxy.set_mode(FaultProxy.FORWARD)
        connector.start()
        # kill it again while it drains: a write the hub applied but the connector had
        # not yet marked done is sent again, and recognised
        deadline = time.monotonic() + 60
        while connector.status()["queue_depth"] > PAIRS and time.monotonic() < deadline:
            time.sleep(0.02)
        connector.kill()
        connector.start()
        assert connector.wait_drained(120)["open_exceptions"] == []
    finally:
        connector.stop()
        proxy.stop()
        server.stop()
    rows = _loans(url)
    assert [r[0] for r in rows] == [f"co-{n}" for n in range(1, PAIRS + 1)]
    assert [r[1] for r in rows] == [f"ci-{n}" for n in range(1, PAIRS + 1)]
    assert {r[2] for r in rows} == {"returned"}


def test_a_reply_lost_after_the_hub_applied_the_write_is_not_applied_twice(tmp_path, hub) -> None:  # noqa: ANN001
    url, numbers = demo_hub_db(hub)
    server = start_hub(url)
    proxy = FaultProxy(server.port).start()
    connector = start_connector(tmp_path, proxy.url)
    try:
        with connector.client() as desk:
            proxy.cut_next_responses(1)
            out = desk.post("/api/v1/circulation/checkout", json={
                "member": numbers[0], "item": "EM0000003001", "copy": {"title": "t"}})
            assert proxy.cut_done == 1
            # the desk cannot know the hub has it: it is told accepted-offline
            assert out.status_code == 202, out.text
            assert connector.wait_drained(60)["open_exceptions"] == []
            # the same for a return
            proxy.cut_next_responses(1)
            back = desk.post("/api/v1/circulation/checkin", json={"item": "EM0000003001"})
            assert back.status_code == 202 and proxy.cut_done == 2
            status = connector.wait_drained(60)
            assert status["open_exceptions"] == []
            # and the desk resending the same write (same Idempotency-Key) changes nothing
            key = {"Idempotency-Key": "desk-resend-1"}
            first = desk.post("/api/v1/circulation/checkout", headers=key, json={
                "member": numbers[1], "item": "EM0000003002", "copy": {"title": "t"}})
            again = desk.post("/api/v1/circulation/checkout", headers=key, json={
                "member": numbers[1], "item": "EM0000003002", "copy": {"title": "t"}})
            assert first.status_code == again.status_code == 200
            assert again.headers["idempotent-replayed"] == "true"
            assert again.json() == first.json()
    finally:
        connector.stop()
        proxy.stop()
        server.stop()
    rows = hub_rows(url, "SELECT c.reg_no, l.state FROM loans l JOIN copies c ON "
                    "c.id = l.copy_id WHERE l.library_code = :lib ORDER BY l.id", lib=LIBRARY)
    assert rows == [("EM0000003001", "returned"), ("EM0000003002", "active")]
