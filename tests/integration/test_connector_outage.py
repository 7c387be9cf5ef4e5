"""The hub is unreachable from two connectors for 60 s, one as a refused connection and
one as a black hole (the proxy accepts and never answers): lending goes on, the snapshot
refuses a suspended member, and a replay that breaks the shared limit becomes an
exception, at the hub and in the connector's status."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from .apiclient import library_key
from .connector_procs import ConnectorProcess, demo_hub_db, hub_rows, start_connector, start_hub
from .netproxy import FaultProxy

OUTAGE = 60.0


def _hub(server, library: str) -> httpx.Client:  # noqa: ANN001
    return httpx.Client(base_url=f"{server.url}/api/v1", timeout=15,
                        headers={"Authorization": f"Bearer {library_key(library)}"})


def _lend(server, library: str, member: str, first: int, count: int) -> None:  # noqa: ANN001
    with _hub(server, library) as hub:
        for n in range(first, first + count):
            r = hub.post("/circulation/checkout", json={
                "member": member, "item": f"EM{n:010d}", "copy": {"title": "t"}})
            assert r.status_code == 200, r.text


def _snapshot_row(connector: ConnectorProcess, number: str) -> tuple | None:
    db = sqlite3.connect(connector.config.parent / (connector.config.stem + "-data")
                         / "connector.db")
    try:
        return db.execute("SELECT blocked, on_loan FROM snapshot_members WHERE number = ?",
                          (number,)).fetchone()
    finally:
        db.close()


def _wait_for(check, timeout: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_60_s_outage_refused_and_black_hole(tmp_path, hub) -> None:  # noqa: ANN001
    url, numbers = demo_hub_db(hub)
    server = start_hub(url)
    suspended = numbers[2]  # 박솔, of 121001 (Busan): suspended there, blocked everywhere
    # a late return at 121001: the member is suspended network-wide
    long_ago = datetime.now(UTC) - timedelta(days=40)
    with _hub(server, "121001") as busan:
        r = busan.post("/circulation/checkout", json={
            "member": suspended, "item": "EM0000009001", "copy": {"title": "t"},
            "offline": True, "occurred_at": long_ago.isoformat(),
            "due_on": (long_ago + timedelta(days=14)).date().isoformat()})
        assert r.status_code == 200, r.text
        r = busan.post("/circulation/checkin", json={"item": "EM0000009001"})
        assert r.json()["suspension"]["days"] > 0, r.text

    # two connectors: A (111001) behind a proxy that will refuse connections, B (111002)
    # behind one that will black-hole them; B lends to members it does not know
    proxies = {"A": FaultProxy(server.port).start(), "B": FaultProxy(server.port).start()}
    cases = {
        "A": dict(library="111001", limit_member=numbers[0], other=numbers[3],
                  elsewhere="111003", mode=FaultProxy.REFUSE),
        "B": dict(library="111002", limit_member=numbers[4], other=numbers[1],
                  elsewhere="121001", mode=FaultProxy.BLACKHOLE),
    }
    connectors = {
        name: start_connector(tmp_path, proxies[name].url, name=name,
                              library=case["library"],
                              offline_policy="refuse" if name == "A" else "allow:20",
                              snapshot_full_interval=10)
        for name, case in cases.items()}
    try:
        # each limit member holds 19 of the 20 network-wide loans (lent elsewhere)
        _lend(server, "111003", numbers[0], 5001, 19)
        _lend(server, "121001", numbers[4], 5001, 19)
        for name, case in cases.items():
            _wait_for(lambda c=connectors[name], m=case["limit_member"]:
                      _snapshot_row(c, m) == (None, 19))
            _wait_for(lambda c=connectors[name]: (_snapshot_row(c, suspended) or ("",))[0]
                      == "MEMBER_SUSPENDED")

        def outage(name: str) -> dict:
            case, connector, proxy = cases[name], connectors[name], proxies[name]
            proxy.set_mode(case["mode"])
            started = time.monotonic()
            seen: dict = {"queued": 0}
            with connector.client(timeout=30) as desk:
                out = desk.post("/api/v1/circulation/checkout", json={
                    "member": case["limit_member"], "item": "EM0000007001",
                    "copy": {"title": "t"}})
                assert out.status_code == 202, out.text
                assert out.json()["loan"]["due_on"] >= datetime.now(UTC).date().isoformat()
                seen["queued"] += 1
                refused = desk.post("/api/v1/circulation/checkout", json={
                    "member": suspended, "item": "EM0000007002"})
                assert refused.status_code == 409, refused.text
                assert refused.json()["code"] == "MEMBER_SUSPENDED"
                assert refused.json()["details"]["until"]
                # meanwhile the member borrows their 20th elsewhere, directly at the hub
                _lend(server, case["elsewhere"], case["limit_member"], 5020, 1)
                # a member the snapshot does not know: the library's offline policy
                unknown = desk.post("/api/v1/circulation/checkout", json={
                    "member": case["other"], "item": "EM0000007003", "copy": {"title": "t"}})
                if name == "A":
                    assert unknown.status_code == 409
                    assert unknown.json()["code"] == "OFFLINE_MEMBER_UNVERIFIED"
                else:
                    assert unknown.status_code == 202
                    seen["queued"] += 1
                # lending goes on for the whole outage
                n = 0
                while time.monotonic() - started < OUTAGE:
                    n += 1
                    item = f"EM{7100 + n:010d}"
                    lent = desk.post("/api/v1/circulation/checkout", json={
                        "member": numbers[1], "item": item, "copy": {"title": "t"}})
                    back = desk.post("/api/v1/circulation/checkin", json={"item": item})
                    assert (lent.status_code, back.status_code) == (202, 202), lent.text
                    seen["queued"] += 1
                    time.sleep(2)
                seen["lends"] = n
                assert connector.status()["queue_depth"] >= 2
                assert connector.status()["online"] is False
            proxy.set_mode(FaultProxy.FORWARD)
            return seen

        with ThreadPoolExecutor(2) as pool:
            results = dict(zip(cases, pool.map(outage, cases), strict=True))
        for name, case in cases.items():
            status = connectors[name].wait_drained(120)
            codes = [x["code"] for e in status["open_exceptions"]
                     for x in (e["result"] or {}).get("exceptions", [])]
            assert codes == ["SHARED_LIMIT_REACHED"], status["open_exceptions"]
            with _hub(server, case["library"]) as hub_client:
                items = hub_client.get("/exceptions").json()["items"]
            assert [r["code"] for x in items for r in x["reasons"]] == [
                "SHARED_LIMIT_REACHED"], items
            offline = hub_rows(url, "SELECT count(*) FROM loans WHERE library_code = :lib "
                               "AND offline", lib=case["library"])[0][0]
            assert offline == results[name]["queued"]
            assert results[name]["lends"] >= 10
    finally:
        for c in connectors.values():
            c.stop()
        for p in proxies.values():
            p.stop()
        server.stop()
