"""11 checkout, 09 checkin, 29 renew, 65 renew all, 17 item information."""

from __future__ import annotations

import logging
from datetime import datetime

from ...domain.actors import SEOUL
from ...domain.errors import Code, DomainError, Reason
from ...domain.transactions import CheckinRequest, CheckoutRequest, Outcome
from ..codec import Request, count, parse_sip_datetime, yn
from . import facts
from .common import (
    MISSING_PATRON,
    Context,
    Reply,
    client_txn_id,
    codes_of,
    due_text,
    field_value,
    mask,
    password_refused,
    reason_text,
    reasons_of,
    screen,
    screen_texts,
)
from .refusal import refusal

log = logging.getLogger("chaekieum.sip2")

AUTO_JOINED = "책이음 회원으로 이 도서관에 자동 가입되었습니다."
OFFLINE_EXCEPTION = "오프라인 처리 내역이 기록되었으며 규칙 위반으로 확인이 필요합니다: "
MISSING_ITEM = Reason(Code.INVALID_BARCODE, {"problem": "AB missing"})
HOLD_SHELF = "예약 도서: 예약자 보관 서가로 ({pickup_by}까지 보관)"


def _hold_fields(held: dict | None) -> tuple[list[tuple[str, str | None]], list[str]]:
    """A copy set aside for a reserver: alert the sorter/librarian (3M alert type 02,
    hold for this library) and name the holds shelf; the patron is masked."""
    if not held:
        return [], []
    return ([("CV", "02"), ("CY", held["member_number_masked"])],
            [HOLD_SHELF.format(pickup_by=held["pickup_by"])])


def media(item: facts.ItemFacts | None) -> str:
    """Magnetic media: N for a copy we know (books), U (unknown) for one we do not."""
    return "N" if item is not None else "U"


def _sip_time(value: str | None) -> datetime | None:
    return parse_sip_datetime(value, SEOUL)


def _offline(req: Request) -> bool:
    return req.fixed.get("no_block") == "Y"


def _outcome_texts(outcome: Outcome) -> list[str]:
    texts = []
    if outcome.extra.get("auto_joined"):
        texts.append(AUTO_JOINED)
    texts.extend(w.get("message", "") for w in outcome.warnings)
    if outcome.exceptions:
        texts.append(OFFLINE_EXCEPTION + ", ".join(e["message"] for e in outcome.exceptions))
    return texts


def _loan_reply(ctx: Context, code: str, req: Request, outcome: Outcome, renewal: bool) -> Reply:
    loan = outcome.loan or {}
    return Reply(code, {"ok": "1", "renewal_ok": yn(renewal), "magnetic_media": "N",
                        "desensitize": "Y", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")),
                  ("AB", field_value(req, "AB")), ("AJ", loan.get("title") or ""),
                  ("AH", due_text(loan.get("due_on"))), *screen_texts(_outcome_texts(outcome))])


def _failed_item_reply(ctx: Context, code: str, req: Request, reasons) -> Reply:  # noqa: ANN001
    """Trap 10: a refused 12/30 still carries the title and (if lent) the due date."""
    item = facts.item(ctx, field_value(req, "AB")) if field_value(req, "AB") else None
    return Reply(code, {"ok": "0", "renewal_ok": "N", "magnetic_media": media(item),
                        "desensitize": "N", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")),
                  ("AB", field_value(req, "AB")), ("AJ", item.title if item else ""),
                  ("AH", due_text(item.due_on) if item else ""), *screen(reasons)])


def checkout(ctx: Context, req: Request) -> Reply:
    patron, item = field_value(req, "AA"), field_value(req, "AB")
    if not patron or not item:
        return _failed_item_reply(ctx, "12", req, [MISSING_PATRON if not patron else MISSING_ITEM])
    offline = _offline(req)
    due = _sip_time(req.fixed.get("nb_due_date")) if offline else None
    request = CheckoutRequest(
        member=patron, item=item,
        client_txn_id=client_txn_id(ctx.login, req, item, patron),
        occurred_at=_sip_time(req.fixed.get("transaction_date")) if offline else None,
        offline=offline, due_on=due.date() if due else None, txn_id_recurs=True,
    )
    try:
        outcome = ctx.backend.checkout(ctx.actor, request)
    except DomainError as exc:
        reasons = reasons_of(exc)
        log.info("sip2 %s: checkout refused %s %s by %s: %s", ctx.session.peer, mask(patron),
                 item[:40], ctx.login, codes_of(reasons))
        return _failed_item_reply(ctx, "12", req, reasons)
    renewal = outcome.action == "renew"
    _log_outcome(ctx, "checkout" if not renewal else "checkout-renewal", patron, item, outcome)
    return _loan_reply(ctx, "12", req, outcome, renewal)


