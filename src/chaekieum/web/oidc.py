"""Sign-in for homepages and apps (OpenID Connect, docs/oidc.md), the web half:

- `/oauth/authorize`: the authorization endpoint. A member not signed in goes to the
  portal's sign-in (the same form, throttling and session as 내 서재), then sees the
  consent page: which homepage or app asks, and what it will see and do, per scope;
- `/my/apps`: the homepages and apps a member allowed, each revocable (audited);
- `/console/apps`: staff register clients (a library's staff its own library's, a
  regional admin its region's, a national admin any, national ones included): exact
  redirect URIs, a secret shown once, or a public client (app) without one.

The protocol itself (codes, PKCE, tokens) is services/oidc.py (Authlib).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ..domain.errors import DomainError
from ..headers import CSP
from ..services import sessions
from ..services.context import Actor
from ..services.oidc import SCOPES, Answer, OAuthProblem, ProtocolRequest
from .common import (
    LoginRequired,
    flash,
    flash_error,
    flash_refusal,
    form_data,
    hub_of,
    member,
    member_actor,
    redirect,
    render,
    signed_in,
    staff,
    unconfirmed,
)

router = APIRouter()
SHOWN_SCOPES = tuple(s for s in SCOPES if s != "openid")


def _protocol_request(request: Request) -> ProtocolRequest:
    hub = hub_of(request)
    return ProtocolRequest(request.method, str(request.url), dict(request.headers),
                           list(request.query_params.multi_items()), [],
                           hub.oidc.issuer(str(request.base_url)))


def _to_client(result: Answer) -> Response:
    status, _, headers = result
    location = dict(headers).get("Location", "")
    return RedirectResponse(location, status_code=303 if status in (302, 303) else 302)


def _problem(request: Request, problem: OAuthProblem) -> Response:
    return render(request, "oidc_error.html", {"error": problem.error,
                                               "description": problem.description}, 400)


@router.get("/oauth/authorize")
def authorize_page(request: Request) -> Response:
    hub = hub_of(request)
    req = _protocol_request(request)
    try:
        grant, error = hub.oidc.consent_request(req)
    except OAuthProblem as problem:
        return _problem(request, problem)
    if error is not None:
        return _to_client(error)
    number = signed_in(request, sessions.MEMBER)
    if not number:
        here = f"{request.url.path}?{request.url.query}"
        return redirect(f"/my/login?next={quote(here)}")
    request.state.member_number = number
    client = grant.client
    view = hub.members.get(member_actor(number), number)
    asked = [s for s in client.get_allowed_scope(req.payload.scope or "").split()
             if s in SHOWN_SCOPES]
    page = render(request, "oidc_consent.html", {
        "client": client, "scopes": asked, "member": view,
        "action": f"/oauth/authorize?{request.url.query}"})
    # the answer to this form redirects to the client: let the browser follow it
    target = urlsplit(req.payload.redirect_uri or "")
    origin = f"{target.scheme}://{target.netloc}" if target.netloc else f"{target.scheme}:"
    page.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {origin}")
    return page


@router.post("/oauth/authorize")
def authorize_decision(request: Request, form: Any = Depends(form_data)) -> Response:
    number = signed_in(request, sessions.MEMBER)
    if not number:
        raise LoginRequired("member")
    allowed = form.get("decision") == "allow"
    try:
        result = hub_of(request).oidc.authorize(_protocol_request(request),
                                                number if allowed else None)
    except OAuthProblem as problem:
        return _problem(request, problem)
    return _to_client(result)


# -- the portal: connected homepages and apps ---------------------------------------------
@router.get("/my/apps")
def connected_apps(request: Request, number: str = Depends(member)) -> Response:
    return render(request, "portal_apps.html",
                  {"connections": hub_of(request).oidc.connections(number)})


@router.post("/my/apps/{grant_id}/revoke")
def revoke_app(request: Request, grant_id: int, number: str = Depends(member),
               form: Any = Depends(form_data)) -> Response:
    if ask := unconfirmed(request, form, "oidc.confirm_revoke", "/my/apps"):
        return ask
    try:
        done = hub_of(request).oidc.revoke_grant(number, grant_id)
    except DomainError as err:
        flash_error(request, err)
    else:
        flash(request, "ok", "oidc.revoked", done["name"])
    return redirect("/my/apps")


# -- the console: registered clients --------------------------------------------------------
def _console(request: Request, actor: Actor, created: dict[str, Any] | None = None
             ) -> Response:
    hub = hub_of(request)
    return render(request, "console_apps.html", {
        "clients": hub.oidc.clients(actor), "created": created, "scopes": SHOWN_SCOPES,
        "library_default": actor.library_code or ""})


@router.get("/console/apps")
def clients_page(request: Request, actor: Actor = Depends(staff)) -> Response:
    return _console(request, actor)


@router.post("/console/apps")
def register_client(request: Request, actor: Actor = Depends(staff),
                    form: Any = Depends(form_data)) -> Response:
    library = str(form.get("library_code", "")).strip()[:6] or None
    uris = str(form.get("redirect_uris", ""))[:5000].split()
    scopes = [str(s)[:20] for s in form.getlist("scope")][:10]
    try:
        created = hub_of(request).oidc.register_client(
            actor, str(form.get("name", ""))[:100], library, uris,
            public=form.get("public") == "yes", scopes=["openid", *scopes])
    except DomainError as err:
        flash_error(request, err)
        return redirect("/console/apps")
    # the secret is shown once, in this answer only (never in the cookie)
    return _console(request, actor, created)


@router.post("/console/apps/{client_id}/secret")
def new_secret(request: Request, client_id: str, actor: Actor = Depends(staff),
               form: Any = Depends(form_data)) -> Response:
    if ask := unconfirmed(request, form, "oidc.confirm_secret", "/console/apps"):
        return ask
    try:
        secret = hub_of(request).oidc.new_secret(actor, client_id[:40])
    except DomainError as err:
        flash_error(request, err)
        return redirect("/console/apps")
    return _console(request, actor, {"client_id": client_id[:40], "client_secret": secret})


@router.post("/console/apps/{client_id}/redirect-uris")
def set_redirect_uris(request: Request, client_id: str, actor: Actor = Depends(staff),
                      form: Any = Depends(form_data)) -> Response:
    with flash_refusal(request):
        hub_of(request).oidc.set_redirect_uris(
            actor, client_id[:40], str(form.get("redirect_uris", ""))[:5000].split())
        flash(request, "ok", "common.done", client_id[:40])
    return redirect("/console/apps")


@router.post("/console/apps/{client_id}/disable")
def disable_client(request: Request, client_id: str, actor: Actor = Depends(staff),
                   form: Any = Depends(form_data)) -> Response:
    if ask := unconfirmed(request, form, "oidc.confirm_disable", "/console/apps"):
        return ask
    with flash_refusal(request):
        hub_of(request).oidc.disable_client(actor, client_id[:40])
        flash(request, "ok", "oidc.disabled", client_id[:40])
    return redirect("/console/apps")
