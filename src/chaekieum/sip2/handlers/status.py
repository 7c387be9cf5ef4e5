"""93 login, 99 SC status, 35 end patron session, 37 fee paid."""

from __future__ import annotations

import logging

from ..codec import Request, supported_messages, yn
from .common import LOGIN_REQUIRED, Context, Reply, field_value

log = logging.getLogger("chaekieum.sip2")

SUPPORTED = ("93", "99", "23", "63", "11", "09", "29", "65", "17", "35", "37", "01", "97",
             "15")
FAILED_LOGIN_DELAY = 1.0  # seconds; slows down password guessing, never blocks others
NO_FEES = "책이음은 연체료 대신 대출정지를 적용합니다. 납부할 요금이 없습니다."


def login(ctx: Context, req: Request) -> Reply:
    user = field_value(req, "CN")
    password = req.get("CO") or ""
    terminal = ctx.session.shared.verify_terminal(
        user, password, ctx.session.peer) if user and password else None
    if terminal is None:
        log.warning("sip2 %s: login failed for %r", ctx.session.peer, user[:60])
        return Reply("94", {"ok": "0"}, delay=FAILED_LOGIN_DELAY)
    ctx.session.login(terminal, field_value(req, "CP"))
    log.info("sip2 %s: %s logged in (library %s, %s, CP=%r)", ctx.session.peer,
             terminal.login, terminal.library_code, terminal.encoding,
             ctx.session.location[:40])
    return Reply("94", {"ok": "1"})


def acs_status(ctx: Context, *, online: bool = True, extra: list | None = None) -> Reply:
    circulating = False
    name = ""
    if online and ctx.library_code:
        info = ctx.backend.library(ctx.library_code)
        if info is not None:
            circulating, name = info.circulating, info.name
    fields: list[tuple[str, str | None]] = [
        ("AO", ctx.library_code), ("AM", name or None),
        ("BX", supported_messages(SUPPORTED)), ("AN", ctx.session.location or None),
    ]
    if online and ctx.library_code and not circulating:
        fields.append(("AF", "아직 서비스를 개시하지 않은 도서관입니다."))
    fields.extend(extra or [])
    return Reply("98", {
        "online_status": yn(online), "checkin_ok": yn(circulating),
        "checkout_ok": yn(circulating), "acs_renewal_policy": yn(circulating),
        "status_update_ok": "N", "offline_ok": "Y", "timeout_period": "050",
        "retries_allowed": "003", "date_time_sync": ctx.now(), "protocol_version": "2.00",
    }, fields)


def sc_status(ctx: Context, req: Request) -> Reply:
    if ctx.session.terminal is None:
        # Answered before login (some kiosks poll 99 first), but no library acts yet.
        return acs_status(ctx, online=False, extra=[("AF", LOGIN_REQUIRED)])
    return acs_status(ctx)


def end_patron_session(ctx: Context, req: Request) -> Reply:
    return Reply("36", {"end_session": "Y", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA"))])


def fee_paid(ctx: Context, req: Request) -> Reply:
    # 책이음 members owe no fines: late returns earn a loan suspension instead.
    return Reply("38", {"payment_accepted": "N", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")),
                  ("BK", field_value(req, "BK") or None), ("AF", NO_FEES)])
