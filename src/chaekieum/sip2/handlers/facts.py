"""Read-only facts the SIP2 replies need and no hub use case returns as such: a patron's
status flags (what 24/64 show before any transaction) and an item's circulation status
(17/18).  Writes always go through the hub services; these only read, and they reuse
the domain rules so a kiosk shows the same decision the checkout would make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from ...domain import circulation as rules
from ...domain.errors import Code, DomainError, Reason
from ...domain.members import MemberStatus
from ...domain.policy import SharingMode
from ...domain.suspension import is_suspended
from ...domain.transit import TransitState
from ...services.lookup import find_copy, item_key
from ...store.tables import copies, loans, members, suspensions, transits
from ..codec import patron_status_flags
from .common import Context


@dataclass
class PatronFacts:
    view: dict[str, Any]
    loans: list[dict[str, Any]]
    holds: list[str]
    reasons: tuple[Reason, ...]  # why a checkout here would be refused now
    renew_reasons: list[Reason] = field(default_factory=list)
    flags: str = ""
    limit: int = 20

    @property
    def number(self) -> str:
        return self.view["number"]

    @property
    def overdue(self) -> list[dict[str, Any]]:
        return [loan for loan in self.loans if loan.get("overdue")]

    @property
    def valid(self) -> bool:
        return self.view["status"] != MemberStatus.WITHDRAWN


def patron(ctx: Context, ref: str) -> PatronFacts:
    """Raises DomainError (MEMBER_UNKNOWN, INVALID_MEMBER_NUMBER) like the services."""
    hub, actor, lib = ctx.hub, ctx.actor, ctx.library_code
    view = hub.members.get(actor, ref)
    active = hub.members.loans(actor, ref)
    today = ctx.today()
    policy = hub.registry.policy(lib, view["member_class"])
    suspended_until = (date.fromisoformat(view["suspended_until"])
                       if view.get("suspended_until") else None)
    with hub.db.read() as conn:
        member_id = conn.scalar(select(members.c.id).where(members.c.number == view["number"]))
        holds = [f"${r.library_code}{r.reg_no}" for r in conn.execute(
            select(copies.c.library_code, copies.c.reg_no)
            .where(copies.c.reserved_for == member_id).order_by(copies.c.id))]
        suspended_here = bool(suspended_until) and conn.scalar(
            select(func.count()).select_from(suspensions).where(
                suspensions.c.member_id == member_id, suspensions.c.library_code == lib,
                suspensions.c.ends_on >= today, suspensions.c.lifted_at.is_(None))) > 0
    status = MemberStatus.ACTIVE if view["status"] == "suspended" else view["status"]
    member = rules.MemberFacts(status, view["card_lost"], suspended_until, suspended_here)
    counts = rules.LoanCounts(total=len(active),
                              here=sum(1 for loan in active if loan["library_code"] == lib),
                              overdue=sum(1 for loan in active if loan.get("overdue")))
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
    blocked = bool(decision.reasons)
    flags = patron_status_flags(
        charge_denied=blocked,
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
                       policy.shared_loan_limit)


@dataclass
class ItemFacts:
    item: str  # canonical 통합바코드
    owner: str
    reg_no: str
    title: str
    loanable: bool
    reserved: bool
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


def item(ctx: Context, scanned: str) -> ItemFacts | None:
    """None when the barcode is unreadable or the copy unknown to the hub."""
    try:
        owner, reg_no = item_key(scanned, ctx.library_code)
    except DomainError:
        return None
    with ctx.hub.db.read() as conn:
        copy = find_copy(conn, owner, reg_no)
        if copy is None:
            return None
        facts = ItemFacts(f"${owner}{reg_no}", owner, reg_no, copy.title, copy.loanable,
                          copy.reserved_for is not None)
        loan = conn.execute(
            select(loans.c.due_on, loans.c.library_code, members.c.number)
            .join(members, members.c.id == loans.c.member_id)
            .where(loans.c.copy_id == copy.id, loans.c.state == "active")).first()
        if loan is not None:
            facts.due_on, facts.loan_library, facts.member_number = loan
        transit = conn.execute(
            select(transits.c.state, transits.c.from_library, transits.c.to_library)
            .where(transits.c.copy_id == copy.id, transits.c.state != TransitState.HOME)
            .order_by(transits.c.id.desc())).first()
        if transit is not None:
            facts.transit_state, facts.transit_from, facts.transit_to = transit
    return facts

