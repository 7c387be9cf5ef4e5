"""The hub's sandbox for the conformance kit (services/sandbox.py): test members and
copies never mix with real ones, never count in statistics, belong to one library, and
the sandbox peer acts only on that library's sandbox data."""

from __future__ import annotations

import sqlalchemy as sa

from chaekieum.store.tables import daily_circulation, loans


def test_sandbox_members_and_copies_never_mix_with_real_ones(libs, members) -> None:  # noqa: ANN001
    lib = libs["111001"]
    made = lib.post("/sandbox", {"members": 1, "copies": 1}).json()
    test_member, test_copy = made["members"][0]["number"], made["copies"][0]["item"]
    assert made["peer"] == "111002" and made["as_of"].endswith("Z")
    real_member, real_copy = members[0], lib.item(5)
    for member, item in ((real_member, test_copy), (test_member, real_copy)):
        r = lib.checkout(member, item)
        assert r.status_code == 409 and r.json()["code"] == "SANDBOX_MIXED", r.text
    # not even as an offline replay (recorded facts are for real loans only)
    r = lib.checkout(test_member, real_copy, offline=True,
                     occurred_at="2026-03-04T09:00:00+09:00", client_txn_id="t-1")
    assert r.json()["code"] == "SANDBOX_MIXED"
    assert lib.checkout(test_member, test_copy).status_code == 200


def test_sandbox_loans_stay_out_of_the_daily_statistics(libs, any_hub) -> None:  # noqa: ANN001
    lib = libs["111001"]
    made = lib.post("/sandbox", {"members": 1, "copies": 2}).json()
    number = made["members"][0]["number"]

    def totals():  # noqa: ANN202
        with any_hub.db.read() as conn:
            return tuple(conn.execute(sa.select(
                sa.func.coalesce(sa.func.sum(daily_circulation.c.loans), 0),
                sa.func.coalesce(sa.func.sum(daily_circulation.c.returns), 0))).one())

    before = totals()
    first, second = (c["item"] for c in made["copies"])
    loan = lib.checkout(number, first).json()["loan"]
    lib.checkin(first)
    assert lib.post("/circulation/undo-checkin", {"loan_id": loan["id"]}).status_code == 200
    lib.checkin(first)
    second_loan = lib.checkout(number, second).json()["loan"]
    assert lib.post("/circulation/undo-checkout", {"loan_id": second_loan["id"]}).status_code == 200
    assert totals() == before
    with any_hub.db.write() as conn:  # a rebuild from the ledger leaves them out as well
        from chaekieum.services import daily

        daily.rebuild(conn)
    assert totals() == before


def test_each_library_sees_and_cleans_only_its_own_sandbox(libs, any_hub) -> None:  # noqa: ANN001
    mine, other = libs["111001"], libs["121001"]
    a = mine.post("/sandbox", {"members": 2, "copies": 1, "foreign_members": 1}).json()
    b = other.post("/sandbox", {"members": 1, "copies": 1}).json()
    assert a["foreign_members"][0]["number"][:6] == a["peer"]  # issued at the peer
    listed = mine.get("/sandbox").json()
    assert len(listed["members"]) == 3 and listed["copies"] == [a["copies"][0]["item"]]
    # another library's sandbox copy is not mine to lend to my sandbox member
    r = mine.checkout(a["members"][0]["number"], b["copies"][0]["item"])
    assert r.json()["code"] == "SANDBOX_MIXED"
    assert mine.checkout(a["members"][0]["number"], a["copies"][0]["item"]).status_code == 200
    removed = mine.client.delete("/api/v1/sandbox", headers=mine.headers).json()["removed"]
    assert removed["members"] == 3 and removed["loans"] == 1
    assert mine.get("/sandbox").json() == {"library": "111001", "members": [], "copies": [],
                                            "active_loans": 0}
    assert len(other.get("/sandbox").json()["members"]) == 1
    with any_hub.db.read() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(loans)) >= 0


def test_the_peer_acts_only_on_the_callers_sandbox(libs, members) -> None:  # noqa: ANN001
    lib = libs["111001"]
    made = lib.post("/sandbox", {"members": 1, "copies": 1}).json()
    number, item = made["members"][0]["number"], made["copies"][0]["item"]
    r = lib.post("/sandbox/peer/checkout", {"member": members[0], "item": item})
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    r = lib.post("/sandbox/peer/checkout", {"member": number, "item": lib.item(3)})
    assert r.status_code == 403
    r = lib.post("/sandbox/peer/checkout", {"member": number})
    assert r.status_code in (400, 422) and r.json()["code"] == "VALIDATION_ERROR"
    # the peer lends only what is at the peer: the caller's copy is lent by the caller
    # (COPY_NOT_HERE at the peer) and returned at the peer (타관반납)
    r = lib.post("/sandbox/peer/checkout", {"member": number, "item": item})
    assert r.status_code == 409 and r.json()["code"] == "COPY_NOT_HERE"
    assert lib.checkout(number, item).status_code == 200
    out = lib.post("/sandbox/peer/checkin", {"item": item}).json()
    assert out["peer"] == "111002"
    back = out["result"]
    assert back["route"] == "transit"
    assert lib.post("/sandbox/peer/send", {"transit_id": back["transit_id"]}).json()[
        "result"]["state"] == "sent"
    # a transit that is not sandbox data is refused
    assert lib.post("/sandbox/peer/send", {"transit_id": 10**9}).status_code == 403


def test_no_peer_in_a_region_of_one(client, libs, any_hub) -> None:  # noqa: ANN001
    from chaekieum.services.context import SYSTEM

    # gyeonggi: 141001 (live), 141002 (pilot: circulates), 141099 (building: does not)
    assert libs["141001"].post("/sandbox", {"members": 0, "copies": 0}).json()["peer"] == \
        "141002"
    any_hub.network.register_library(SYSTEM, "161001", "제주 시험도서관", "jeju", status="live")
    key = any_hub.credentials.create_api_key(SYSTEM, "library", "161001")["api_key"]
    headers = {"Authorization": f"Bearer {key}"}
    alone = client.post("/api/v1/sandbox", json={"members": 1, "copies": 1}, headers=headers)
    assert alone.status_code == 201 and alone.json()["peer"] is None
    r = client.post("/api/v1/sandbox", json={"foreign_members": 1}, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "SANDBOX_NO_PEER"
    r = client.post("/api/v1/sandbox/peer/checkin", json={"item": "$161001ZS0000000001"},
                    headers=headers)
    assert r.json()["code"] == "SANDBOX_NO_PEER"
    r = libs["111001"].post("/sandbox", {"members": 60, "copies": 0})
    assert r.status_code == 422
