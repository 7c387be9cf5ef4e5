"""내 서재 (member portal): loans everywhere, renewals, suspensions, history, password,
and the mobile card."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import Code, DomainError
from ..services import sessions
from .codes import code128_svg, qr_svg
from .common import (
    flash,
    flash_error,
    form_data,
    hub_of,
    member,
    member_actor,
    redirect,
    render,
    start_session,
    unconfirmed,
)
from .security import client_ip

router = APIRouter(prefix="/my")
SVG_HEADERS = {"Cache-Control": "private, max-age=300",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


@router.get("")
def home(request: Request, number: str = Depends(member)) -> Response:
    hub = hub_of(request)
    actor = member_actor(number)
    view = hub.members.get(actor, number)
    reservations = hub.reservations.for_member(actor, number)
    lookup = _lookup(request, view)
    loans = hub.members.loans(actor, number)
    history = [h for h in hub.members.loans(actor, number, include_returned=True)
               if h["state"] == "returned"]
    suspensions = hub.members.suspension_history(actor, number)
    return render(request, "portal.html", {
        "member": view, "loans": loans, "history": history[:100],
        "suspensions": suspensions, "reservations": reservations, "lookup": lookup,
        "launches": hub.joining.launch_notices(number)})


def _lookup(request: Request, view: dict[str, Any]) -> dict[str, Any] | None:
    """A copy the member looked up (?item=&library=) at a library they joined: what the
    reserve button needs (on loan? how many wait?)."""
    item = request.query_params.get("item", "").strip()[:40]
    library = request.query_params.get("library", "").strip()[:6]
    if not item:
        return None
    if library not in {j["library_code"] for j in view["libraries"]}:
        return {"item": item, "library": library,
                "error": [{"code": str(Code.RESERVATION_NOT_JOINED), "details": {}}]}
    try:
        found = hub_of(request).copies.get(member_actor(view["number"], library), item, library)
    except DomainError as err:
        return {"item": item, "library": library,
                "error": [{"code": str(r.code), "details": {}} for r in err.reasons]}
    return {"item": item, "library": library, "copy": found}


@router.post("/reserve")
def reserve(request: Request, number: str = Depends(member),
            form: Any = Depends(form_data)) -> Response:
    """예약 at a library the member joined (its copy, on loan or on its way home)."""
    item = str(form.get("item", "")).strip()[:40]
    library = str(form.get("library", "")).strip()[:6] or None
    try:
        placed = hub_of(request).reservations.place(member_actor(number), number, item,
                                                    library)
    except DomainError as err:
        flash(request, "error", "res.refused", item,
              [{"code": str(r.code), "details": {}} for r in err.reasons])
    else:
        flash(request, "ok", "res.placed", f"{placed['title']} · {placed['library_name']}")
    return redirect("/my#reservations")


@router.post("/reservations/cancel")
def cancel_reservation(request: Request, number: str = Depends(member),
                       form: Any = Depends(form_data)) -> Response:
    try:
        reservation_id = int(str(form.get("reservation_id", "")))
    except ValueError:
        reservation_id = 0
    try:
        done = hub_of(request).reservations.cancel(member_actor(number), reservation_id)
    except DomainError as err:
        flash_error(request, err)
    else:
        flash(request, "ok", "res.cancelled", done["title"])
    return redirect("/my#reservations")


@router.post("/renew")
def renew(request: Request, number: str = Depends(member),
          form: Any = Depends(form_data)) -> Response:
    """Renewal is done by the owning library, on the member's behalf."""
    hub = hub_of(request)
    item = str(form.get("item", ""))[:40]
    loan = next((x for x in hub.members.loans(member_actor(number), number)
                 if x["item"] == item), None)
    if loan is None:
        flash_error(request, DomainError(Code.NOT_ON_LOAN, item=item), "portal.renew_refused")
        return redirect("/my")
    try:
        outcome = hub.circulation.renew(member_actor(number, loan["owner_library"]), item,
                                        member_ref=number)
    except DomainError as err:
        flash(request, "error", "portal.renew_refused", loan["title"] or item,
              [{"code": str(r.code), "details": {}} for r in err.reasons])
    else:
        new = outcome.loan or {}
        flash(request, "ok", "desk.renewed", f"{new.get('title', '')} → {new.get('due_on', '')}")
    return redirect("/my")


@router.post("/history/hide")
def hide_history(request: Request, number: str = Depends(member),
                 form: Any = Depends(form_data)) -> Response:
    ids = []
    for value in form.getlist("loan_id"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    if ids and (ask := unconfirmed(request, form, "confirm.hide_history", "/my#history")):
        return ask
    if ids:
        count = hub_of(request).members.hide_history(member_actor(number), number, ids[:500])
        flash(request, "ok", "portal.history_deleted", str(count))
    return redirect("/my#history")


@router.get("/password")
def password_form(request: Request, number: str = Depends(member)) -> Response:
    return render(request, "password.html", {"action": "/my/password"})


@router.post("/password")
def change_password(request: Request, number: str = Depends(member),
                    form: Any = Depends(form_data)) -> Response:
    hub = hub_of(request)
    current = str(form.get("current", ""))[:200]
    new = str(form.get("new", ""))[:200]
    if new != str(form.get("repeat", ""))[:200]:
        flash(request, "error", "portal.password_mismatch")
        return render(request, "password.html", {"action": "/my/password"}, status=422)
    try:
        hub.members.authenticate(number, current, client_ip(request))
        hub.members.set_password(member_actor(number), number, new)  # ends every session
    except DomainError as err:
        flash_error(request, err)
        return render(request, "password.html", {"action": "/my/password"}, status=422)
    start_session(request, sessions.MEMBER, number)  # this browser stays signed in
    flash(request, "ok", "portal.password_changed")
    return redirect("/my")


@router.get("/card")
def card(request: Request, number: str = Depends(member)) -> Response:
    view = hub_of(request).members.get(member_actor(number), number)
    return render(request, "portal_card.html", {"member": view})


@router.get("/card/barcode.svg")
def card_barcode(request: Request, number: str = Depends(member)) -> Response:
    return Response(code128_svg(number), media_type="image/svg+xml", headers=SVG_HEADERS)


@router.get("/card/qr.svg")
def card_qr(request: Request, number: str = Depends(member)) -> Response:
    return Response(qr_svg(number), media_type="image/svg+xml", headers=SVG_HEADERS)
