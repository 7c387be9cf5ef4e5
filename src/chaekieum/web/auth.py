"""Sign-in and sign-out for staff (console, desk) and members (내 서재)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import Code, DomainError
from ..services import sessions
from ..services.context import Actor, Role
from .common import (
    console_user,
    flash,
    flash_error,
    form_data,
    hub_of,
    redirect,
    render,
    session_of,
    signed_in,
    start_session,
)
from .security import client_ip, safe_next

router = APIRouter()


def home_for(role: str) -> str:
    """A librarian's desk; a vendor's to-do list and its libraries' board; the console."""
    return {Role.LIBRARIAN: "/desk", Role.VENDOR: "/console/onboarding"}.get(role, "/console")


@router.get("/")
def index(request: Request) -> Response:
    username = signed_in(request, sessions.STAFF)
    if username:
        actor = hub_of(request).credentials.staff_actor(username)
        if actor is not None:
            return redirect(home_for(actor.role))
    if signed_in(request, sessions.MEMBER):
        return redirect("/my")
    return redirect("/login")


def _limited(request: Request) -> Response | None:
    if request.app.state.login_limiter.allow(client_ip(request)):
        return None
    return _rate_limited(request)


def _rate_limited(request: Request) -> Response:
    return render(request, "error.html", {"message_key": "common.rate_limited"}, 429)


@router.get("/login")
def staff_login_form(request: Request, next: str = "") -> Response:
    return render(request, "login.html", {"next": safe_next(next, "")})


@router.post("/login")
def staff_login(request: Request, form: Any = Depends(form_data)) -> Response:
    username = str(form.get("username", "")).strip()[:60]
    password = str(form.get("password", ""))[:200]
    target = str(form.get("next", ""))
    limited = _limited(request)
    if limited:
        return limited
    hub = hub_of(request)
    try:
        actor = hub.credentials.staff_login(username, password, client_ip(request))
    except DomainError as err:
        # one answer for a wrong password, an unknown and a disabled account
        if err.code == Code.RATE_LIMITED:
            return _rate_limited(request)
        flash_error(request, DomainError(Code.AUTH_INVALID))
        return render(request, "login.html", {"next": safe_next(target, ""),
                                              "username": username}, 401)
    start_session(request, sessions.STAFF, username)
    return redirect(safe_next(target, home_for(actor.role)))


@router.post("/logout")
def logout(request: Request) -> Response:
    """Ends the server-side session: the cookie, even if copied or replayed, is dead.
    The browser also drops what the member app kept for offline use (its caches and
    service worker: Clear-Site-Data), so the next person on the device sees nothing."""
    session = session_of(request)
    member = session.get("kind") == sessions.MEMBER
    hub_of(request).sessions.end(session.get("sid"))
    session.renew()
    response = redirect("/my/login" if member else "/login")
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@router.get("/password")
def staff_password_form(request: Request, actor: Actor = Depends(console_user)) -> Response:
    return render(request, "password.html", {"action": "/password"})


@router.post("/password")
def staff_change_password(request: Request, actor: Actor = Depends(console_user),
                          form: Any = Depends(form_data)) -> Response:
    """Every session of the account ends (other browsers too); this one starts anew."""
    new = str(form.get("new", ""))[:200]
    if new != str(form.get("repeat", ""))[:200]:
        flash(request, "error", "portal.password_mismatch")
        return render(request, "password.html", {"action": "/password"}, status=422)
    try:
        hub_of(request).credentials.change_staff_password(
            actor, str(form.get("current", ""))[:200], new, client_ip(request))
    except DomainError as err:
        flash_error(request, err)
        return render(request, "password.html", {"action": "/password"}, status=422)
    start_session(request, sessions.STAFF, actor.ident.removeprefix("staff:"))
    flash(request, "ok", "portal.password_changed")
    return redirect(home_for(actor.role))


@router.get("/my/login")
def member_login_form(request: Request, next: str = "") -> Response:
    return render(request, "portal_login.html", {"next": safe_next(next, "")})


@router.post("/my/login")
def member_login(request: Request, form: Any = Depends(form_data)) -> Response:
    number = "".join(str(form.get("number", "")).split())[:64]
    password = str(form.get("password", ""))[:200]
    target = str(form.get("next", ""))
    limited = _limited(request)
    if limited:
        return limited
    try:
        number = hub_of(request).members.authenticate(number, password, client_ip(request))
    except DomainError as err:
        if err.code == Code.RATE_LIMITED:
            return _rate_limited(request)
        flash_error(request, DomainError(Code.AUTH_INVALID))  # never tell which half was wrong
        return render(request, "portal_login.html", {"next": safe_next(target, "")}, 401)
    start_session(request, sessions.MEMBER, number)
    return redirect(safe_next(target, "/my"))
