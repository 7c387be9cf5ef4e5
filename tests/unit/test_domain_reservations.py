"""The reservation rules as data: transitions, queue order, who a copy goes to, the
pickup deadline and every reason a placement is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaekieum.domain.calendar import LibraryCalendar
from chaekieum.domain.errors import Code, DomainError
from chaekieum.domain.reservations import (
    ACTIVE_STATES,
    TRANSITIONS,
    PlacementFacts,
    QueueEntry,
    ReservationState,
    decide_placement,
    head,
    is_expired,
    next_state,
    pickup_deadline,
    queue_order,
    renewal_blocked,
    reserved_for_other,
)

TODAY = date(2026, 3, 4)  # a Wednesday
S = ReservationState


def test_the_life_of_a_reservation():
    assert next_state("waiting", "set_aside") is S.READY
    assert next_state("ready", "fulfil") is S.FULFILLED
    assert next_state("ready", "expire") is S.EXPIRED
    assert next_state("waiting", "cancel") is S.CANCELLED
    assert next_state("ready", "cancel") is S.CANCELLED
    assert next_state("ready", "requeue") is S.WAITING
    assert next_state("fulfilled", "reopen") is S.WAITING


@pytest.mark.parametrize(("state", "action"), [
    ("waiting", "expire"), ("expired", "cancel"), ("cancelled", "set_aside"),
    ("fulfilled", "cancel"), ("ready", "set_aside"), ("bogus", "cancel"), ("waiting", "x"),
])
def test_other_moves_are_refused(state, action):
    with pytest.raises(DomainError) as err:
        next_state(state, action)
    assert err.value.code == Code.RESERVATION_BAD_STATE
    assert err.value.details == {"state": state, "action": action}


def test_every_state_has_its_row_and_ends_are_final():
    assert set(TRANSITIONS) == set(S)
    assert not TRANSITIONS[S.EXPIRED] and not TRANSITIONS[S.CANCELLED]
    assert ACTIVE_STATES == {S.WAITING, S.READY}


def test_queue_order_puts_the_set_aside_one_first_then_placement_order():
    entries = [QueueEntry(5, 50, "waiting"), QueueEntry(9, 90, "ready"),
               QueueEntry(2, 20, "waiting"), QueueEntry(1, 10, "cancelled")]
    assert [e.id for e in queue_order(entries)] == [9, 2, 5]
    assert head(entries).member_id == 90
    assert head([]) is None


def test_a_copy_off_loan_goes_only_to_the_head():
    first = head([QueueEntry(2, 20, "waiting"), QueueEntry(1, 10, "waiting")]).member_id
    assert reserved_for_other(first, 20, on_loan=False)
    assert not reserved_for_other(first, 10, on_loan=False)
    assert not reserved_for_other(first, 20, on_loan=True)  # COPY_ON_LOAN says it
    assert not reserved_for_other(None, 20, on_loan=False)


def test_renewal_is_blocked_by_anyone_else_waiting():
    assert renewal_blocked([QueueEntry(1, 10, "waiting")], 20)
    assert not renewal_blocked([QueueEntry(1, 20, "waiting")], 20)
    assert not renewal_blocked([QueueEntry(1, 10, "expired")], 20)


def test_pickup_deadline_moves_to_an_open_day_and_expiry_is_after_it():
    mondays = LibraryCalendar(closed_weekdays=frozenset({0}))
    assert pickup_deadline(date(2026, 3, 6), 3, mondays) == date(2026, 3, 10)  # Mon -> Tue
    assert pickup_deadline(TODAY, 3, mondays) == date(2026, 3, 7)
    assert not is_expired(date(2026, 3, 7), date(2026, 3, 7))
    assert is_expired(date(2026, 3, 7), date(2026, 3, 8))
    assert not is_expired(None, date(2030, 1, 1))


OK = PlacementFacts(
    member_status="active", card_lost=False, suspended_until=None, can_borrow=True,
    copy_known=True, copy_loanable=True, copy_on_loan=True, copy_in_transit=False,
    copy_queued=False, borrower_is_member=False, already_reserved=False,
    active_reservations=0, limit=5)


def codes(facts: PlacementFacts) -> list[Code]:
    return [r.code for r in decide_placement(facts, TODAY).reasons]


def test_a_lent_or_travelling_or_queued_copy_can_be_reserved():
    assert codes(OK) == []
    assert codes(replace(OK, copy_on_loan=False, copy_in_transit=True)) == []
    assert codes(replace(OK, copy_on_loan=False, copy_queued=True)) == []
    assert codes(replace(OK, copy_on_loan=False)) == [Code.RESERVATION_COPY_AVAILABLE]


def test_every_reason_is_given():
    facts = replace(OK, member_status="withdrawn", card_lost=True, can_borrow=False,
                    suspended_until=date(2026, 3, 9), copy_loanable=False,
                    borrower_is_member=True, active_reservations=5)
    assert codes(facts) == [
        Code.MEMBER_WITHDRAWN, Code.MEMBER_NOT_ELIGIBLE, Code.CARD_LOST,
        Code.MEMBER_SUSPENDED, Code.COPY_NOT_LOANABLE, Code.RESERVATION_OWN_LOAN,
        Code.RESERVATION_LIMIT_REACHED]
    assert codes(replace(OK, member_status="expelled")) == [Code.MEMBER_EXPELLED]
    assert codes(replace(OK, copy_known=False)) == [Code.COPY_UNKNOWN]
    assert codes(replace(OK, already_reserved=True, active_reservations=5)) == [
        Code.RESERVATION_DUPLICATE]
    assert codes(replace(OK, limit=0)) == [Code.RESERVATION_LIMIT_REACHED]


@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 5),
                          st.sampled_from([str(s) for s in S])), max_size=12,
                unique_by=lambda t: t[0]))
def test_queue_order_properties(rows):
    entries = [QueueEntry(i, m, s) for i, m, s in rows]
    ordered = queue_order(entries)
    assert all(e.state in ACTIVE_STATES for e in ordered)
    assert len(ordered) == sum(e.state in ACTIVE_STATES for e in entries)
    waiting = [e.id for e in ordered if e.state == S.WAITING]
    assert waiting == sorted(waiting)
    ready = [i for i, e in enumerate(ordered) if e.state == S.READY]
    assert all(i < len(ready) for i in ready)  # ready ones come first
