"""What every SIP2 handler shares: the request context, the reply value, screen messages.

Handlers are synchronous (they call the synchronous backend) and run in the
server's worker threads, one request at a time per connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from ...domain.actors import SEOUL, Actor
from ...domain.errors import Code, DomainError, Reason
from ...domain.numbering import mask_member_number
from ..codec import Request, patron_status_flags, sip_datetime
from ..messages import LANGUAGE_UNKNOWN, MessageSpec

if TYPE_CHECKING:
    from ..backend import Backend
    from ..session import Session

LOGIN_REQUIRED = "단말기 로그인(93)이 먼저 필요합니다. (login required)"
NOT_SUPPORTED = "이 기능은 지원하지 않습니다. (not supported)"
ALL_DENIED = patron_status_flags(charge_denied=True, renew_denied=True, recall_denied=True,
                                 hold_denied=True)
MISSING_PATRON = Reason(Code.INVALID_MEMBER_NUMBER, {"problem": "AA missing"})


@dataclass
class Reply:
    """A response before encoding: the session adds AY/AZ, encoding and terminator."""

    code: str
    fixed: dict[str, str]
    fields: list[tuple[str, str | None]] = field(default_factory=list)
    table: Mapping[str, MessageSpec] | None = None
    delay: float = 0.0  # seconds to wait before sending (failed logins)
    close: bool = False  # close the connection after sending


@dataclass
class Context:
    backend: Backend
    session: Session

    @property
    def library_code(self) -> str:
        terminal = self.session.terminal
        return terminal.library_code if terminal else ""

    @property
    def actor(self) -> Actor:
        return self.session.actor()

    @property
    def login(self) -> str:
        terminal = self.session.terminal
        return terminal.login if terminal else "-"

    def now(self) -> str:
        """The transaction date of a response, in Seoul local time (backend clock)."""
        return sip_datetime(self.backend.now().replace(tzinfo=UTC), SEOUL)

    def today(self) -> date:
        return self.backend.today()

    def library_name(self, code: str) -> str:
        info = self.backend.library(code)
        return info.name if info else ""


# --- screen messages (AF) ----------------------------------------------------------------


def reason_text(reason: Reason) -> str:
    """The Korean message of a refusal reason, with the detail a patron needs."""
    text = reason.message
    d = reason.details or {}
    if reason.code == Code.MEMBER_SUSPENDED and d.get("until"):
        text += f" ({d['until']}까지)"
    elif reason.code in (Code.SHARED_LIMIT_REACHED, Code.LIBRARY_LIMIT_REACHED,
                         Code.CLASS_LIMIT_REACHED) and "limit" in d:
        text += f" (한도 {d['limit']}권, 대출 중 {d.get('on_loan', '?')}권)"
    elif reason.code == Code.MEMBER_HAS_OVERDUE and d.get("overdue"):
        text += f" ({d['overdue']}권)"
    elif reason.code in (Code.RENEW_NOT_OWN_LIBRARY, Code.COPY_NOT_HERE) and d.get("owner"):
        text += f" (소장 도서관 {d['owner']})"
    return text


def screen(reasons: Iterable[Reason]) -> list[tuple[str, str | None]]:
    return [("AF", reason_text(r)) for r in reasons]


def screen_texts(texts: Iterable[str]) -> list[tuple[str, str | None]]:
    return [("AF", t) for t in texts if t]


def reasons_of(exc: DomainError) -> tuple[Reason, ...]:
    return exc.reasons or (Reason(Code.INTERNAL_ERROR),)


def codes_of(reasons: Iterable[Reason | dict[str, Any]]) -> str:
    return ",".join(str(r["code"] if isinstance(r, dict) else r.code) for r in reasons)


# --- request helpers ---------------------------------------------------------------------


def field_value(req: Request, fid: str) -> str:
    return (req.get(fid) or "").strip()


def language(req: Request) -> str:
    lang = req.fixed.get("language", LANGUAGE_UNKNOWN)
    return lang if len(lang) == 3 and lang.isascii() and lang.isdigit() else LANGUAGE_UNKNOWN


def mask(ref: str | None) -> str:
    """A patron identifier for log lines: masked member number, or a hint of a card UID."""
    ref = (ref or "").strip()
    if not ref:
        return "-"
    if len(ref) == 14 and ref.isdigit():
        return mask_member_number(ref)
    return f"card:{hashlib.sha256(ref.encode()).hexdigest()[:8]}"


def password_refused(ctx: Context, patron: str, req: Request) -> list[Reason]:
    """Why a request carrying a patron password (AD) must be refused: the password is
    wrong, or the kiosk spent its budget of tries (throttled per kiosk, never against
    the member's portal sign-in, as for 63). Nothing when AD is empty or absent: 책이음
    cards are used without a PIN."""
    password = req.get("AD") or ""
    if not password:
        return []
    try:
        number = ctx.backend.patron_facts(ctx.actor, ctx.library_code, patron).number
        ok = ctx.backend.check_member_password(number, password, ctx.login)
    except DomainError as exc:
        return list(exc.reasons)
    return [] if ok else [Reason(Code.AUTH_INVALID)]


def institution_mismatch(ctx: Context, req: Request) -> str | None:
    """AO must be empty or the terminal's own library; anything else is refused.

    A kiosk always acts for the library its terminal account is bound to; a different
    AO is a misconfiguration we surface instead of silently ignoring."""
    ao = field_value(req, "AO")
    if ao and ao != ctx.library_code:
        return (f"이 단말기는 {ctx.library_code} 도서관 전용입니다 (요청 기관 {ao[:20]}). "
                f"(institution id mismatch)")
    return None


def client_txn_id(login: str, req: Request, item: str, patron: str = "") -> str | None:
    """An id for one kiosk transaction, so a resend after a reconnect is applied once:
    terminal login + the kiosk's transaction date + item + patron.  AY is left out on
    purpose: a kiosk resending after a reconnect may number its frames anew.  Without a
    transaction date nothing tells two transactions apart: no id.  A kiosk with a stuck
    clock gives a new transaction the id of an earlier one, so the hub takes the id to
    name a transaction only while it is the copy's latest (the requests say
    ``txn_id_recurs``): checkout -> checkin -> checkout at one kiosk time is two loans."""
    when = req.fixed.get("transaction_date", "")
    if not when.strip():
        return None
    key = "\x1f".join((login, req.code, when, item.strip(), patron.strip()))
    return "sip2:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def due_text(value: str | date | None) -> str:
    """AH: the due date as a SIP date at the end of the day (local time)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return ""
    return sip_datetime(datetime(value.year, value.month, value.day, 23, 59, 59))
