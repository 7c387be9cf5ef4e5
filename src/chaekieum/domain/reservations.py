"""예약 (reservations) as data: states, transitions, queue order, pickup deadline, and
who may place one.

A reservation names one copy (a queue per copy). It waits while the copy is out; when
the copy comes back to its own library the head of the queue is set aside on the
holds shelf (ready) until a pickup deadline; it then ends fulfilled (the reserver
borrows it), expired (not collected in time) or cancelled (by the member or staff).

    waiting --set_aside--> ready --fulfil--> fulfilled
       |  ^                  |
       |  +---requeue--------+   (the set-aside copy was lent offline to someone else,
       |                     |    or a set-aside return was undone)
       +--fulfil--> fulfilled|    (fulfilled --reopen--> waiting: the loan was undone;
       |                     |     the copy is then set aside for the reserver again)
       +--cancel--> cancelled<--cancel
                             +--expire--> expired
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from .calendar import LibraryCalendar
from .errors import Code, Decision, DomainError, Reason
from .members import MemberStatus
from .suspension import is_suspended


class ReservationState(StrEnum):
    WAITING = "waiting"  # 예약 대기
    READY = "ready"  # 예약 도서 보관 중 (set aside on the holds shelf)
    FULFILLED = "fulfilled"  # 대출 완료
    EXPIRED = "expired"  # 기한 경과
    CANCELLED = "cancelled"  # 예약 취소


ACTIVE_STATES = frozenset({ReservationState.WAITING, ReservationState.READY})

# state -> {action: next state}; anything else is refused (RESERVATION_BAD_STATE)
TRANSITIONS: dict[ReservationState, dict[str, ReservationState]] = {
    ReservationState.WAITING: {
        "set_aside": ReservationState.READY,
        "fulfil": ReservationState.FULFILLED,
        "cancel": ReservationState.CANCELLED,
    },
    ReservationState.READY: {
        "fulfil": ReservationState.FULFILLED,
        "expire": ReservationState.EXPIRED,
        "cancel": ReservationState.CANCELLED,
        "requeue": ReservationState.WAITING,
    },
    ReservationState.FULFILLED: {"reopen": ReservationState.WAITING},  # loan undone
    ReservationState.EXPIRED: {},
    ReservationState.CANCELLED: {},
}

LABELS = {"waiting": "예약 대기", "ready": "예약 도서 보관 중", "fulfilled": "대출 완료",
          "expired": "예약 기한 경과", "cancelled": "예약 취소"}


def next_state(current: str, action: str) -> ReservationState:
    try:
        nxt = TRANSITIONS[ReservationState(current)].get(action)
    except ValueError:
        nxt = None
    if nxt is None:
        raise DomainError(Code.RESERVATION_BAD_STATE, state=current, action=action)
    return nxt


@dataclass(frozen=True)
class QueueEntry:
    id: int  # placement order: ids grow with every placement
    member_id: int
    state: str


def queue_order(entries: Sequence[QueueEntry]) -> list[QueueEntry]:
    """The active queue of one copy, head first: the set-aside reservation (at most one)
    heads it, then the waiting ones in the order they were placed."""
    active = [e for e in entries if e.state in ACTIVE_STATES]
    return sorted(active, key=lambda e: (e.state != ReservationState.READY, e.id))


def head(entries: Sequence[QueueEntry]) -> QueueEntry | None:
    ordered = queue_order(entries)
    return ordered[0] if ordered else None


def reserved_for_other(head_member_id: int | None, member_id: int, on_loan: bool) -> bool:
    """Checkout: a copy that is not on loan goes only to the head of its queue
    (`head_member_id`, from `head`).

    Our choice (domain.md 5, "reserved for someone else"): not only a set-aside copy but
    any copy with a queue is refused to everyone but the head. A copy reaches the shelf
    with a queue only briefly (a transit arriving home, an undone return), and a waiting
    reserver must not lose it to whoever picks it up first."""
    return not on_loan and head_member_id is not None and head_member_id != member_id


def renewal_blocked(entries: Sequence[QueueEntry], member_id: int) -> bool:
    """Renewal: refused while anyone else waits for the copy."""
    return any(e.member_id != member_id for e in queue_order(entries))


def pickup_deadline(ready_on: date, pickup_days: int, calendar: LibraryCalendar) -> date:
    """The last day the reserver may collect: ready day + pickup days, moved to the next
    day the library is open (a deadline never falls on a closed day)."""
    return calendar.next_open_day(ready_on + timedelta(days=pickup_days))


def is_expired(pickup_by: date | None, today: date) -> bool:
    return pickup_by is not None and today > pickup_by


@dataclass(frozen=True)
class PlacementFacts:
    member_status: str
    card_lost: bool
    suspended_until: date | None
    can_borrow: bool
    copy_known: bool
    copy_loanable: bool
    copy_on_loan: bool  # lent to anyone
    copy_in_transit: bool  # on its way home after a return elsewhere
    copy_queued: bool  # others already wait for it (or it is set aside for someone)
    borrower_is_member: bool  # the member holds this copy now
    already_reserved: bool  # the member has an active reservation of this copy
    active_reservations: int  # the member's active reservations at the owning library
    limit: int  # policy reservation_limit (0 = this library takes no reservations)
    barred: bool = False  # the owning (pickup) library barred the member


def decide_placement(f: PlacementFacts, today: date) -> Decision:
    """Every reason a reservation cannot be placed (a Decision, like checkout)."""
    reasons: list[Reason] = []
    if f.member_status == MemberStatus.WITHDRAWN:
        reasons.append(Reason(Code.MEMBER_WITHDRAWN))
    elif f.member_status == MemberStatus.EXPELLED:
        reasons.append(Reason(Code.MEMBER_EXPELLED))
    if not f.can_borrow:
        reasons.append(Reason(Code.MEMBER_NOT_ELIGIBLE))
    if f.card_lost:
        reasons.append(Reason(Code.CARD_LOST))
    if f.barred:
        reasons.append(Reason(Code.MEMBER_BARRED_HERE))
    if is_suspended(f.suspended_until, today):
        reasons.append(Reason(Code.MEMBER_SUSPENDED, {"until": f.suspended_until.isoformat()}))
    if not f.copy_known:
        reasons.append(Reason(Code.COPY_UNKNOWN))
        return Decision(tuple(reasons))
    if not f.copy_loanable:
        reasons.append(Reason(Code.COPY_NOT_LOANABLE))
    if f.already_reserved:
        reasons.append(Reason(Code.RESERVATION_DUPLICATE))
    elif f.borrower_is_member:
        reasons.append(Reason(Code.RESERVATION_OWN_LOAN))
    elif f.copy_loanable and not (f.copy_on_loan or f.copy_in_transit or f.copy_queued):
        # on the shelf: borrow it now (Korean public libraries reserve only lent copies)
        reasons.append(Reason(Code.RESERVATION_COPY_AVAILABLE))
    if not f.already_reserved and f.active_reservations + 1 > f.limit:
        reasons.append(Reason(Code.RESERVATION_LIMIT_REACHED,
                              {"limit": f.limit, "reserved": f.active_reservations}))
    return Decision(tuple(reasons))
