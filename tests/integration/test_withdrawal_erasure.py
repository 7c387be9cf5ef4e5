"""Withdrawal keeps no reading history (issue 8, item 10; docs/domain.md section 4): the
member's loans, suspensions and reservations stay only as anonymous rows, nothing else
ties the never-reused number to copies, and the statistics still count every loan.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from sqlalchemy import select

from chaekieum.domain.errors import DomainError
from chaekieum.domain.numbering import mask_member_number
from chaekieum.services import daily
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.services.statistics import Statistics
from chaekieum.store.tables import (
    audit_log,
    daily_circulation,
    events,
    idempotency_keys,
    loans,
    memberships,
    reservations,
    suspensions,
)
from chaekieum.store.tables import members as members_table

from . import test_web_security as web_tests

# the browser-like client and its fixtures
app, new_web, people = web_tests.app, web_tests.new_web, web_tests.people

LIB = "111001"


def desk() -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{LIB}", "desk", LIB)


def portal(number: str) -> Actor:
    return Actor(Role.MEMBER, f"member:{number}", "portal")


def item(n: int) -> str:
    return f"${LIB}EM{n:010d}"


def _counters(hub) -> tuple[int, int]:  # noqa: ANN001
    with hub.db.read() as conn:
        rows = conn.execute(select(daily_circulation.c.loans, daily_circulation.c.returns)).all()
    return sum(r.loans for r in rows), sum(r.returns for r in rows)


def test_withdrawal_leaves_no_reading_history(any_hub, libs, members, clock):  # noqa: ANN001
    hub, lib = any_hub, libs[LIB]
    reader, other = members[1], members[0]
    masked = mask_member_number(reader)
    # a loan through the API with an idempotency key (its stored answer names the
    # member and the title)
    body = {"member": reader, "item": item(5), "client_txn_id": "ils-1"}
    first = lib.post("/circulation/checkout", body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 200, first.text
    # a reservation the member placed and cancelled in the portal
    hub.circulation.checkout(desk(), CheckoutRequest(other, item(7)))
    held = hub.reservations.place(portal(reader), reader, item(7))
    hub.reservations.cancel(portal(reader), held["id"])
    hub.members.hide_history(portal(reader), reader, [])
    # a late return (a suspension), then everything back and the suspension over
    clock.advance(days=20)
    late = hub.circulation.checkin(desk(), CheckinRequest(item(5)))
    assert late.extra["suspension"]
    clock.set(datetime(2026, 5, 4, 1, 0))
    # one a kiosk made (its transaction id), returned today
    hub.circulation.checkout(desk(), CheckoutRequest(reader, item(6), client_txn_id="sip2:x",
                                                     txn_id_recurs=True))
    back = hub.circulation.checkin(desk(), CheckinRequest(item(6)))
    loan_ids = {first.json()["loan"]["id"], back.loan["id"]}
    assert len(hub.members.loans(SYSTEM, reader, include_returned=True)) == 2
    stats = Statistics(hub.db, hub.clock)
    before = stats.dashboard(date(2026, 3, 1), date(2026, 5, 4))["totals"]
    counters = _counters(hub)

    r = lib.post(f"/members/{reader}/withdraw")
    assert r.status_code == 200, r.text

    # the number keeps nothing: no loans, suspensions or reservations
    assert hub.members.loans(SYSTEM, reader, include_returned=True) == []
    assert hub.members.suspension_history(SYSTEM, reader) == []
    assert hub.reservations.for_member(SYSTEM, reader, include_closed=True) == []
    with hub.db.read() as conn:
        member_id = conn.scalar(select(members_table.c.id).where(
            members_table.c.number == reader))
        for table in (loans, suspensions, reservations):
            assert conn.execute(select(table).where(table.c.member_id == member_id)).all() == []
        mine = conn.execute(select(loans).where(loans.c.id.in_(loan_ids))).all()
        assert [(r.member_id, r.client_txn_id) for r in mine] == [(None, None)] * 2
        assert conn.execute(select(reservations.c.member_id, reservations.c.placed_by,
                                   reservations.c.closed_by)
                            .where(reservations.c.id == held["id"])).one() \
            == (None, "erased", "erased")
        assert conn.execute(select(suspensions.c.member_id)).all() == [(None,)]
        joined = conn.execute(select(memberships.c.joined_at).where(
            memberships.c.member_id == member_id)).scalars().all()
        assert joined and set(joined) == {datetime(2026, 5, 4, 1, 0)}  # the withdrawal
        trail = conn.execute(select(audit_log)).all()
        feed = conn.execute(select(events.c.kind, events.c.payload)).all()
        stored = conn.execute(select(idempotency_keys.c.response)).all()
    # the audit trail keeps the withdrawal, not what the member read
    naming = [a for a in trail
              if reader in json.dumps([a.actor, a.entity_id, a.details], ensure_ascii=False)
              or masked in json.dumps(a.details, ensure_ascii=False)]
    assert [(a.action, a.entity_id) for a in naming] == [("member.withdraw", reader)]
    # the rest of what happened to the member (an auto-join or a suspension at the very
    # instant of a loan or a return) no longer says who, nor which loan
    assert {a.action for a in trail if a.entity_id == "erased"} >= {
        "member.suspend", "member.hide_history"}
    assert not [a for a in trail if a.action == "member.suspend" and "loan_id" in a.details]
    about_loans = [a for a in trail if a.entity == "loan" and int(a.entity_id) in loan_ids]
    assert about_loans and all("member" not in a.details for a in about_loans)
    assert not any(a.actor == f"member:{reader}" for a in trail)
    # the change feed and stored API answers no longer pair the number with a copy
    assert [e.kind for e in feed if e.payload.get("member") == reader] == [
        "member.withdrawn"]
    assert not [s for s in stored if reader in json.dumps(s.response, ensure_ascii=False)]
    # the statistics count every loan and return as before, also after a rebuild
    assert stats.dashboard(date(2026, 3, 1), date(2026, 5, 4))["totals"] == before
    with hub.db.write() as conn:
        daily.rebuild(conn)
    assert _counters(hub) == counters

    # nothing breaks on the anonymous rows: replays, undo, lists, the API
    with pytest.raises(DomainError) as undo:
        hub.circulation.undo_checkin(desk(), back.loan["id"])
    assert [str(x.code) for x in undo.value.reasons] == ["UNDO_NOT_POSSIBLE"]
    again = lib.post("/circulation/checkout", body, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 409 and again.json()["code"] == "MEMBER_WITHDRAWN"
    listed = lib.get("/reservations", state="all")
    assert listed.status_code == 200, listed.text
    anonymous = [x for x in listed.json()["items"] if x["id"] == held["id"]]
    assert anonymous and anonymous[0]["member_number"] is None
    assert hub.reservations.get(desk(), held["id"])["member_number_masked"] is None


def test_desk_console_transit_and_feed_work_with_anonymous_loans(hub, new_web, people):  # noqa: ANN001
    """A withdrawn member's loans have no member: the desk (its receipt's 취소), the
    console pages and export, the transit queue and the change feed all still work."""
    number = people["김하늘"]["number"]
    hub.circulation.checkout(web_tests.librarian("111002"),
                             CheckoutRequest(number, "$111002EM0000000001"))
    desk = new_web().staff("lib-111001")
    desk.post("/desk/scan", {"scan": "$111002EM0000000001"}, page="/desk")  # 타관반납
    loan_id = re.search(r'name="loan_id" value="(\d+)"', desk.c.get("/desk").text).group(1)
    hub.members.withdraw(SYSTEM, number)
    assert desk.post("/desk/undo", {"kind": "checkin", "loan_id": loan_id},
                     page="/desk").status_code == 303
    assert "취소할 수 없는 처리입니다." in desk.c.get("/desk").text
    for path in ("/desk", "/desk/receipt", "/desk/holds"):
        assert desk.c.get(path).status_code == 200, path
    admin = new_web().staff("admin")
    for path in ("/console", f"/console/members/{number}", "/console/audit",
                 "/console/transits?region=seoul", "/console/export.csv?table=per_day",
                 "/console/export.csv?table=per_library"):
        assert admin.c.get(path).status_code == 200, path
    (transit,) = hub.transits.queue("111001", "outgoing", False)
    hub.transits.move(web_tests.librarian("111001"), transit["id"], "send")
    hub.transits.move(web_tests.librarian("111002"), transit["id"], "arrive")
    kinds = [e["kind"] for e in hub.feed.read("111002", 0)["events"]]
    assert {"member.withdrawn", "transit.addressed", "transit.sent"} <= set(kinds)