def _log_outcome(ctx: Context, what: str, patron: str, item: str, outcome: Outcome) -> None:
    level = logging.WARNING if outcome.exceptions else logging.INFO
    log.log(level, "sip2 %s: %s %s %s by %s%s%s", ctx.session.peer, what, mask(patron),
            item[:40], ctx.login, " (replayed)" if outcome.replayed else "",
            f" offline exceptions for follow-up: {codes_of(outcome.exceptions)}"
            if outcome.exceptions else "")


def checkin(ctx: Context, req: Request) -> Reply:
    item = field_value(req, "AB")
    if not item:
        return _checkin_refused(ctx, req, None, [MISSING_ITEM])
    offline = _offline(req)
    occurred = None
    if offline:
        occurred = (_sip_time(req.fixed.get("return_date"))
                    or _sip_time(req.fixed.get("transaction_date")))
    request = CheckinRequest(item=item, client_txn_id=client_txn_id(ctx.login, req, item),
                             occurred_at=occurred, offline=offline, txn_id_recurs=True)
    try:
        outcome = ctx.backend.checkin(ctx.actor, request)
    except DomainError as exc:
        reasons = reasons_of(exc)
        log.info("sip2 %s: checkin refused %s by %s: %s", ctx.session.peer, item[:40],
                 ctx.login, codes_of(reasons))
        return _checkin_refused(ctx, req, facts.item(ctx, item), reasons)
    _log_outcome(ctx, "checkin", (outcome.loan or {}).get("member_number", ""), item, outcome)
    lib = ctx.library_code
    if outcome.action == "transit_arrived":
        transit = outcome.extra.get("transit") or {}
        hold_fields, hold_texts = _hold_fields(transit.get("reservation"))
        return Reply("10", {"ok": "1", "resensitize": "Y", "magnetic_media": "N",
                            "alert": yn(bool(hold_fields)), "transaction_date": ctx.now()},
                     [("AO", lib), ("AB", item), ("AQ", lib), ("AJ", transit.get("title") or ""),
                      *hold_fields,
                      *screen_texts(["타관반납 자료가 소장 도서관에 도착(복귀) 처리되었습니다.",
                                     *hold_texts])])
    loan = outcome.loan or {}
    home = outcome.extra.get("home_library") or loan.get("owner_library") or lib
    texts = _outcome_texts(outcome)
    fields: list[tuple[str, str | None]] = [
        ("AO", lib), ("AB", item), ("AQ", home), ("AJ", loan.get("title") or ""),
        ("AA", loan.get("member_number")),
    ]
    transit = outcome.extra.get("route") == "transit"
    if transit:
        name = outcome.extra.get("home_library_name") or home
        fields += [("CT", home), ("CV", "04")]  # 3M alert type 04: send to other library
        texts.insert(0, f"타관반납: 소장 도서관 {name}({home})(으)로 보낼 자료입니다.")
    hold_fields, hold_texts = _hold_fields(outcome.extra.get("reservation"))
    fields += hold_fields
    texts[:0] = hold_texts
    suspension = outcome.extra.get("suspension")
    if suspension:
        texts.append(f"연체 반납({suspension['days_late']}일)으로 "
                     f"{suspension['until']}까지 대출이 정지됩니다.")
    fields += screen_texts(texts)
    return Reply("10", {"ok": "1", "resensitize": "Y", "magnetic_media": "N",
                        "alert": yn(transit or bool(hold_fields)),
                        "transaction_date": ctx.now()}, fields)


