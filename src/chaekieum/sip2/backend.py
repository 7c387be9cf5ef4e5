"""What the SIP2 handlers need from whatever serves them: the hub itself
(``hub_backend.HubBackend``), or a library connector that forwards to the hub and keeps
lending offline (``chaekieum.connector.sip2``).

The codec, framing, sessions and handlers are the same code in both places; only the
backend differs. Everything here is synchronous: handlers run in the SIP2 server's
worker threads. Refusals are raised as ``DomainError`` with the hub's codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from ..domain import circulation as rules
from ..domain.actors import Actor
from ..domain.errors import Code, Reason
from ..domain.members import MemberStatus
from ..domain.policy import Policy, SharingMode
from ..domain.suspension import is_suspended
from ..domain.transactions import CheckinRequest, CheckoutRequest, Outcome
from .codec import patron_status_flags


@dataclass(frozen=True)
class LibraryInfo:
    code: str
    name: str
    circulating: bool  # kiosks may lend and return (before pilot: sandbox data only)


@dataclass
class PatronFacts:
    """A patron's state as 23/63 show it before any transaction."""

    view: dict[str, Any]
    # The member's loans with items and titles: only where the member-data rule lets the
    # kiosk's library see them (it joined the member); elsewhere empty, counts in `view`.
    loans: list[dict[str, Any]]
    holds: list[str]  # reservations set aside for the patron (ready for pickup)
    reasons: tuple[Reason, ...]  # why a checkout here would be refused now
    renew_reasons: list[Reason] = field(default_factory=list)
    flags: str = ""
    limit: int = 20
    waiting: list[str] = field(default_factory=list)  # reserved, not yet available
    hold_limit: int = 0  # policy reservation_limit

    @property
    def number(self) -> str:
        return self.view["number"]

    @property
    def overdue(self) -> list[dict[str, Any]]:
        return [loan for loan in self.loans if loan.get("overdue")]

    @property
    def charged_count(self) -> int:
        return self.view.get("loans_active", len(self.loans))

    @property
    def overdue_count(self) -> int:
        return self.view.get("loans_overdue", len(self.overdue))

    @property
    def valid(self) -> bool:
        return self.view["status"] != MemberStatus.WITHDRAWN


def build_patron_facts(view: dict[str, Any], active: list[dict[str, Any]], holds: list[str],
                       policy: Policy, today: date, library_code: str,
                       suspended_here: bool, waiting: list[str] | None = None) -> PatronFacts:
    """The flags and reasons of 24/64 from a member view (as GET /members/{ref} returns
    it) and the member's active loans (empty where the kiosk may not see them: the
    view's counts stand in), by the same domain rules the checkout applies."""
    suspended_until = (date.fromisoformat(view["suspended_until"])
                       if view.get("suspended_until") else None)
    status = MemberStatus.ACTIVE if view["status"] == "suspended" else view["status"]
    member = rules.MemberFacts(status, view["card_lost"], suspended_until, suspended_here,
                               bool(view.get("barred_here")))
    # (a library the member never joined has lent them nothing: a checkout joins them)
    counts = rules.LoanCounts(
        total=view.get("loans_active", len(active)),
        here=sum(1 for loan in active if loan["library_code"] == library_code),
        overdue=view.get("loans_overdue", sum(1 for loan in active if loan.get("overdue"))))
    # A loanable, free copy: what remains are the member's own reasons and the limits.
    decision = rules.decide_checkout(member, rules.CopyFacts(True, False), counts, policy,
                                     today)
    reason_codes = {r.code for r in decision.reasons}
    not_active = (status != MemberStatus.ACTIVE or view["card_lost"]
                  or is_suspended(suspended_until, today))
    renew_reasons = []
    if not_active:
        renew_reasons.append(Reason(Code.RENEW_MEMBER_NOT_ACTIVE))
    if counts.overdue:
        renew_reasons.append(Reason(Code.MEMBER_HAS_OVERDUE, {"overdue": counts.overdue}))
    flags = patron_status_flags(
        charge_denied=bool(decision.reasons),
        renew_denied=bool(renew_reasons),
        recall_denied=True,  # 책이음 has no recalls
        hold_denied=not_active,
        card_lost=bool(view["card_lost"]),
        too_many_charged=bool(reason_codes & {Code.SHARED_LIMIT_REACHED,
                                              Code.LIBRARY_LIMIT_REACHED,
                                              Code.CLASS_LIMIT_REACHED}),
        too_many_overdue=Code.MEMBER_HAS_OVERDUE in reason_codes,
    )
    reasons = decision.reasons
    if (not reasons and suspended_until and is_suspended(suspended_until, today)
            and policy.suspension_sharing is SharingMode.WARN):
        reasons = decision.warnings  # shown, though this library lends anyway
    return PatronFacts(view, active, holds, reasons, renew_reasons, flags,
                       policy.shared_loan_limit, list(waiting or []), policy.reservation_limit)


