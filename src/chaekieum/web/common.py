"""What every page needs: templates, who is signed in, flash messages, error pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain.errors import Code, DomainError, message
from ..services import sessions
from ..services.context import SEOUL, Actor, Role
from ..services.hub import Hub
from ..services.statistics import Statistics
from .i18n import CATALOG, label, pick_lang, translate
from .security import CsrfFailed, Session

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

STATUS_FOR = {
    Code.FORBIDDEN: 403, Code.MEMBER_NOT_JOINED_HERE: 403, Code.MEMBER_OUT_OF_REGION: 403,
    Code.MEMBER_NOT_ISSUED_HERE: 403,
    Code.NOT_FOUND: 404, Code.MEMBER_UNKNOWN: 404,
    Code.LIBRARY_UNKNOWN: 404, Code.AUTH_REQUIRED: 401, Code.AUTH_INVALID: 401,
    Code.RATE_LIMITED: 429,
}


class LoginRequired(Exception):
    def __init__(self, kind: str = "staff"):
        self.kind = kind


class Forbidden(Exception):
    pass


# -- request helpers -------------------------------------------------------------------
def hub_of(request: Request) -> Hub:
    return request.app.state.hub


def stats_of(request: Request) -> Statistics:
    return request.app.state.stats


def session_of(request: Request) -> Session:
    return request.state.session


def signed_in(request: Request, kind: str) -> str | None:
    """The account of the browser's live server-side session of this kind, else None
    (never signed in, logged out, idle or too old, or ended by a password change or a
    disabled account: a replayed cookie finds no session)."""
    session = session_of(request)
    if session.get("kind") != kind:
        return None
    account = hub_of(request).sessions.resume(session.get("sid"), kind)
    if account is None:
        session.renew()  # drop the dead token from the cookie
    return account


def start_session(request: Request, kind: str, account: str) -> None:
    """Sign this browser in: a new cookie identity (no fixation) and a server session."""
    session = session_of(request)
    session.renew()
    session["kind"] = kind
    session["sid"] = hub_of(request).sessions.start(kind, account)


def staff(request: Request) -> Actor:
    """The signed-in staff member (any staff role), rebuilt from the account each time;
    actions are recorded with channel "console" or "desk" by where they were made. A
    vendor's account gets the 403 page: it reaches only the pages that take
    `console_user` (the onboarding of its libraries, its password)."""
    actor = console_user(request)
    if actor.role == Role.VENDOR:
        raise Forbidden()
    return actor


def console_user(request: Request) -> Actor:
    """The signed-in console account: staff, or a vendor's staff (사업자). Only the
    onboarding pages and the password page take it; the services decide the rest
    (services/onboarding_access.py)."""
    username = signed_in(request, sessions.STAFF)
    if not username:
        raise LoginRequired("staff")
    channel = "console" if request.url.path.startswith("/console") else "desk"
    actor = hub_of(request).credentials.staff_actor(username, channel)
    if actor is None:  # account disabled or removed since sign-in
        session_of(request).renew()
        raise LoginRequired("staff")
    request.state.actor = actor
    if actor.role == Role.VENDOR:  # the header names the company
        request.state.vendor_name = hub_of(request).vendors.get(actor, actor.vendor)["name"]
    return actor


def librarian(request: Request) -> Actor:
    actor = staff(request)
    if actor.role != Role.LIBRARIAN or not actor.library_code:
        raise Forbidden()
    return actor


def member_actor(number: str, library_code: str | None = None) -> Actor:
    return Actor(Role.MEMBER, f"member:{number}", "portal", library_code=library_code)


def member(request: Request) -> str:
    number = signed_in(request, sessions.MEMBER)
    if not number:
        raise LoginRequired("member")
    request.state.member_number = number
    return number


async def form_data(request: Request) -> Any:
    """The posted form (already parsed by the CSRF guard), so handlers can stay sync."""
    return await request.form()


# -- flash messages ----------------------------------------------------------------------
def flash(request: Request, kind: str, key: str, text: str = "",
          reasons: list[dict[str, Any]] | None = None) -> None:
    session = session_of(request)
    items = list(session.get("flash", []))[-5:]
    items.append({"kind": kind, "key": key, "text": text[:300], "reasons": reasons or []})
    session["flash"] = items


def reasons_of(err: DomainError) -> list[dict[str, Any]]:
    return [{"code": str(r.code), "details": _short(r.details)} for r in err.reasons]


def _short(details: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, int | float | bool) else str(v)[:80])
            for k, v in list(details.items())[:6]}


def flash_error(request: Request, err: DomainError, key: str = "common.refused") -> None:
    flash(request, "error", key, reasons=reasons_of(err))


@contextmanager
def flash_refusal(request: Request) -> Iterator[None]:
    """A refusal raised inside becomes an error flash; the handler carries on."""
    try:
        yield
    except DomainError as err:
        flash_error(request, err)


def toggle_staff(request: Request, actor: Actor, username: str, action: str,
                 listed: list[dict[str, Any]], back: str) -> RedirectResponse:
    """Disable (which ends the account's sessions at once) or re-enable one of the staff
    accounts `listed` for this page; anything else is refused before the services are asked."""
    if action not in ("disable", "enable") or username not in {s["username"] for s in listed}:
        raise Forbidden()
    with flash_refusal(request):
        hub_of(request).credentials.set_staff_disabled(actor, username, action == "disable")
        flash(request, "ok", "common.done", username)
    return redirect(back)


def reason_message(code: str, lang: str) -> str:
    try:
        return message(Code(code), lang)
    except ValueError:
        return code


# -- rendering ---------------------------------------------------------------------------
def local_time(value: str | None, with_time: bool = True) -> str:
    """ISO UTC ('...Z') -> Seoul local 'YYYY-MM-DD HH:MM'."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.removesuffix("Z")).replace(tzinfo=UTC)
    except ValueError:
        return value
    local = moment.astimezone(SEOUL)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


templates.env.filters["local"] = local_time
templates.env.filters["localdate"] = lambda v: local_time(v, False)


def region_name(request: Request, code: str | None) -> str:
    """A region's name in the page's language (read once per request), never its code
    unless the region is unknown."""
    names = getattr(request.state, "region_names", None)
    if names is None:
        names = {r["code"]: (r["name"], r["name_en"] or r["name"])
                 for r in hub_of(request).network.regions()}
        request.state.region_names = names
    pair = names.get(code or "")
    if pair is None:
        return code or ""
    return pair[1] if pick_lang(request) == "en" else pair[0]


def policy_value(value: Any, lang: str) -> str:
    """A policy setting's value for people: 예/아니오, labelled modes, plain numbers."""
    if isinstance(value, bool):
        return label("bool", value, lang)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return label("policy_value", value, lang)


DETAIL_VALUE_KINDS = ("stage", "status", "transit", "route")


def audit_details(details: dict[str, Any] | None, lang: str,
                  region: Callable[[str], str]) -> str:
    """An audit row's details for people: labelled keys, 예/아니오, labelled codes,
    region names (`region` resolves a code)."""
    def value(v: Any, key: str = "") -> str:
        if key in ("region", "scope") and isinstance(v, str):
            return region(v)
        if key in ("role", "class"):
            return label(key, v, lang)
        if isinstance(v, bool):
            return label("bool", v, lang)
        if isinstance(v, list):
            return ", ".join(value(x) for x in v) or "-"
        for kind in DETAIL_VALUE_KINDS:
            if f"{kind}.{v}" in CATALOG:
                return label(kind, v, lang)
        return str(v)

    return ", ".join(f"{label('detail', k, lang)}: {value(v, k)}"
                     for k, v in (details or {}).items())


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status: int = 200) -> HTMLResponse:
    lang = pick_lang(request)
    session = session_of(request)
    flashes = session.pop("flash", []) if "flash" in session else []
    ctx = {
        "lang": lang,
        "t": lambda key: translate(key, lang),
        "label": lambda kind, code: label(kind, code, lang),
        "region_name": lambda code: region_name(request, code),
        "policy_value": lambda value: policy_value(value, lang),
        "details": lambda d: audit_details(d, lang, lambda code: region_name(request, code)),
        "reason_message": lambda code: reason_message(code, lang),
        "csrf": session.csrf,
        "actor": getattr(request.state, "actor", None),
        "member_number": getattr(request.state, "member_number", None),
        "vendor_name": getattr(request.state, "vendor_name", ""),
        "flashes": flashes,
        "path": request.url.path,
        "query": quote(request.url.query or "", safe="=&"),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def unconfirmed(request: Request, form: Any, message_key: str, back: str) -> Response | None:
    """The confirmation step of an irreversible action: None once the form carries
    confirm=yes, else a page asking for it (app.js asks in a dialog first, so this page
    is what a browser without scripts sees)."""
    if form.get("confirm") == "yes":
        return None
    fields = [(k, v) for k, v in form.multi_items()
              if k not in ("csrf", "confirm") and isinstance(v, str)][:200]
    return render(request, "confirm.html", {"message_key": message_key, "fields": fields,
                                            "action": request.url.path, "back": back})


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- error pages -------------------------------------------------------------------------
def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = "/my/login" if exc.kind == "member" else "/login"
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method == "GET":
            return redirect(f"{target}?next={quote(here)}")
        return redirect(target)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", {"message_key": "common.forbidden"}, 403)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        return render(request, "error.html", {"message_key": "common.csrf"}, 403)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        status = STATUS_FOR.get(exc.code, 422)
        return render(request, "error.html",
                      {"message_key": "common.refused", "reasons": reasons_of(exc)}, status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": "NOT_FOUND", "message": "Not found."}},
                                status_code=exc.status_code)
        key = "common.not_found" if exc.status_code == 404 else "common.error"
        return render(request, "error.html", {"message_key": key}, exc.status_code)
