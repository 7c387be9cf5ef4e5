"""15 hold -> 16: place (+) or cancel (-) a reservation (예약) of this library's copy for
the patron at the kiosk. The card is in the kiosk, so any member may reserve; a patron
password (AD), when sent, must be right (as for 63). '*' (change the pickup location)
is not served: a reservation is collected at the copy's own library."""

from __future__ import annotations

import logging

from ...domain.errors import DomainError
from ..codec import Request
from .common import (
    MISSING_PATRON,
    NOT_SUPPORTED,
    Context,
    Reply,
    codes_of,
    due_text,
    field_value,
    mask,
    password_refused,
    reasons_of,
    screen,
)
from .items import MISSING_ITEM
from .refusal import refusal

log = logging.getLogger("chaekieum.sip2")

PLACED = "예약되었습니다. 대기 순번 {position}번입니다. 자료가 반납되면 보관 서가에 준비됩니다."
READY = "예약 도서가 보관 서가에 준비되어 있습니다. {pickup_by}까지 대출하세요."
CANCELLED = "예약이 취소되었습니다."


def _failed(ctx: Context, req: Request, reasons) -> Reply:  # noqa: ANN001
    reply = refusal(ctx, req, [])
    reply.fields.extend(screen(reasons))
    return reply


def _reply(ctx: Context, req: Request, view: dict, text: str) -> Reply:
    ready = view["state"] == "ready"
    fields: list[tuple[str, str | None]] = [
        ("BW", due_text(view["pickup_by"]) if ready else None),
        ("BR", str(view["position"]) if view.get("position") else None),
        ("BS", view["library_code"]), ("AO", ctx.library_code),
        ("AA", field_value(req, "AA")), ("AB", field_value(req, "AB")),
        ("AJ", view["title"] or ""), ("AF", text),
    ]
    return Reply("16", {"ok": "1", "available": "Y" if ready else "N",
                        "transaction_date": ctx.now()}, fields)


def hold(ctx: Context, req: Request) -> Reply:
    patron, item = field_value(req, "AA"), field_value(req, "AB")
    if not patron or not item:
        return _failed(ctx, req, [MISSING_PATRON if not patron else MISSING_ITEM])
    mode = req.fixed.get("hold_mode", "")
    if mode not in ("+", "-"):
        return refusal(ctx, req, [NOT_SUPPORTED])
    refused = password_refused(ctx, patron, req)
    if refused:
        return _failed(ctx, req, refused)
    try:
        if mode == "-":
            view = ctx.backend.cancel_hold(ctx.actor, patron, item)
            log.info("sip2 %s: hold cancelled %s %s by %s", ctx.session.peer, mask(patron),
                     item[:40], ctx.login)
            return _reply(ctx, req, view, CANCELLED)
        view = ctx.backend.place_hold(ctx.actor, patron, item)
    except DomainError as exc:
        reasons = reasons_of(exc)
        log.info("sip2 %s: hold %s refused %s %s by %s: %s", ctx.session.peer, mode,
                 mask(patron), item[:40], ctx.login, codes_of(reasons))
        return _failed(ctx, req, reasons)
    log.info("sip2 %s: hold placed %s %s by %s", ctx.session.peer, mask(patron), item[:40],
             ctx.login)
    text = (READY.format(pickup_by=view["pickup_by"]) if view["state"] == "ready"
            else PLACED.format(position=view["position"]))
    return _reply(ctx, req, view, text)
