"""SIP2 message handlers: one function per request, dispatched from one table.

``handle`` is called by the session (in a worker thread) with a decoded, logged-in,
checksum-verified request; it returns a ``Reply`` that the session encodes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ... import metrics
from ...domain.errors import Code, DomainError, message
from ..codec import Request
from . import holds, items, patron, status
from .common import LOGIN_REQUIRED, Context, Reply, institution_mismatch, reason_text
from .refusal import refusal, unsupported

log = logging.getLogger("chaekieum.sip2")

Handler = Callable[[Context, Request], Reply]

DISPATCH: dict[str, Handler] = {
    "93": status.login,
    "99": status.sc_status,
    "23": patron.patron_status,
    "63": patron.patron_information,
    "01": patron.block_patron,
    "11": items.checkout,
    "09": items.checkin,
    "29": items.renew,
    "65": items.renew_all,
    "17": items.item_information,
    "35": status.end_patron_session,
    "37": status.fee_paid,
    "15": holds.hold,
}

# Requests answered before a terminal has logged in (93, and 99 which some kiosks poll
# first); 97/96 are resends and never reach the handlers.
BEFORE_LOGIN = frozenset({"93", "99"})
# Requests that change state: their stored response is replayed for a duplicate AY+AZ.
MUTATING = frozenset({"11", "09", "29", "65", "01", "37", "15"})


def handle(ctx: Context, req: Request) -> Reply:
    terminal = ctx.session.terminal
    if terminal is not None and ctx.backend.terminal_revoked(terminal.login):
        log.warning("sip2 %s: terminal %s was revoked; session ended", ctx.session.peer,
                    terminal.login)
        ctx.session.terminal = None
        ctx.session.shared.forget_logins()
    if ctx.session.terminal is None and req.code not in BEFORE_LOGIN:
        return refusal(ctx, req, [LOGIN_REQUIRED])
    if req.code not in BEFORE_LOGIN:
        mismatch = institution_mismatch(ctx, req)
        if mismatch:
            log.warning("sip2 %s: %s sent %s with AO %r; refused", ctx.session.peer, ctx.login,
                        req.code, (req.get("AO") or "")[:20])
            return refusal(ctx, req, [mismatch])
    try:
        return DISPATCH[req.code](ctx, req)
    except DomainError as exc:  # a refusal no handler expected (e.g. LIBRARY_NOT_LIVE)
        metrics.refused(exc.code, "sip2")
        log.info("sip2 %s: %s %s refused: %s", ctx.session.peer, ctx.login, req.code, exc)
        return refusal(ctx, req, [reason_text(r) for r in exc.reasons])
    except Exception:  # the hub is unavailable or a bug: answer, log, keep serving
        log.exception("sip2 %s: %s %s failed", ctx.session.peer, ctx.login, req.code)
        return refusal(ctx, req, [message(Code.SERVICE_UNAVAILABLE)])


__all__ = ["DISPATCH", "MUTATING", "Context", "Reply", "handle", "refusal", "unsupported"]
