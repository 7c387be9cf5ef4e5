"""The hub is killed (kill -9) and restarted while 1,000 writes go through the
connector: every write is applied exactly once, in order."""

from __future__ import annotations

from .connector_procs import LIBRARY, demo_hub_db, hub_rows, start_connector, start_hub

PAIRS = 500  # a checkout and its checkin each: 1,000 writes


def test_hub_killed_and_restarted_during_1000_writes(tmp_path, hub) -> None:  # noqa: ANN001
    url, numbers = demo_hub_db(hub)
    server = start_hub(url)
    connector = start_connector(tmp_path, server.url)
    members = numbers[:2]  # own members of the library: known to the snapshot
    answers: dict[int, int] = {}
    try:
        with connector.client() as desk:
            for n in range(1, PAIRS + 1):
                if n == 150:
                    server.kill()  # mid-stream, a write may be in flight
                if n == 300:
                    server = start_hub(url, port=server.port)
                item = f"EM{1000 + n:010d}"
                out = desk.post("/api/v1/circulation/checkout",
                                json={"member": members[n % 2], "item": item, "copy": {"title": f"책 {n}"},
                                      "client_txn_id": f"co-{n}"})
                back = desk.post("/api/v1/circulation/checkin",
                                 json={"item": item, "client_txn_id": f"ci-{n}"})
                assert out.status_code in (200, 202), out.text
                assert back.status_code in (200, 202), back.text
                answers[out.status_code] = answers.get(out.status_code, 0) + 1
            status = connector.wait_drained(180)
        assert answers.get(202, 0) > 0 and answers.get(200, 0) > 0, answers
        assert status["open_exceptions"] == []
    finally:
        connector.stop()
        server.stop()

    rows = hub_rows(url, "SELECT l.client_txn_id, l.return_txn_id, l.state, c.reg_no, "
                    "l.loaned_at, l.returned_at FROM loans l JOIN copies c ON c.id = l.copy_id"
                    " WHERE l.library_code = :lib ORDER BY l.id", lib=LIBRARY)
    # exactly once: one loan per checkout, each returned by its own checkin
    assert [r[0] for r in rows] == [f"co-{n}" for n in range(1, PAIRS + 1)]
    assert [r[1] for r in rows] == [f"ci-{n}" for n in range(1, PAIRS + 1)]
    assert {r[2] for r in rows} == {"returned"}
    # in order: loan ids follow the desk's order, and every return follows its loan
    assert [r[3] for r in rows] == [f"EM{1000 + n:010d}" for n in range(1, PAIRS + 1)]
    assert all(r[4] <= r[5] for r in rows)
    assert [r[4] for r in rows] == sorted(r[4] for r in rows)
