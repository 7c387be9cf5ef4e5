"""Sign-in and sign-out for staff (console, desk) and members (내 서재)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import Code, DomainError
from ..services.context import Role
from .common import flash_error, form_data, hub_of, redirect, render, session_of
from .security import client_ip, safe_next

router = APIRouter()


def home_for(role: str) -> str:
    return "/desk" if role == Role.LIBRARIAN else "/console"


@router.get("/")
def index(request: Request) -> Response:
    session = session_of(request)
    if session.get("staff"):
        actor = hub_of(request).credentials.staff_actor(session["staff"])
        if actor is not None:
            return redirect(home_for(actor.role))
    if session.get("member"):
        return redirect("/my")
    return redirect("/login")


def _limited(request: Request) -> Response | None:
    if request.app.state.login_limiter.allow(client_ip(request)):
        return None
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
        actor = hub.credentials.staff_login(username, password, "desk")
    except DomainError as err:
        flash_error(request, err)
        return render(request, "login.html", {"next": safe_next(target, ""),
                                              "username": username},
                      423 if err.code == Code.ACCOUNT_LOCKED else 401)
    session = session_of(request)
    session.renew()  # new identity, new CSRF token (no session fixation)
    session["staff"] = username
    return redirect(safe_next(target, home_for(actor.role)))


@router.post("/logout")
def logout(request: Request) -> Response:
    session = session_of(request)
    member = bool(session.get("member"))
    session.renew()
    return redirect("/my/login" if member else "/login")


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
        number = hub_of(request).members.authenticate(number, password)
    except DomainError as err:
        if err.code != Code.ACCOUNT_LOCKED:
            err = DomainError(Code.AUTH_INVALID)  # never tell which half was wrong
        flash_error(request, err)
        return render(request, "portal_login.html", {"next": safe_next(target, "")},
                      423 if err.code == Code.ACCOUNT_LOCKED else 401)
    session = session_of(request)
    session.renew()
    session["member"] = number
    return redirect(safe_next(target, "/my"))
