"""A valid "not done" response for any request: before login, on an institution
mismatch, when the hub is unavailable, or for standard messages we do not serve.

Each carries the fields the 3M guide marks as required (trap 10), so even a refusal is
something every kiosk can parse and show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..codec import Request
from ..messages import LANGUAGE_UNKNOWN, RESPONSE_FOR, UNSUPPORTED_RESPONSES
from .common import ALL_DENIED, NOT_SUPPORTED, Context, Reply, field_value, language
from .status import acs_status  # the one place 98 is built


def _af(texts: Iterable[str]) -> list[tuple[str, str | None]]:
    return [("AF", t) for t in texts]


def _94(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("94", {"ok": "0"})


def _98(ctx: Context, req: Request, af: list) -> Reply:
    return acs_status(ctx, online=False, extra=af)


def _24(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("24", {"patron_status": ALL_DENIED, "language": language(req),
                        "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")), ("AE", ""),
                  ("BL", "N"), *af])


def _64(ctx: Context, req: Request, af: list) -> Reply:
    fixed = {"patron_status": ALL_DENIED, "language": language(req),
             "transaction_date": ctx.now()}
    for name in ("hold_items_count", "overdue_items_count", "charged_items_count",
                 "fine_items_count", "recall_items_count", "unavailable_holds_count"):
        fixed[name] = "0000"
    return Reply("64", fixed, [("AO", ctx.library_code), ("AA", field_value(req, "AA")),
                               ("AE", ""), ("BL", "N"), *af])


def _item(code: str) -> Callable[[Context, Request, list], Reply]:
    def build(ctx: Context, req: Request, af: list) -> Reply:
        return Reply(code, {"ok": "0", "renewal_ok": "N", "magnetic_media": "U",
                            "desensitize": "N", "transaction_date": ctx.now()},
                     [("AO", ctx.library_code), ("AA", field_value(req, "AA")),
                      ("AB", field_value(req, "AB")), ("AJ", ""), ("AH", ""), *af])
    return build


def _10(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("10", {"ok": "0", "resensitize": "N", "magnetic_media": "U", "alert": "N",
                        "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AB", field_value(req, "AB")), ("AQ", ""), *af])


def _66(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("66", {"ok": "0", "renewed_count": "0000", "unrenewed_count": "0000",
                        "transaction_date": ctx.now()}, [("AO", ctx.library_code), *af])


def _18(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("18", {"circulation_status": "01", "security_marker": "00", "fee_type": "01",
                        "transaction_date": ctx.now()},
                 [("AB", field_value(req, "AB")), ("AJ", ""), *af])


def _36(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("36", {"end_session": "N", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")), *af])


def _38(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("38", {"payment_accepted": "N", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")), *af])


def _16(ctx: Context, req: Request, af: list) -> Reply:
    return Reply("16", {"ok": "0", "available": "N", "transaction_date": ctx.now()},
                 [("AO", ctx.library_code), ("AA", field_value(req, "AA")),
                  ("AB", field_value(req, "AB")), *af])


_BUILDERS: dict[str, Callable[[Context, Request, list], Reply]] = {
    "94": _94, "98": _98, "24": _24, "64": _64, "12": _item("12"), "30": _item("30"),
    "10": _10, "66": _66, "18": _18, "36": _36, "38": _38, "16": _16,
}


def refusal(ctx: Context, req: Request, texts: Iterable[str]) -> Reply:
    """The response type that answers ``req``, saying "not done" with ``texts`` in AF."""
    return _BUILDERS[RESPONSE_FOR[req.code]](ctx, req, _af(texts))


def unsupported(ctx: Context, reply_code: str) -> Reply:
    """Answer a standard request we do not serve (19 item status update, 25 patron
    enable) with its own response type."""
    date = ctx.now()
    if reply_code == "20":
        fixed = {"item_properties_ok": "0", "transaction_date": date}
        fields = [("AB", ""), ("AF", NOT_SUPPORTED)]
    else:
        fixed = {"patron_status": ALL_DENIED, "language": LANGUAGE_UNKNOWN,
                 "transaction_date": date}
        fields = [("AO", ctx.library_code), ("AA", ""), ("AE", ""), ("BL", "N"),
                  ("AF", NOT_SUPPORTED)]
    return Reply(reply_code, fixed, fields, table=UNSUPPORTED_RESPONSES)
