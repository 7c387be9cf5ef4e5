"""23 patron status, 63 patron information, 01 block patron (all answered with the
patron's shared 책이음 status: suspension, limit and lost card count network-wide)."""

from __future__ import annotations

import logging

from ...domain.errors import Code, DomainError, Reason
from ..codec import Request, count, summary_field, yn
from ..messages import SUMMARY_FIELDS
from . import facts
from .common import (
    MISSING_PATRON,
    Context,
    Reply,
    field_value,
    language,
    mask,
    reasons_of,
    screen,
)
from .refusal import refusal

log = logging.getLogger("chaekieum.sip2")


def _password_ok(ctx: Context, number: str, req: Request) -> tuple[bool, list[Reason]]:
    """CQ: Y only for a non-empty AD that is the member's portal password (trap 8).
    Failures are throttled per kiosk and never count against the member's portal
    sign-in; a kiosk over its budget gets CQ N and the reason on the screen."""
    password = req.get("AD") or ""
    if not password:
        return False, []
    try:
        return ctx.backend.check_member_password(number, password, ctx.login), []
    except DomainError as exc:
        return False, [r for r in exc.reasons if r.code == Code.RATE_LIMITED]


def _unknown(ctx: Context, req: Request, code: str, reasons) -> Reply:  # noqa: ANN001
    """Trap 9: unknown patron -> BL N, AE present but empty, the reason in AF."""
    reply = refusal(ctx, req, [])
    reply.fields.extend(screen(reasons))
    assert reply.code == code
    return reply


def _load(ctx: Context, req: Request) -> facts.PatronFacts | tuple[Reason, ...]:
    ref = field_value(req, "AA")
    if not ref:
        return (MISSING_PATRON,)
    try:
        return facts.patron(ctx, ref)
    except DomainError as exc:
        return reasons_of(exc)


def _common_fields(ctx: Context, pf: facts.PatronFacts, req: Request, cq: bool,
                   extra: list[Reason]) -> list[tuple[str, str | None]]:
    return [
        ("AO", ctx.library_code), ("AA", field_value(req, "AA")),
        ("AE", pf.view.get("name") or ""), ("BL", yn(pf.valid)), ("CQ", yn(cq)),
        *screen([*pf.reasons, *extra]),
    ]


def patron_status(ctx: Context, req: Request) -> Reply:
    pf = _load(ctx, req)
    if not isinstance(pf, facts.PatronFacts):
        return _unknown(ctx, req, "24", pf)
    cq, extra = _password_ok(ctx, pf.number, req)
    return Reply("24", {"patron_status": pf.flags, "language": language(req),
                        "transaction_date": ctx.now()},
                 _common_fields(ctx, pf, req, cq, extra))


def _range(req: Request, total: int) -> tuple[int, int]:
    """BP/BQ: 1-based, inclusive; missing or garbage -> the whole list."""
    def number(fid: str, default: int) -> int:
        value = field_value(req, fid)
        return int(value) if value.isdigit() else default

    start = max(1, number("BP", 1))
    end = number("BQ", total)
    return start, min(end, total)


def patron_information(ctx: Context, req: Request) -> Reply:
    pf = _load(ctx, req)
    if not isinstance(pf, facts.PatronFacts):
        return _unknown(ctx, req, "64", pf)
    cq, extra = _password_ok(ctx, pf.number, req)
    lists = {
        "AS": pf.holds,
        "AT": [loan["item"] for loan in pf.overdue],
        "AU": [loan["item"] for loan in pf.loans],
        "AV": [], "BU": [], "CD": pf.waiting,
    }
    fixed = {
        "patron_status": pf.flags, "language": language(req), "transaction_date": ctx.now(),
        "hold_items_count": count(len(pf.holds)),
        "overdue_items_count": count(pf.overdue_count),
        "charged_items_count": count(pf.charged_count),
        "fine_items_count": count(0), "recall_items_count": count(0),
        "unavailable_holds_count": count(len(pf.waiting)),
    }
    fields = _common_fields(ctx, pf, req, cq, extra)
    fields.insert(3, ("CB", count(pf.limit)))  # the shared 책이음 loan limit
    fields.insert(3, ("BZ", count(pf.hold_limit)))  # reservations allowed at this library
    wanted = summary_field(req.fixed.get("summary", ""))
    if wanted in SUMMARY_FIELDS:
        items = lists[wanted]
        start, end = _range(req, len(items))
        fields.extend((wanted, value) for value in items[start - 1:end])
    return Reply("64", fixed, fields)


def block_patron(ctx: Context, req: Request) -> Reply:
    """01: the kiosk blocks a card (e.g. it kept a card reported stolen): the card is
    marked lost network-wide, with an audit record of the terminal and its message.
    Only a kiosk of a library the member joined may do so (services/access.py); any
    other kiosk gets the patron's status with the refusal in AF."""
    ref = field_value(req, "AA")
    if not ref:
        return _unknown(ctx, req, "24", (MISSING_PATRON,))
    refused: list[Reason] = []
    try:
        ctx.backend.block_patron(ctx.actor, ref,
                                 card_retained=req.fixed.get("card_retained") == "Y",
                                 message=(req.get("AL") or "")[:255], terminal=ctx.login)
    except DomainError as exc:
        if exc.code in (Code.MEMBER_UNKNOWN, Code.INVALID_MEMBER_NUMBER):
            return _unknown(ctx, req, "24", reasons_of(exc))
        refused = list(reasons_of(exc))
        log.warning("sip2 %s: %s may not block patron %s: %s", ctx.session.peer, ctx.login,
                    mask(ref), exc)
    else:
        log.warning("sip2 %s: %s blocked patron %s (card marked lost)", ctx.session.peer,
                    ctx.login, mask(ref))
    pf = _load(ctx, req)
    if not isinstance(pf, facts.PatronFacts):
        return _unknown(ctx, req, "24", pf)
    return Reply("24", {"patron_status": pf.flags, "language": "000",
                        "transaction_date": ctx.now()},
                 _common_fields(ctx, pf, req, False, refused))