def _checkin_refused(ctx: Context, req: Request, item: facts.ItemFacts | None,
                     reasons) -> Reply:  # noqa: ANN001
    return Reply("10", {"ok": "0", "resensitize": "N", "magnetic_media": media(item),
                        "alert": "N",
                        "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AB", field_value(req, "AB")),
                  ("AQ", item.owner if item else ""), ("AJ", item.title if item else ""),
                  *screen(reasons)])


def renew(ctx: Context, req: Request) -> Reply:
    patron, item = field_value(req, "AA"), field_value(req, "AB")
    if not item:
        return _failed_item_reply(ctx, "30", req, [MISSING_ITEM])
    offline = _offline(req)
    due = _sip_time(req.fixed.get("nb_due_date")) if offline else None
    try:
        outcome = ctx.backend.renew(ctx.actor, item, patron or None, offline=offline,
                                            due_on=due.date() if due else None)
    except DomainError as exc:
        reasons = reasons_of(exc)
        log.info("sip2 %s: renew refused %s %s by %s: %s", ctx.session.peer, mask(patron),
                 item[:40], ctx.login, codes_of(reasons))
        return _failed_item_reply(ctx, "30", req, reasons)
    _log_outcome(ctx, "renew", patron, item, outcome)
    return _loan_reply(ctx, "30", req, outcome, True)


def renew_all(ctx: Context, req: Request) -> Reply:
    patron = field_value(req, "AA")
    if not patron:
        return refusal(ctx, req, [reason_text(MISSING_PATRON)])
    try:
        loans = ctx.backend.member_loans(ctx.actor, patron)
    except DomainError as exc:
        return refusal(ctx, req, [reason_text(r) for r in reasons_of(exc)])
    refused = password_refused(ctx, patron, req)
    if refused:
        log.info("sip2 %s: renew all %s by %s refused: %s", ctx.session.peer, mask(patron),
                 ctx.login, codes_of(refused))
        return refusal(ctx, req, [reason_text(r) for r in refused])
    renewed, unrenewed, texts = [], [], []
    for loan in loans:
        try:
            ctx.backend.renew(ctx.actor, loan["item"], patron)
            renewed.append(loan["item"])
        except DomainError as exc:
            unrenewed.append(loan["item"])
            for r in reasons_of(exc):
                text = reason_text(r)
                if text not in texts:
                    texts.append(text)
    log.info("sip2 %s: renew all %s by %s: %d renewed, %d not", ctx.session.peer,
             mask(patron), ctx.login, len(renewed), len(unrenewed))
    fields: list[tuple[str, str | None]] = [("AO", ctx.library_code)]
    fields += [("BM", i) for i in renewed] + [("BN", i) for i in unrenewed]
    fields += screen_texts(texts)
    return Reply("66", {"ok": "1", "renewed_count": count(len(renewed)),
                        "unrenewed_count": count(len(unrenewed)),
                        "transaction_date": ctx.now()}, fields)


def item_information(ctx: Context, req: Request) -> Reply:
    scanned = field_value(req, "AB")
    info = facts.item(ctx, scanned) if scanned else None
    fixed = {"security_marker": "00", "fee_type": "01", "transaction_date": ctx.now()}
    if info is None:  # trap 10: an unknown item still gets a valid 18
        return Reply("18", {"circulation_status": "01", **fixed},
                     [("AB", scanned), ("AJ", ""), ("AF", Reason(Code.COPY_UNKNOWN).message)])
    fields: list[tuple[str, str | None]] = [
        ("AB", scanned), ("AJ", info.title), ("AQ", info.owner),
        ("AH", due_text(info.due_on) if info.due_on else None),
        ("AP", info.transit_from or info.loan_library or info.owner),
        ("CF", str(info.queue_length) if info.queue_length else None),
    ]
    if info.transit_state is not None:
        fields.append(("CT", info.transit_to))
        fields.append(("AF", f"소장 도서관 {ctx.library_name(info.transit_to or '')}"
                             f"({info.transit_to})(으)로 이동 중인 자료입니다."))
    elif not info.loanable:
        fields.append(("AF", Reason(Code.COPY_NOT_LOANABLE).message))
    return Reply("18", {"circulation_status": info.circulation_status, **fixed}, fields)
