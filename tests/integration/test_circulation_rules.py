"""Circulation rules that need the database: calendars, policies, sharing modes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chaekieum.domain.errors import DomainError
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role


def desk(code: str) -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


@pytest.fixture
def numbers(any_hub):
    return [m["number"] for m in demo.info(any_hub)["members"]]


def test_due_date_skips_korean_holidays_and_closed_weekdays(any_hub, clock, numbers):
    # 2026-09-10 (Thu) + 14 days = 09-24, 추석 (24-26 Sep); 27th is a Sunday, open.
    clock.set(datetime(2026, 9, 10, 1, 0))
    out = any_hub.circulation.checkout(desk("111001"), CheckoutRequest(numbers[0],
                                                                       "$111001EM0000000001"))
    assert out.loan["due_on"] == "2026-09-27"
    # a library closed on Mondays: due on a Monday moves to Tuesday
    clock.set(datetime(2026, 3, 2, 1, 0))  # Mon 2 Mar (substitute holiday) + 14 = Mon 16 Mar
    out = any_hub.circulation.checkout(desk("111001"), CheckoutRequest(numbers[0],
                                                                       "$111001EM0000000002"))
    assert out.loan["due_on"] == "2026-03-17"


def test_extra_closed_dates_move_the_due_date(any_hub, clock, numbers):
    any_hub.network.set_closed_dates(SYSTEM, "111001", [(date(2026, 3, 18), "소독")])
    out = any_hub.circulation.checkout(desk("111001"), CheckoutRequest(numbers[0],
                                                                       "$111001EM0000000003"))
    assert out.loan["due_on"] == "2026-03-19"


def test_late_days_exclude_closed_days_unless_counted(any_hub, clock, numbers):
    lib = desk("111001")
    any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000001"))
    # due Wed 18 Mar; returned Wed 25 Mar: 7 days, one of them a Monday (closed)
    clock.set(datetime(2026, 3, 25, 1, 0))
    out = any_hub.circulation.checkin(lib, CheckinRequest("$111001EM0000000001"))
    assert out.extra["suspension"]["days_late"] == 6
    assert out.extra["suspension"]["until"] == "2026-03-30"  # 25 + 6 - 1
    any_hub.network.set_policy(SYSTEM, "national", "", "",
                               {"suspension_counts_closed_days": True, "suspension_mode": "sum"})
    any_hub.circulation.checkout(lib, CheckoutRequest(numbers[1], "$111001EM0000000002"))
    clock.set(datetime(2026, 4, 8, 1, 0))  # due 8 Apr (Wed) — on time
    any_hub.circulation.checkin(lib, CheckinRequest("$111001EM0000000002"))
    assert any_hub.members.get(SYSTEM, numbers[1])["suspended_until"] is None


def test_sum_mode_extends_a_running_suspension_and_max_mode_keeps_the_later_end(
        any_hub, clock, numbers):
    lib = desk("111001")
    for n in (1, 2):
        any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], f"$111001EM000000000{n}"))
    clock.set(datetime(2026, 3, 26, 1, 0))  # 8 days after the 18 Mar due date (1 Monday)
    first = any_hub.circulation.checkin(lib, CheckinRequest("$111001EM0000000001"))
    assert first.extra["suspension"] == {"days_late": 7, "days": 7, "until": "2026-04-01"}
    second = any_hub.circulation.checkin(lib, CheckinRequest("$111001EM0000000002"))
    assert second.extra["suspension"]["until"] == "2026-04-08"  # extended by 7 (sum)
    any_hub.network.set_policy(SYSTEM, "region", "busan", "", {"suspension_mode": "max"})
    busan = desk("121001")
    for n in (1, 2):
        any_hub.circulation.checkout(busan, CheckoutRequest(numbers[2], f"$121001EM000000000{n}"))
    clock.set(datetime(2026, 4, 15, 1, 0))
    a = any_hub.circulation.checkin(busan, CheckinRequest("$121001EM0000000001"))
    b = any_hub.circulation.checkin(busan, CheckinRequest("$121001EM0000000002"))
    assert a.extra["suspension"]["until"] == b.extra["suspension"]["until"]  # max, not sum


def _two_returned_nine_days_late(hub, clock, member):  # noqa: ANN001, ANN202
    """Two copies lent on 4 Mar (due Wed 18 Mar), both returned on Sat 28 Mar: nine days
    late each (the closed Monday 23 Mar does not count)."""
    lib = desk("111001")
    for n in (1, 2):
        hub.circulation.checkout(lib, CheckoutRequest(member, f"$111001EM000000000{n}"))
    clock.set(datetime(2026, 3, 28, 1, 0))
    returns = [hub.circulation.checkin(lib, CheckinRequest(f"$111001EM000000000{n}"))
               for n in (1, 2)]
    assert [r.extra["suspension"]["days_late"] for r in returns] == [9, 9]
    return lib, returns


def _until(hub, member) -> str | None:  # noqa: ANN001
    return hub.members.get(SYSTEM, member)["suspended_until"]


def test_undoing_one_of_two_late_returns_in_sum_mode_keeps_exactly_the_other(
        any_hub, clock, numbers):
    lib, (first, second) = _two_returned_nine_days_late(any_hub, clock, numbers[0])
    assert second.extra["suspension"]["until"] == "2026-04-14"  # 18 days from the 28th
    any_hub.circulation.undo_checkin(lib, first.loan["id"])
    assert _until(any_hub, numbers[0]) == "2026-04-05"  # only the other nine days remain
    again = any_hub.circulation.checkin(lib, CheckinRequest("$111001EM0000000001"))
    assert again.extra["suspension"] == {"days_late": 9, "days": 9, "until": "2026-04-14"}
    assert _until(any_hub, numbers[0]) == "2026-04-14"  # 18 days for 18 days late, not 27
    history = any_hub.members.suspension_history(SYSTEM, numbers[0])
    assert sorted((h["ends_on"], h["lifted"]) for h in history) == [
        ("2026-04-05", False), ("2026-04-05", True), ("2026-04-14", False)]
    # undoing the later one leaves the earlier one's nine days, and both undone: none
    any_hub.circulation.undo_checkin(lib, again.loan["id"])
    assert _until(any_hub, numbers[0]) == "2026-04-05"
    any_hub.circulation.undo_checkin(lib, second.loan["id"])
    assert _until(any_hub, numbers[0]) is None


def test_undoing_one_of_two_late_returns_in_max_mode_keeps_the_other_in_force(
        any_hub, clock, numbers):
    any_hub.network.set_policy(SYSTEM, "library", "111001", "", {"suspension_mode": "max"})
    lib, (first, second) = _two_returned_nine_days_late(any_hub, clock, numbers[0])
    assert first.extra["suspension"]["until"] == second.extra["suspension"]["until"] \
        == "2026-04-05"
    out = any_hub.circulation.undo_checkin(lib, first.loan["id"])
    assert out.loan["state"] == "active"
    assert _until(any_hub, numbers[0]) == "2026-04-05"  # still suspended by the second
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(desk("111002"), CheckoutRequest(numbers[0],
                                                                     "$111002EM0000000001"))
    assert "MEMBER_SUSPENDED" in [str(r.code) for r in refused.value.reasons]


def test_warn_only_sharing_lets_another_library_lend_with_a_warning(any_hub, clock, numbers):
    seoul, busan = desk("111001"), desk("121001")
    any_hub.circulation.checkout(seoul, CheckoutRequest(numbers[0], "$111001EM0000000001"))
    clock.advance(days=30)
    any_hub.circulation.checkin(seoul, CheckinRequest("$111001EM0000000001"))
    any_hub.network.set_policy(SYSTEM, "library", "121001", "", {"suspension_sharing": "warn"})
    out = any_hub.circulation.checkout(busan, CheckoutRequest(numbers[0], "$121001EM0000000001"))
    assert [w["code"] for w in out.warnings] == ["MEMBER_SUSPENDED"]
    # the library where it was earned still refuses
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(seoul, CheckoutRequest(numbers[0], "$111001EM0000000002"))
    assert refused.value.code == "MEMBER_SUSPENDED"


def test_class_policy_and_non_members(any_hub, numbers):
    lib = desk("111001")
    any_hub.network.set_policy(SYSTEM, "library", "111001", "준회원", {"class_loan_limit": 1})
    any_hub.members.update(SYSTEM, numbers[0], {"member_class": "준회원"})
    any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000001"))
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000002"))
    assert refused.value.code == "CLASS_LIMIT_REACHED"
    any_hub.members.update(SYSTEM, numbers[1], {"member_class": "비회원"})
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(lib, CheckoutRequest(numbers[1], "$111001EM0000000003"))
    assert refused.value.code == "MEMBER_NOT_ELIGIBLE"


def test_overdue_item_blocks_checkout_and_renewal(any_hub, clock, numbers):
    lib = desk("111001")
    any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000001"))
    any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000002"))
    clock.advance(days=15)
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000003"))
    assert refused.value.code == "MEMBER_HAS_OVERDUE"
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.renew(lib, "$111001EM0000000001")
    assert "MEMBER_HAS_OVERDUE" in [r.code for r in refused.value.reasons]


def test_transit_copy_arrives_home_by_a_checkin_scan_at_the_owner(any_hub, numbers):
    owner, other = desk("111001"), desk("111002")
    any_hub.circulation.checkout(owner, CheckoutRequest(numbers[0], "$111001EM0000000001"))
    out = any_hub.circulation.checkin(other, CheckinRequest("$111001EM0000000001"))
    assert out.extra["route"] == "transit"
    # until it is home, the receiving library cannot lend it out again
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(other, CheckoutRequest(numbers[1], "$111001EM0000000001"))
    assert refused.value.code == "COPY_IN_TRANSIT"
    arrived = any_hub.circulation.checkin(owner, CheckinRequest("$111001EM0000000001"))
    assert arrived.action == "transit_arrived" and arrived.extra["transit"]["state"] == "home"
    assert any_hub.transits.queue("111001", "incoming") == []


def test_member_number_serials_are_unique_and_checked(any_hub, clock):
    from chaekieum.domain.numbering import is_valid_member_number
    from chaekieum.services.members import Registration

    lib = desk("126001")
    made = [any_hub.members.register(lib, Registration(name=f"회원{i}", birth_year=1990))
            ["number"] for i in range(5)]
    assert len(set(made)) == 5 and all(is_valid_member_number(n) for n in made)
    assert [int(n[8:13]) for n in made] == [1, 2, 3, 4, 5]
    clock.set(clock.now() + timedelta(days=365))
    assert any_hub.members.register(lib, Registration(name="새해", birth_year=1990))[
        "number"].startswith("12600127")


def test_daily_counters_kept_by_each_write_match_a_rebuild_from_the_ledger(any_hub, clock,
                                                                          numbers):
    from sqlalchemy import select

    from chaekieum.services import daily
    from chaekieum.store.tables import daily_circulation

    seoul, other, busan = desk("111001"), desk("111002"), desk("121001")
    for n in range(1, 6):
        borrower = numbers[2 if n % 2 else 0]  # numbers[2] was issued in Busan
        any_hub.circulation.checkout(seoul, CheckoutRequest(borrower, f"$111001EM{n:010d}"))
    any_hub.circulation.checkout(busan, CheckoutRequest(numbers[0], "$121001EM0000000001"))
    any_hub.circulation.undo_checkout(seoul, 1)
    clock.advance(days=2)
    any_hub.circulation.checkin(seoul, CheckinRequest("$111001EM0000000002"))
    any_hub.circulation.checkin(other, CheckinRequest("$111001EM0000000003"))
    out = any_hub.circulation.checkin(seoul, CheckinRequest("$111001EM0000000004"))
    any_hub.circulation.undo_checkin(seoul, out.loan["id"])

    def snapshot():
        with any_hub.db.read() as conn:
            return sorted(tuple(r) for r in conn.execute(select(daily_circulation)))

    kept = snapshot()
    with any_hub.db.write() as conn:
        daily.rebuild(conn)
    assert [r for r in kept if r[2:] != (0, 0, 0)] == snapshot()
    by_key = {(r[1], str(r[0])): r[2:] for r in kept}  # (library, day) -> counters
    assert by_key[("111001", "2026-03-04")] == (4, 0, 2)  # 5 lent, 1 undone; 2 to a Busan member
    assert by_key[("111001", "2026-03-06")][1] == 1 and by_key[("111002", "2026-03-06")][1] == 1


def test_offline_renewal_is_recorded_and_flagged_not_refused(any_hub, numbers):
    lib = desk("111001")
    any_hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000001"))
    with pytest.raises(DomainError) as refused:  # online: same-day renewal is refused
        any_hub.circulation.renew(lib, "$111001EM0000000001")
    assert refused.value.code == "RENEW_SAME_DAY"
    out = any_hub.circulation.renew(lib, "$111001EM0000000001", offline=True,
                                    due_on=date(2026, 3, 25))
    assert out.loan["due_on"] == "2026-03-25" and out.loan["renewals"] == 1
    assert [e["code"] for e in out.exceptions] == ["RENEW_SAME_DAY"]
    assert any_hub.copies.exceptions("111001")[0]["action"] == "renew"


def test_checkout_and_checkin_write_every_companion_row(any_hub, clock, numbers):
    """On PostgreSQL the loan, counter, audit and auto-join rows of a checkout (and the
    return, counter and audit rows of a checkin) go in one statement; on SQLite one by
    one. Both must leave the same rows."""
    from sqlalchemy import select

    from chaekieum.store.tables import audit_log, daily_circulation, events, loans, memberships

    busan_member = next(m for m in demo.info(any_hub)["members"]
                        if m["home_library"] == "121001")["number"]
    seoul = desk("111001")
    with any_hub.db.read() as conn:
        before_audit = conn.scalar(select(audit_log.c.id).order_by(audit_log.c.id.desc()))
        before_events = conn.scalar(select(events.c.id).order_by(events.c.id.desc())) or 0
    out = any_hub.circulation.checkout(seoul, CheckoutRequest(busan_member,
                                                              "$111001EM0000000007"))
    assert out.extra["auto_joined"] is True
    loan_id = out.loan["id"]
    clock.advance(days=1)
    back = any_hub.circulation.checkin(seoul, CheckinRequest("$111001EM0000000007",
                                                             client_txn_id="ret-7"))
    with any_hub.db.read() as conn:
        loan = conn.execute(select(loans).where(loans.c.id == loan_id)).one()
        audits = conn.execute(select(audit_log).where(audit_log.c.id > before_audit)
                              .order_by(audit_log.c.action)).all()
        joined = conn.execute(select(memberships).where(
            memberships.c.library_code == "111001",
            memberships.c.member_id == loan.member_id)).one()
        feed = conn.execute(select(events).where(events.c.id > before_events)).all()
        counters = {(r.library_code, r.day.isoformat()): (r.loans, r.returns, r.loans_elsewhere)
                    for r in conn.execute(select(daily_circulation))}
    assert (loan.state, loan.return_library, loan.return_txn_id) == ("returned", "111001",
                                                                     "ret-7")
    assert back.loan["state"] == "returned"
    assert [(a.action, a.entity, a.entity_id, a.actor, a.library_code) for a in audits] == [
        ("loan.checkin", "loan", str(loan_id), seoul.label, "111001"),
        ("loan.checkout", "loan", str(loan_id), seoul.label, "111001"),
        ("member.auto_join", "member", busan_member, seoul.label, "111001"),
    ]
    checkout_audit = audits[1].details
    assert checkout_audit["item"] == "$111001EM0000000007" and checkout_audit["exceptions"] == []
    assert audits[0].details == {"item": "$111001EM0000000007", "route": "home",
                                 "late_days": 0}
    assert (joined.how, joined.actor) == ("auto", seoul.label)
    assert [(e.library_code, e.kind, e.payload["member"]) for e in feed] == [
        ("121001", "member.joined", busan_member)]
    assert counters[("111001", "2026-03-04")] == (1, 0, 1)  # lent to a member from Busan
    assert counters[("111001", "2026-03-05")] == (0, 1, 0)


def test_regional_admin_finds_only_members_of_the_region(any_hub, numbers):
    """Member search for a regional admin: members with a membership at a library of the
    region, found from the name index (the region's membership is probed per member)."""
    seoul_admin = Actor(Role.REGIONAL_ADMIN, "staff:seoul-admin", "web", region_code="seoul")
    people = {m["name"]: m["number"] for m in demo.info(any_hub)["members"]}
    assert [m["number"] for m in any_hub.members.search(seoul_admin, "김하")] == [
        people["김하늘"]]
    assert any_hub.members.search(seoul_admin, "박솔") == []  # Busan only
    assert any_hub.members.search(seoul_admin, people["박솔"][:8]) == []
    any_hub.circulation.checkout(desk("111001"), CheckoutRequest(people["박솔"],
                                                                 "$111001EM0000000009"))
    assert [m["number"] for m in any_hub.members.search(seoul_admin, "박솔")] == [
        people["박솔"]]
