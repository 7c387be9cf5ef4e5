"""예약 end to end at the service level, on SQLite and PostgreSQL: placement and its
refusals, set aside on return, the holds shelf, fulfilment, expiry, cancellation, the
rules that depend on reservations (checkout, renewal, withdrawal), and the change feed."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from chaekieum.domain.errors import DomainError
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.store.tables import events

ITEM = "$111001EM0000000001"


def desk(code: str) -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


def api(code: str) -> Actor:
    return Actor(Role.LIBRARY_SYSTEM, f"key:demo{code}", "api", code)


def portal(number: str) -> Actor:
    return Actor(Role.MEMBER, f"member:{number}", "portal")


@pytest.fixture
def numbers(any_hub):
    # 0, 1: registered at 111001; 4: at 111002 (never joined 111001)
    return [m["number"] for m in demo.info(any_hub)["members"]]


def codes(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(r.code) for r in exc.value.reasons]


def reservation_events(hub) -> Counter:  # noqa: ANN001
    with hub.db.read() as conn:
        rows = conn.execute(select(events.c.library_code, events.c.kind, events.c.payload)
                            .where(events.c.kind.like("reservation.%"))).all()
    return Counter((r.library_code, r.kind, r.payload["reservation_id"]) for r in rows)


def test_full_lifecycle_with_its_refusals(any_hub, clock, numbers):
    hub, lib = any_hub, desk("111001")
    borrower, first, second = numbers[0], numbers[1], numbers[4]
    hub.circulation.checkout(lib, CheckoutRequest(borrower, ITEM))

    placed = hub.reservations.place(lib, first, ITEM)
    assert (placed["state"], placed["position"], placed["library_code"]) == ("waiting", 1,
                                                                             "111001")
    # the desk may place for any member who shows a card, joined here or not
    later = hub.reservations.place(lib, second, ITEM)
    assert later["position"] == 2

    with pytest.raises(DomainError) as dup:
        hub.reservations.place(lib, first, ITEM)
    assert codes(dup) == ["RESERVATION_DUPLICATE"]
    with pytest.raises(DomainError) as own:
        hub.reservations.place(lib, borrower, ITEM)
    assert codes(own) == ["RESERVATION_OWN_LOAN"]
    clock.advance(days=1)
    with pytest.raises(DomainError) as renew:
        hub.circulation.renew(lib, ITEM)
    assert codes(renew) == ["RENEW_RESERVED"]
    with pytest.raises(DomainError) as withdraw:
        hub.members.withdraw(SYSTEM, first)
    assert codes(withdraw) == ["WITHDRAW_HAS_RESERVATIONS"]

    # returned at its own library: set aside for the head of the queue
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    held = back.extra["reservation"]
    assert held["state"] == "ready" and held["member_number"] == first
    assert held["pickup_by"] == "2026-03-08"  # Thu 5 Mar + 3 (open on Sundays)
    shelf = hub.reservations.for_library(lib, state="ready")
    assert [r["id"] for r in shelf] == [placed["id"]]

    # anyone else is refused, the reserver's checkout fulfils it
    with pytest.raises(DomainError) as other:
        hub.circulation.checkout(lib, CheckoutRequest(second, ITEM))
    assert "COPY_RESERVED" in codes(other)
    with pytest.raises(DomainError) as other:
        hub.circulation.checkout(lib, CheckoutRequest(borrower, ITEM))
    assert codes(other) == ["COPY_RESERVED"]
    out = hub.circulation.checkout(lib, CheckoutRequest(first, ITEM))
    assert out.extra["reservation"]["state"] == "fulfilled"
    assert out.extra["reservation"]["loan_id"] == out.loan["id"]
    assert hub.reservations.for_member(lib, first) == []
    assert [r["state"] for r in hub.reservations.for_member(lib, first, include_closed=True)
            ] == ["fulfilled"]

    # the next one is set aside on the next return, then expires uncollected
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    assert back.extra["reservation"]["member_number"] == second
    pickup = back.extra["reservation"]["pickup_by"]
    assert hub.reservations.expire_due(SYSTEM) == {"expired": 0, "set_aside": 0}
    clock.advance(days=6)
    assert clock.today().isoformat() > pickup
    assert hub.reservations.expire_due(SYSTEM) == {"expired": 1, "set_aside": 0}
    assert hub.reservations.expire_due(SYSTEM) == {"expired": 0, "set_aside": 0}
    # no queue left: the copy is free for anyone, and the reserver may withdraw
    hub.circulation.checkout(lib, CheckoutRequest(borrower, ITEM))
    hub.members.withdraw(SYSTEM, first)

    feed = reservation_events(hub)
    assert feed == Counter({
        ("111001", "reservation.placed", placed["id"]): 1,
        ("111001", "reservation.placed", later["id"]): 1,
        ("111001", "reservation.ready", placed["id"]): 1,
        ("111001", "reservation.fulfilled", placed["id"]): 1,
        ("111001", "reservation.ready", later["id"]): 1,
        ("111001", "reservation.expired", later["id"]): 1,
    })
    # the feed (with the sequencer) delivers each once
    kinds = [e["kind"] for e in hub.feed.read("111001", 0, 1000)["events"]
             if e["kind"].startswith("reservation.")]
    assert len(kinds) == 6


def test_expiry_sets_the_copy_aside_for_the_next_in_line(any_hub, clock, numbers):
    hub, lib = any_hub, desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    a = hub.reservations.place(lib, numbers[1], ITEM)
    b = hub.reservations.place(lib, numbers[4], ITEM)
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    assert back.extra["reservation"]["id"] == a["id"]
    clock.advance(days=3)  # Sat 7 Mar: the deadline day itself is still in time
    assert hub.reservations.expire_due(SYSTEM)["expired"] == 0
    clock.advance(days=1)
    assert hub.reservations.expire_due(SYSTEM) == {"expired": 1, "set_aside": 1}
    now_b = hub.reservations.get(lib, b["id"])
    assert (now_b["state"], now_b["position"]) == ("ready", 1)
    assert now_b["pickup_by"] == "2026-03-11"  # Sun 8 + 3 = Wed 11
    assert hub.reservations.get(lib, a["id"])["state"] == "expired"
    with pytest.raises(DomainError) as refused:
        hub.circulation.checkout(lib, CheckoutRequest(numbers[1], ITEM))
    assert codes(refused) == ["COPY_RESERVED"]
    assert hub.circulation.checkout(lib, CheckoutRequest(numbers[4], ITEM)).loan


def test_pickup_deadline_skips_closed_days(any_hub, clock, numbers):
    hub, lib = any_hub, desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    hub.reservations.place(lib, numbers[1], ITEM)
    clock.advance(days=2)  # Fri 6 Mar + 3 = Mon 9 Mar, closed on Mondays -> Tue 10
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    assert back.extra["reservation"]["pickup_by"] == "2026-03-10"


def test_cancel_by_member_and_by_staff(any_hub, numbers):
    hub, lib = any_hub, desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    mine = hub.reservations.place(portal(numbers[1]), numbers[1], ITEM)
    assert mine["channel"] == "portal"
    theirs = hub.reservations.place(lib, numbers[4], ITEM)
    # nobody cancels another's reservation, nor another library's
    for actor in (portal(numbers[4]), desk("111002"), api("111002")):
        with pytest.raises(DomainError) as refused:
            hub.reservations.cancel(actor, mine["id"])
        assert codes(refused) == ["RESERVATION_UNKNOWN"]
    done = hub.reservations.cancel(portal(numbers[1]), mine["id"])
    assert done["state"] == "cancelled" and done["next"] is None
    with pytest.raises(DomainError) as again:
        hub.reservations.cancel(portal(numbers[1]), mine["id"])
    assert codes(again) == ["RESERVATION_BAD_STATE"]
    assert hub.reservations.get(lib, theirs["id"])["position"] == 1
    # staff cancel a set-aside copy: it goes to the next in line, or back to the shelf
    third = hub.reservations.place(lib, numbers[1], ITEM)
    hub.circulation.checkin(lib, CheckinRequest(ITEM))
    done = hub.reservations.cancel(lib, theirs["id"])
    assert done["next"]["id"] == third["id"] and done["next"]["state"] == "ready"
    done = hub.reservations.cancel(api("111001"), third["id"])
    assert done["next"] is None and done["copy_to_shelf"] is True
    assert hub.circulation.checkout(lib, CheckoutRequest(numbers[4], ITEM)).loan
    assert Counter(k for _, k, _ in reservation_events(hub)) == Counter({
        "reservation.placed": 3, "reservation.cancelled": 3, "reservation.ready": 2})


def test_who_may_place(any_hub, numbers):
    hub, lib = any_hub, desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    # a library system reaches only members registered with it
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(api("111001"), numbers[4], ITEM)
    assert codes(refused) == ["RESERVATION_NOT_JOINED"]
    assert hub.reservations.place(api("111001"), numbers[1], ITEM)["channel"] == "api"
    # only the owning library places on its copies
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(desk("111002"), numbers[4], ITEM)
    assert codes(refused) == ["RESERVATION_OTHER_LIBRARY"]
    # a member: for themselves, at libraries they joined
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(portal(numbers[4]), numbers[4], ITEM)
    assert codes(refused) == ["RESERVATION_NOT_JOINED"]
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(portal(numbers[4]), numbers[1], ITEM)
    assert codes(refused) == ["FORBIDDEN"]
    # lists: a library sees only its own reservations of a member
    assert len(hub.reservations.for_member(lib, numbers[1])) == 1
    assert hub.reservations.for_member(desk("111002"), numbers[1]) == []
    with pytest.raises(DomainError):
        hub.reservations.for_library(desk("111002"), "111001")


def test_placement_refusals(any_hub, numbers):
    hub, lib = any_hub, desk("111001")
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(lib, numbers[1], ITEM)
    assert codes(refused) == ["RESERVATION_COPY_AVAILABLE"]
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(lib, numbers[1], "$111001EM0000009999")
    assert codes(refused) == ["COPY_UNKNOWN"]
    hub.network.set_policy(SYSTEM, "library", "111001", "", {"reservation_limit": 1})
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], "$111001EM0000000002"))
    hub.reservations.place(lib, numbers[1], ITEM)
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(lib, numbers[1], "$111001EM0000000002")
    assert codes(refused) == ["RESERVATION_LIMIT_REACHED"]
    assert refused.value.reasons[0].details == {"limit": 1, "reserved": 1}
    hub.members.report_card_lost(SYSTEM, numbers[4])
    with pytest.raises(DomainError) as refused:
        hub.reservations.place(lib, numbers[4], "$111001EM0000000002")
    assert codes(refused) == ["CARD_LOST"]


def test_a_copy_returned_elsewhere_is_set_aside_when_it_arrives_home(any_hub, numbers):
    hub, home, other = any_hub, desk("111001"), desk("111002")
    hub.circulation.checkout(home, CheckoutRequest(numbers[0], ITEM))
    placed = hub.reservations.place(home, numbers[1], ITEM)
    back = hub.circulation.checkin(other, CheckinRequest(ITEM))
    assert back.extra["route"] == "transit" and back.extra["reservation"] is None
    # travelling home: nobody but the reserver may borrow it, and others may still queue
    assert hub.reservations.place(home, numbers[4], ITEM)["position"] == 2
    arrived = hub.transits.move(home, back.extra["transit_id"], "arrive")
    assert arrived["reservation"]["id"] == placed["id"]
    assert arrived["reservation"]["state"] == "ready"


def test_an_offline_loan_of_a_set_aside_copy_puts_the_reservation_back_in_line(
        any_hub, numbers):
    hub, lib = any_hub, desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    placed = hub.reservations.place(lib, numbers[1], ITEM)
    hub.circulation.checkin(lib, CheckinRequest(ITEM))
    out = hub.circulation.checkout(lib, CheckoutRequest(numbers[4], ITEM, offline=True))
    assert [e["code"] for e in out.exceptions] == ["COPY_RESERVED"]
    again = hub.reservations.get(lib, placed["id"])
    assert (again["state"], again["pickup_by"], again["position"]) == ("waiting", None, 1)
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    assert back.extra["reservation"]["id"] == placed["id"]


def test_migration_turns_the_old_column_into_waiting_reservations(tmp_path):
    """Upgrading a database with data: copies referenced by loans survive the rebuild of
    `copies` (SQLite), and a copy marked reserved_for becomes a waiting reservation."""
    from sqlalchemy import create_engine, text

    from chaekieum.store.migrate import upgrade
    from chaekieum.store.tables import copies, loans, reservations

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "trust_sessions_1")  # the revision before ours
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO libraries (code, name, region_code, status, created_at)"
            " VALUES ('111001', '서울도서관', 'seoul', 'live', '2026-01-01')"))
        conn.execute(text(
            "INSERT INTO members (id, number, issuing_library, joined_at, status,"
            " member_class, consents, updated_at) VALUES (7, '11100126000017', '111001',"
            " '2026-01-01', 'active', '정회원', '{}', '2026-01-01')"))
        conn.execute(text(
            "INSERT INTO copies (id, library_code, reg_no, reserved_for, updated_at)"
            " VALUES (3, '111001', 'EM0000000001', 7, '2026-01-02')"))
        conn.execute(text(
            "INSERT INTO loans (copy_id, member_id, library_code, owner_library, state,"
            " loaned_at, loaned_on, due_on, channel, actor) VALUES (3, 7, '111001',"
            " '111001', 'returned', '2026-01-01', '2026-01-01', '2026-01-15', 'desk', 'x')"))
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(copies.c.id, copies.c.reg_no)).all() == [(3, "EM0000000001")]
        assert conn.execute(select(loans.c.copy_id)).scalars().all() == [3]
        assert conn.execute(select(reservations.c.copy_id, reservations.c.member_id,
                                   reservations.c.state)).all() == [(3, 7, "waiting")]
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()


def test_cli_expire_sweeps_past_deadlines(hub, monkeypatch, tmp_path):
    """`chaekieum reservations expire` (wall clock: long after the fixed test clock)."""
    import json

    from typer.testing import CliRunner

    from chaekieum.cli import app

    numbers = [m["number"] for m in demo.info(hub)["members"]]
    lib = desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    placed = hub.reservations.place(lib, numbers[1], ITEM)
    hub.circulation.checkin(lib, CheckinRequest(ITEM))
    monkeypatch.setenv("CHAEKIEUM_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(app, ["reservations", "expire", "--database-url",
                                      str(hub.db.url)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"expired": 1, "set_aside": 0}
    assert hub.reservations.get(lib, placed["id"])["state"] == "expired"


def test_undo_keeps_the_queue_right(any_hub, numbers):
    """Undoing the return that set a copy aside puts the reservation back in line (the
    copy is on loan again); undoing the loan that fulfilled one sets the copy aside for
    the reserver again."""
    hub, lib = any_hub, desk("111001")
    hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    placed = hub.reservations.place(lib, numbers[1], ITEM)
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    hub.circulation.undo_checkin(lib, back.loan["id"])
    again = hub.reservations.get(lib, placed["id"])
    assert (again["state"], again["pickup_by"]) == ("waiting", None)
    back = hub.circulation.checkin(lib, CheckinRequest(ITEM))
    assert back.extra["reservation"]["id"] == placed["id"]
    out = hub.circulation.checkout(lib, CheckoutRequest(numbers[1], ITEM))
    assert out.extra["reservation"]["state"] == "fulfilled"
    undone = hub.circulation.undo_checkout(lib, out.loan["id"])
    assert undone.extra["reservation"]["id"] == placed["id"]
    assert hub.reservations.get(lib, placed["id"])["state"] == "ready"
    with pytest.raises(DomainError) as refused:
        hub.circulation.checkout(lib, CheckoutRequest(numbers[0], ITEM))
    assert codes(refused) == ["COPY_RESERVED"]
    assert hub.circulation.checkout(lib, CheckoutRequest(numbers[1], ITEM)).loan