@dataclass
class ItemFacts:
    item: str  # canonical 통합바코드
    owner: str
    reg_no: str
    title: str
    loanable: bool
    reserved: bool  # set aside on the holds shelf
    queue_length: int = 0  # active reservations of the copy
    due_on: date | None = None
    loan_library: str | None = None
    member_number: str | None = None
    transit_state: str | None = None
    transit_from: str | None = None
    transit_to: str | None = None

    @property
    def circulation_status(self) -> str:
        if self.due_on is not None:
            return "04"  # charged
        if self.transit_state is not None:
            return "10"  # in transit
        if self.reserved:
            return "08"  # on hold shelf
        if not self.loanable:
            return "01"  # other: not for loan (reference, periodical...)
        return "03"  # available


class Backend(Protocol):
    """The small surface the handlers call; every method may raise DomainError."""

    def max_workers(self) -> int:
        """How many requests may be in flight at once (the server's thread pool)."""

    def now(self) -> datetime:
        """Naive UTC: the transaction time printed on responses."""

    def today(self) -> date:
        """The business date (Seoul)."""

    # -- terminals ---------------------------------------------------------------------
    def verify_terminal(self, login: str, password: str, source: str,
                        cached: bool = False) -> dict[str, Any] | None:
        """``{"login", "library_code", "encoding", "terminator", "error_detection"}`` for
        good credentials, None otherwise (wrong, locked or revoked). ``source`` is the
        kiosk's address; ``cached``: the password was verified moments ago, check only
        the account's state."""

    def terminal_revoked(self, login: str) -> bool: ...

    def library(self, code: str) -> LibraryInfo | None: ...

    # -- circulation -------------------------------------------------------------------
    def checkout(self, actor: Actor, request: CheckoutRequest) -> Outcome: ...

    def checkin(self, actor: Actor, request: CheckinRequest) -> Outcome: ...

    def renew(self, actor: Actor, item: str, member: str | None, *, offline: bool = False,
              due_on: date | None = None) -> Outcome: ...

    # -- patrons and items -------------------------------------------------------------
    def member_loans(self, actor: Actor, ref: str) -> list[dict[str, Any]]: ...

    def check_member_password(self, number: str, password: str, terminal: str) -> bool:
        """A patron password typed at a kiosk (AD); DomainError RATE_LIMITED when the
        kiosk's budget of failures is spent."""

    def block_patron(self, actor: Actor, ref: str, *, card_retained: bool, message: str,
                     terminal: str) -> None:
        """01: mark the card lost network-wide (audited)."""

    def patron_facts(self, actor: Actor, library_code: str, ref: str) -> PatronFacts: ...

    # -- reservations (15 hold) --------------------------------------------------------
    def place_hold(self, actor: Actor, patron: str, item: str) -> dict[str, Any]:
        """예약 of the kiosk library's copy for the patron, as the reservation view; a
        hold the patron already has is returned as it is (a resend applies once)."""

    def cancel_hold(self, actor: Actor, patron: str, item: str) -> dict[str, Any]:
        """Cancel the patron's active reservation of the copy (RESERVATION_UNKNOWN)."""

    def item_facts(self, actor: Actor, library_code: str, scanned: str) -> ItemFacts | None:
        """None when the barcode is unreadable or the copy unknown, and when the copy is
        outside the actor's reach (domain/sandbox.py: before pilot, or for a sandbox-only
        login, a real copy answers as unknown; its status is never shown)."""
