"""온라인 회원가입 (online registration): a public, phone-friendly sign-up.

1. `/join`: the person chooses to verify themselves (from 14) or, under 14, to have
   their guardian verify (본인인증); the hub starts a verification with a provider and
   sends the browser there.
2. The provider's page (for the test provider, `/join/test-provider`, clearly marked as
   a test), which sends the browser back to `/join/verified` with its answer.
3. `/join/verified`: the answer is checked (`hub.identity.finish`); the proof (the CI
   only as its keyed hash) waits in the signed session, bound to this browser.
4. `/join/form`: the library, contact details, a password and the consent (name and
   birth year come from the verification). `Members.register_online` makes an associate
   member (준회원) of the chosen library; the new member is signed in and shown the
   number. Their first ID check at a desk makes them a full member.

Against bots and abuse: attempts are counted per client address (services/throttle.py:
SIGNUP for the form, VERIFY_START for starting verifications), the form carries a
honeypot field and must not come back sooner than `MIN_SECONDS` after it was shown, and
a refusal shows codes and field names only, never a value.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain import members as member_rules
from ..domain.errors import Code, DomainError
from ..domain.onboarding import can_circulate
from ..domain.online import OnlineApplication
from ..services import sessions, throttle
from ..services.context import Actor, Role
from ..services.identity import Proof
from ..services.identity_test_provider import TestProvider
from .common import (
    STATUS_FOR,
    flash_error,
    form_data,
    hub_of,
    redirect,
    render,
    session_of,
    start_session,
)
from .security import client_ip

router = APIRouter(prefix="/join")
MIN_SECONDS = 3.0  # a person needs longer than this to fill the form
HONEYPOT = "website"  # hidden from people (CSS, aria-hidden, no tab stop): bots fill it
STATES_KEPT = 2


def _join(request: Request) -> dict[str, Any]:
    return dict(session_of(request).get("join") or {})


def _status(err: DomainError) -> int:
    if err.code == Code.DUPLICATE_MEMBER:
        return 409
    return STATUS_FOR.get(err.code, 422)


def _refused(request: Request, err: DomainError, template: str, ctx: dict[str, Any]) -> Response:
    flash_error(request, err)
    return render(request, template, ctx, _status(err))


def _start_ctx(request: Request) -> dict[str, Any]:
    return {"providers": hub_of(request).identity.providers()}


@router.get("")
def start_page(request: Request) -> Response:
    return render(request, "join.html", _start_ctx(request))


@router.post("/verify")
def start_verification(request: Request, form: Any = Depends(form_data)) -> Response:
    hub = hub_of(request)
    provider = str(form.get("provider", ""))[:20]
    purpose = str(form.get("purpose", ""))[:10]
    try:
        hub.members.count_signup_attempt(throttle.VERIFY_START, provider, client_ip(request))
        started = hub.identity.start(provider, purpose, f"{request.base_url}join/verified")
    except DomainError as err:
        return _refused(request, err, "join.html", _start_ctx(request))
    join = _join(request)
    join["states"] = [*join.get("states", [])[-(STATES_KEPT - 1):], started["state"]]
    session_of(request)["join"] = join
    return redirect(started["url"])


@router.get("/verified")
def verified(request: Request) -> Response:
    """The provider sent the browser back with its answer (query parameters)."""
    answer = {k: v[:4000] for k, v in request.query_params.items()}
    state = answer.get("state", "")
    join = _join(request)
    try:
        if state not in join.get("states", []):  # not started in this browser
            raise DomainError(Code.IDENTITY_VERIFICATION_FAILED)
        proof = hub_of(request).identity.finish(state, answer)
    except DomainError as err:
        return _refused(request, err, "join.html", _start_ctx(request))
    join["states"] = [s for s in join["states"] if s != state]
    join[proof.purpose] = proof.as_dict()
    if proof.purpose == "self":
        join.pop("guardian", None)
    session_of(request)["join"] = join
    return redirect("/join/form")


# -- the form -------------------------------------------------------------------------------
def _libraries(request: Request) -> list[dict[str, Any]]:
    """Libraries open for registration, grouped by region (for <optgroup>)."""
    hub = hub_of(request)
    names = {r["code"]: r["name"] for r in hub.network.regions()}
    groups: dict[str, list[dict[str, Any]]] = {}
    for lib in hub.network.libraries(limit=10_000)["items"]:
        if can_circulate(lib["status"]):
            groups.setdefault(lib["region_code"], []).append(lib)
    return [{"region": names.get(code, code), "libraries": libs}
            for code, libs in sorted(groups.items())]


def _proofs(join: dict[str, Any]) -> tuple[Proof | None, Proof | None]:
    own = Proof.from_dict(join["self"]) if join.get("self") else None
    guardian = Proof.from_dict(join["guardian"]) if join.get("guardian") else None
    return own, guardian


def _form_ctx(request: Request, join: dict[str, Any], data: dict[str, str]) -> dict[str, Any]:
    own, guardian = _proofs(join)
    return {"own": own, "guardian": guardian, "form": data, "libraries": _libraries(request),
            "year": hub_of(request).clock.today().year, "honeypot": HONEYPOT,
            "guardian_age": member_rules.GUARDIAN_AGE}


@router.get("/form")
def form_page(request: Request) -> Response:
    join = _join(request)
    if not (join.get("self") or join.get("guardian")):
        return redirect("/join")
    join["form_at"] = time.time()
    session_of(request)["join"] = join
    return render(request, "join_form.html", _form_ctx(request, join, {}))


@router.post("/form")
def submit(request: Request, form: Any = Depends(form_data)) -> Response:
    hub = hub_of(request)
    join = _join(request)
    own, guardian = _proofs(join)
    if not (own or guardian):
        return redirect("/join")
    data = {k: str(v).strip()[:200] for k, v in form.items()
            if isinstance(v, str) and k not in ("csrf", "password", "password_repeat")}
    ctx = _form_ctx(request, join, data)
    password = str(form.get("password", ""))[:200]
    try:
        if data.get(HONEYPOT) or time.time() - float(join.get("form_at", 0)) < MIN_SECONDS:
            raise DomainError(Code.FORM_TOO_FAST)
        if password != str(form.get("password_repeat", ""))[:200]:
            raise DomainError(Code.VALIDATION_ERROR, field="password_repeat")
        library = data.get("library", "")[:6]
        hub.members.count_signup_attempt(throttle.SIGNUP, library, client_ip(request))
        if own is not None:
            name, birth_year = own.name, own.birth_year
        else:
            name = data.get("name", "")
            try:
                birth_year = int(data.get("birth_year", ""))
            except ValueError:
                raise DomainError(Code.VALIDATION_ERROR, field="birth_year") from None
        app = OnlineApplication(
            name=name, birth_year=birth_year, phone=data.get("phone") or None,
            email=data.get("email") or None, password=password,
            privacy_consent=data.get("consent") == "on",
            guardian_name=guardian.name if guardian else None,
            guardian_phone=(data.get("guardian_phone") or None) if guardian else None)
        view = hub.members.register_online(
            Actor(Role.MEMBER, "online:web", "portal", library_code=library), app, own,
            guardian)
    except DomainError as err:
        return _refused(request, err, "join_form.html", ctx)
    start_session(request, sessions.MEMBER, view["number"])  # also forgets the proofs
    request.state.member_number = view["number"]
    names = {lib["code"]: lib["name"] for group in ctx["libraries"]
             for lib in group["libraries"]}
    return render(request, "join_done.html", {
        "member": view, "library_name": names.get(view["issuing_library"], "")}, 201)


# -- the test provider's page (development and tests only) ----------------------------------
def _test_provider(request: Request) -> TestProvider:
    provider = hub_of(request).identity.by_name.get("test")
    if not isinstance(provider, TestProvider):  # not configured (always so in production)
        raise DomainError(Code.NOT_FOUND)
    return provider


def _same_site(request: Request, target: str) -> str:
    base = str(request.base_url)
    if not target.startswith(base):
        raise DomainError(Code.VALIDATION_ERROR, field="return")
    return target


@router.get("/test-provider")
def test_provider_page(request: Request, state: str = "") -> Response:
    _test_provider(request)
    target = _same_site(request, request.query_params.get("return", ""))
    return render(request, "join_test_provider.html", {
        "state": state[:400], "target": target, "form": {},
        "year": hub_of(request).clock.today().year})


@router.post("/test-provider")
def test_provider_answer(request: Request, form: Any = Depends(form_data)) -> Response:
    provider = _test_provider(request)
    data = {k: str(v).strip()[:200] for k, v in form.items() if isinstance(v, str)}
    target = _same_site(request, data.get("return", ""))
    try:
        birth_year = int(data.get("birth_year", ""))
        if not 1900 <= birth_year <= 2999:
            raise ValueError("year")
    except ValueError:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="birth_year"))
        return render(request, "join_test_provider.html", {
            "state": data.get("state", "")[:400], "target": target, "form": data,
            "year": hub_of(request).clock.today().year}, 422)
    answer = provider.answer(data.get("state", "")[:400], data.get("name", "")[:100],
                             birth_year, data.get("phone", "")[:30])
    return redirect(f"{target}?{urlencode(answer)}")
