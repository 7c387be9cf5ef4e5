"""The issue's end-to-end scenarios, over HTTP."""

from __future__ import annotations

from datetime import timedelta


def test_auto_join_at_a_second_library(libs, members, any_hub):
    member = members[0]  # issued by 111001
    r = libs["111002"].checkout(member, libs["111002"].item(1))
    assert r.status_code == 200, r.text
    assert r.json()["auto_joined"] is True
    view = libs["111002"].get(f"/members/{member}").json()
    joined = {j["library_code"]: j for j in view["libraries"]}
    assert joined["111002"]["how"] == "auto"
    assert joined["111002"]["by"].startswith("key:")
    # the second checkout there does not join again
    r = libs["111002"].checkout(member, libs["111002"].item(2))
    assert r.json()["auto_joined"] is False
    audit = any_hub.audit.search(hub_actor(), entity="member", entity_id=member)
    assert [a["action"] for a in audit].count("member.auto_join") == 1


def hub_actor():
    from chaekieum.services.context import SYSTEM

    return SYSTEM


def test_late_return_at_A_refuses_checkout_at_B_in_another_region(libs, members, clock):
    member = members[0]
    a, b = libs["111001"], libs["121001"]  # Seoul, Busan
    loan = a.checkout(member, a.item(1)).json()["loan"]
    clock.set(clock.now() + timedelta(days=30))
    r = a.checkin(a.item(1))
    assert r.status_code == 200, r.text
    suspension = r.json()["suspension"]
    assert suspension["days_late"] > 0 and suspension["days"] == suspension["days_late"]
    r = b.checkout(member, b.item(1))
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "MEMBER_SUSPENDED"
    assert body["message"] == "대출정지 중인 회원입니다."
    assert body["details"]["until"] == suspension["until"]
    assert loan["due_on"]


def test_the_21st_loan_is_refused_across_three_libraries(libs, members):
    member = members[1]
    lenders = [libs["111001"], libs["121001"], libs["141001"]]
    made = 0
    for n in range(1, 9):
        for lib in lenders:
            if made == 20:
                break
            r = lib.checkout(member, lib.item(n if n % 12 else n + 12))
            assert r.status_code == 200, r.text
            made += 1
    r = libs["111003"].checkout(member, libs["111003"].item(1))
    assert r.status_code == 409
    assert r.json()["code"] == "SHARED_LIMIT_REACHED"
    assert r.json()["details"] == {"limit": 20, "on_loan": 20}
    loans = libs["111001"].get(f"/members/{member}/loans").json()["items"]
    assert len(loans) == 20
    assert {x["library_code"] for x in loans} == {"111001", "121001", "141001"}


def test_return_elsewhere_creates_a_transit_the_owner_sees_in_its_feed(libs, members):
    owner, other = libs["111001"], libs["111002"]  # same region (Seoul)
    owner.checkout(members[0], owner.item(3))
    before = owner.get("/events").json()["next_after"]
    r = other.checkin(owner.item(3))
    assert r.status_code == 200, r.text
    assert r.json()["route"] == "transit"
    transit_id = r.json()["transit_id"]
    feed = owner.get("/events", after=before).json()["events"]
    assert [e["kind"] for e in feed] == ["transit.addressed"]
    assert feed[0]["payload"] == {"transit_id": transit_id, "item": owner.item(3),
                                  "from_library": "111002"}
    out = other.get("/transits", direction="outgoing").json()["items"]
    inc = owner.get("/transits", direction="incoming").json()["items"]
    assert [t["id"] for t in out] == [t["id"] for t in inc] == [transit_id]
    assert other.post(f"/transits/{transit_id}/send").json()["state"] == "sent"
    assert owner.post(f"/transits/{transit_id}/arrive").json()["state"] == "home"
    assert owner.get("/transits", direction="incoming").json()["items"] == []
    # the feed moved on: the sender hears of the arrival, the owner of the dispatch
    kinds = [e["kind"] for e in owner.get("/events", after=before).json()["events"]]
    assert kinds == ["transit.addressed", "transit.sent"]


def test_return_in_another_region_is_refused(libs, members):
    owner = libs["111001"]
    owner.checkout(members[0], owner.item(4))
    r = libs["121001"].checkin(owner.item(4))
    assert r.status_code == 409
    assert r.json()["code"] == "RETURN_NOT_ALLOWED_HERE"


def test_withdrawal_erases_personal_data(libs, members, any_hub):
    member = members[4]
    lib = libs["111002"]  # the member's home library
    lib.checkout(member, lib.item(5))
    r = lib.post(f"/members/{member}/withdraw")
    assert r.status_code == 409 and r.json()["code"] == "WITHDRAW_HAS_LOANS"
    lib.checkin(lib.item(5))
    r = lib.post(f"/members/{member}/withdraw")
    assert r.status_code == 200, r.text
    assert r.json()["personal_data_erased"] is True
    view = lib.get(f"/members/{member}").json()
    assert view["status"] == "withdrawn"
    assert (view["name"], view["phone"], view["email"], view["birth_year"]) == (None,) * 4
    from sqlalchemy import select

    from chaekieum.store.tables import members as members_table
    from chaekieum.store.tables import withdrawal_stats

    with any_hub.db.read() as conn:
        row = conn.execute(select(members_table).where(members_table.c.number == member)).one()
        stats = conn.execute(select(withdrawal_stats)).all()
    assert (row.name, row.phone, row.email, row.ci_hash, row.birth_year, row.password_hash) == (
        None, None, None, None, None, None)
    assert stats[0].total_loans == 1 and stats[0].birth_decade == 1970
    r = lib.checkout(member, lib.item(6))
    assert r.json()["code"] == "MEMBER_WITHDRAWN"
