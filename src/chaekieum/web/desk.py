"""The circulation desk: one scan box, checkout / return / renew / undo, auto-join with
an ID check, new member registration and a printable receipt.

The desk's working state (open member, 기관바코드 owner, a scan waiting for the ID check
and the scans queued behind it, the open member's receipt) lives in the signed session
cookie, so any worker can serve the next scan. It is bound to the browser session: a
cookie without an expiry (the browser drops it when it closes) carries a token the state
must match, and signing in or out renews the session, so a new browser session or a new
sign-in always starts with a clean desk.

Scanner safety: the ID-check prompt is confirmed only by a click or its own shortcut
(app.js), never by Enter; a scan made while the prompt is open is queued and processed
after the confirmation (or listed as dropped on cancel). A loan is decided before the ID
is asked for (`Circulation.check_checkout`), and the member joins the library only inside
the checkout itself, so a refused loan never joins.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from ..domain.errors import Code, DomainError
from ..domain.numbering import (
    InstitutionBarcode,
    MemberNumber,
    RegistrationNumber,
    UnifiedBarcode,
    parse_scan,
)
from ..domain.policy import MemberClass
from ..services.circulation import CheckinRequest, CheckoutRequest, Outcome
from ..services.context import Actor
from ..services.members import Registration
from .common import (
    flash,
    flash_error,
    flash_refusal,
    form_data,
    hub_of,
    librarian,
    redirect,
    render,
    session_of,
    stats_of,
)
from .i18n import pick_lang, translate

TAB_COOKIE = "ck_desk_tab"
MAX_TX = 25  # receipt lines kept in the cookie
MAX_QUEUE = 10  # scans kept while the ID-check prompt is open


class DeskRoute(APIRoute):
    """Sends the browser-session token `_desk` made for this request (see the module
    docstring) with whatever response the handler returns."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bound(request: Request) -> Response:
            response = await handler(request)
            token = getattr(request.state, "desk_tab", None)
            if token:
                response.set_cookie(TAB_COOKIE, token, httponly=True, samesite="strict",
                                    secure=request.url.scheme == "https", path="/desk")
            return response

        return bound


router = APIRouter(prefix="/desk", route_class=DeskRoute)


# -- desk state ---------------------------------------------------------------------------
def _desk(request: Request) -> dict[str, Any]:
    session = session_of(request)
    desk = dict(session.get("desk") or {})
    tab = getattr(request.state, "desk_tab", None) or request.cookies.get(TAB_COOKIE)
    if not tab or desk.get("tab") != tab:
        # A new browser session (its token cookie is gone) or a new sign-in: start clean.
        tab = secrets.token_urlsafe(16)
        request.state.desk_tab = tab
        desk = {"tab": tab}
        session["desk"] = desk
    return desk


def _save(request: Request, desk: dict[str, Any]) -> None:
    session_of(request)["desk"] = desk


def _close_member(request: Request, desk: dict[str, Any]) -> None:
    """Close the open member: its prompt, the scans queued behind it and its receipt."""
    dropped = desk.pop("queue", None)
    if dropped:
        flash(request, "warn", "desk.queue_dropped", " ".join(dropped))
    for key in ("member", "pending", "verify", "tx", "tx_member"):
        desk.pop(key, None)


def _record(desk: dict[str, Any], action: str, loan: dict[str, Any] | None,
            at: str) -> None:
    """Add a line to the receipt. A receipt holds one member's transactions only: a
    line for another member (a return scanned with no member open) starts a new one."""
    if not loan:
        return
    if desk.get("tx_member") != loan["member_number"]:
        desk["tx"] = []
        desk["tx_member"] = loan["member_number"]
    tx = list(desk.get("tx", []))[-(MAX_TX - 1):]
    if action in ("undo_checkout", "undo_checkin"):
        undone = action.removeprefix("undo_")
        for line in tx:
            if line["id"] == loan["id"] and line["a"] == undone:
                line["u"] = True  # no 취소 button on a line already undone
    tx.append({"a": action, "id": loan["id"], "i": loan["item"], "t": (loan["title"] or "")[:40],
               "d": loan["due_on"], "m": loan["member_number_masked"], "at": at})
    desk["tx"] = tx


def _t(request: Request, key: str) -> str:
    return translate(key, pick_lang(request))


def _now(request: Request) -> str:
    return hub_of(request).clock.now().isoformat() + "Z"


# -- pages --------------------------------------------------------------------------------
@router.get("")
def desk_page(request: Request, actor: Actor = Depends(librarian)) -> Response:
    hub = hub_of(request)
    desk = _desk(request)
    view = loans = held = None
    if desk.get("member"):
        try:
            view = hub.members.get(actor, desk["member"])
            held = hub.reservations.for_member(actor, desk["member"])  # at this library
            # titles only once the member joined here (services/access.py)
            if view["personal_data_visible"]:
                loans = hub.members.loans(actor, desk["member"])
        except DomainError as err:
            flash_error(request, err)
            _close_member(request, desk)
            _save(request, desk)
    hint = desk.get("hint")
    names = stats_of(request).library_names([actor.library_code, *([hint] if hint else [])])
    return render(request, "desk.html", {
        "desk": desk, "member": view, "loans": loans or [], "reservations": held or [],
        "today": hub.clock.today().isoformat(), "hint_name": names.get(hint),
        "library_name": names.get(actor.library_code, actor.library_code),
    })


@router.post("/scan")
def scan(request: Request, actor: Actor = Depends(librarian),
         form: Any = Depends(form_data)) -> Response:
    raw = str(form.get("scan", "")).strip()[:80]
    if raw:
        desk = _desk(request)
        if desk.get("pending") or desk.get("verify"):
            _queue(request, desk, raw)
        else:
            _handle_scan(request, actor, desk, raw)
        _save(request, desk)
    return redirect("/desk")


def _queue(request: Request, desk: dict[str, Any], raw: str) -> None:
    """A scan while the ID-check prompt is open: kept for after the answer, never lost."""
    queue = list(desk.get("queue", []))
    if len(queue) >= MAX_QUEUE:
        flash(request, "error", "desk.queue_full", raw)
        return
    queue.append(raw)
    desk["queue"] = queue
    flash(request, "warn", "desk.queued", raw)


def _handle_scan(request: Request, actor: Actor, desk: dict[str, Any], raw: str) -> None:
    try:
        parsed = parse_scan(raw)
    except DomainError as err:
        # Not one of the standard numbers: maybe a linked RFID card UID.
        if err.code == Code.INVALID_BARCODE and _open_member(request, actor, desk, raw,
                                                             quiet=True):
            return
        # Could have been a member card: the next item must not go to the open member.
        flash_error(request, err)
        _member_scan_failed(request, desk)
        return
    if isinstance(parsed, MemberNumber):
        _open_member(request, actor, desk, parsed.value)
    elif isinstance(parsed, InstitutionBarcode):
        names = stats_of(request).library_names([parsed.library_code])
        if parsed.library_code not in names:
            flash_error(request, DomainError(Code.LIBRARY_UNKNOWN,
                                             library_code=parsed.library_code))
        else:
            desk["hint"] = parsed.library_code
            flash(request, "ok", "desk.owner_selected",
                  f"{names[parsed.library_code]} ({parsed.library_code})")
    elif isinstance(parsed, UnifiedBarcode | RegistrationNumber):
        if desk.get("member"):
            _lend_or_ask(request, actor, desk, raw)
        else:
            _checkin(request, actor, desk, raw)


def _member_scan_failed(request: Request, desk: dict[str, Any]) -> None:
    if desk.get("member"):
        _close_member(request, desk)
        flash(request, "warn", "desk.member_closed")


def _open_member(request: Request, actor: Actor, desk: dict[str, Any], ref: str,
                 quiet: bool = False) -> bool:
    try:
        view = hub_of(request).members.get(actor, ref)
    except DomainError as err:
        if not quiet:
            flash_error(request, err)
            _member_scan_failed(request, desk)
        return False
    if desk.get("member") != view["number"]:
        _close_member(request, desk)  # one member (and one receipt) at a time
    desk["member"] = view["number"]
    flash(request, "ok", "desk.member_opened", f"{view['name']} {view['number_masked']}")
    if view.get("id_check_pending"):  # signed up online: the ID check makes a full member
        desk["verify"] = view["number"]
        flash(request, "warn", "desk.id_check_pending")
    return True


def _lend_or_ask(request: Request, actor: Actor, desk: dict[str, Any], item: str) -> None:
    """Decide first; ask for the ID only when the loan would go through and would join
    the member here."""
    try:
        check = hub_of(request).circulation.check_checkout(actor, CheckoutRequest(
            member=desk["member"], item=item, owner_hint=desk.get("hint")))
    except DomainError as err:
        flash_error(request, err)
        return
    if not check.decision.allowed:
        flash_error(request, DomainError(check.decision.reasons))
    elif check.joins:
        desk["pending"] = item
    else:
        _checkout(request, actor, desk, item)


def _checkout(request: Request, actor: Actor, desk: dict[str, Any], item: str) -> bool:
    hub = hub_of(request)
    try:
        outcome: Outcome = hub.circulation.checkout(actor, CheckoutRequest(
            member=desk["member"], item=item, owner_hint=desk.get("hint")))
    except DomainError as err:
        flash_error(request, err)
        return False
    loan = outcome.loan or {}
    action = "renew" if outcome.action == "renew" else "checkout"
    _record(desk, action, loan, _now(request))
    key = "desk.renewed" if action == "renew" else "desk.checked_out"
    flash(request, "ok", key, f"{loan.get('title', '')} · {loan.get('item', '')} · "
          f"{_t(request, 'desk.due')} {loan.get('due_on', '')}")
    if outcome.warnings:
        flash(request, "warn", "desk.warnings", reasons=[
            {"code": w["code"], "details": {}} for w in outcome.warnings])
    return True


def _checkin(request: Request, actor: Actor, desk: dict[str, Any], item: str) -> None:
    hub = hub_of(request)
    try:
        outcome = hub.circulation.checkin(actor, CheckinRequest(item=item,
                                                                owner_hint=desk.get("hint")))
    except DomainError as err:
        flash_error(request, err)
        return
    if outcome.action == "transit_arrived":
        transit = outcome.extra.get("transit", {})
        flash(request, "ok", "desk.transit_arrived", f"{transit.get('title') or ''} "
              f"{transit.get('item') or ''}")
        _hold_shelf(request, transit.get("reservation"))
        return
    loan = outcome.loan or {}
    _record(desk, "checkin", loan, _now(request))
    flash(request, "ok", "desk.checked_in", f"{loan.get('title', '')} · {loan.get('item', '')}")
    if outcome.extra.get("route") == "transit":
        flash(request, "warn", "desk.transit",
              f"{outcome.extra.get('home_library_name')} ({outcome.extra.get('home_library')})")
    suspension = outcome.extra.get("suspension")
    if suspension:
        flash(request, "warn", "desk.suspension", f"{suspension['until']} "
              f"({suspension['days_late']}→{suspension['days']})")
    _hold_shelf(request, outcome.extra.get("reservation"))


def _hold_shelf(request: Request, held: dict[str, Any] | None) -> None:
    """The return set the copy aside for a reserver: tell the librarian where it goes."""
    if held:
        flash(request, "warn", "desk.hold_shelf",
              f"{held['title']} · {held['member_number_masked']} · "
              f"{_t(request, 'res.pickup_by')} {held['pickup_by']}")


@router.post("/join")
def confirm_id(request: Request, actor: Actor = Depends(librarian),
               form: Any = Depends(form_data)) -> Response:
    """The ID was checked: lend what was scanned (the checkout joins the member here, in
    the same transaction, only if it goes through), then the scans queued meanwhile."""
    desk = _desk(request)
    pending = desk.get("pending")
    if not desk.get("member") or not pending or form.get("item") != pending:
        # a stale prompt (another tab, a resubmitted form): confirm nothing
        flash_error(request, DomainError(Code.CONFLICT))
        return redirect("/desk")
    desk.pop("pending")
    if _checkout(request, actor, desk, pending):
        _id_checked(request, actor, desk["member"])
    _drain_queue(request, actor, desk)
    _save(request, desk)
    return redirect("/desk")


def _drain_queue(request: Request, actor: Actor, desk: dict[str, Any]) -> None:
    """The prompt was answered: the scans queued meanwhile, in order, until another
    prompt opens."""
    queue = list(desk.pop("queue", []))
    while queue and not (desk.get("pending") or desk.get("verify")):
        _handle_scan(request, actor, desk, queue.pop(0))
    if queue:
        desk["queue"] = queue


def _id_checked(request: Request, actor: Actor, number: str) -> None:
    """The ID was checked (either prompt): a member who signed up online becomes a full
    member (`Members.join`, audited); for anyone else the loan's auto-join was all."""
    hub = hub_of(request)
    with flash_refusal(request):
        if hub.members.get(actor, number).get("id_check_pending"):
            hub.members.join(actor, number)
            flash(request, "ok", "desk.id_check_done")


@router.post("/verify")
def verify_id(request: Request, actor: Actor = Depends(librarian),
              form: Any = Depends(form_data)) -> Response:
    """The ID check of a member who signed up online: `Members.join`, the desk's ID check
    (the same one as auto-join's), makes them a full member (audited). "Later" leaves
    them an associate; either way the scans queued meanwhile are processed."""
    desk = _desk(request)
    number = desk.get("verify")
    if not number or desk.get("member") != number or form.get("member") != number:
        flash_error(request, DomainError(Code.CONFLICT))  # a stale prompt: confirm nothing
        return redirect("/desk")
    desk.pop("verify")
    if form.get("answer") == "yes":
        _id_checked(request, actor, number)
    _drain_queue(request, actor, desk)
    _save(request, desk)
    return redirect("/desk")


@router.post("/close")
def close_member(request: Request, actor: Actor = Depends(librarian)) -> Response:
    desk = _desk(request)
    _close_member(request, desk)
    _save(request, desk)
    return redirect("/desk")


@router.post("/hint/clear")
def clear_hint(request: Request, actor: Actor = Depends(librarian)) -> Response:
    desk = _desk(request)
    desk.pop("hint", None)
    _save(request, desk)
    return redirect("/desk")


@router.post("/renew")
def renew(request: Request, actor: Actor = Depends(librarian),
          form: Any = Depends(form_data)) -> Response:
    item = str(form.get("item", ""))[:40]
    hub = hub_of(request)
    desk = _desk(request)
    with flash_refusal(request):
        outcome = hub.circulation.renew(actor, item, member_ref=desk.get("member"))
        loan = outcome.loan or {}
        _record(desk, "renew", loan, _now(request))
        flash(request, "ok", "desk.renewed", f"{loan.get('title', '')} · "
              f"{_t(request, 'desk.due')} {loan.get('due_on', '')}")
        _save(request, desk)
    return redirect("/desk")


@router.post("/return")
def return_item(request: Request, actor: Actor = Depends(librarian),
                form: Any = Depends(form_data)) -> Response:
    desk = _desk(request)
    _checkin(request, actor, desk, str(form.get("item", ""))[:40])
    _save(request, desk)
    return redirect("/desk")


@router.post("/undo")
def undo(request: Request, actor: Actor = Depends(librarian),
         form: Any = Depends(form_data)) -> Response:
    kind = str(form.get("kind", ""))
    try:
        loan_id = int(str(form.get("loan_id", "")))
    except ValueError:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="loan_id"))
        return redirect("/desk")
    hub = hub_of(request)
    desk = _desk(request)
    with flash_refusal(request):
        if kind == "checkout":
            outcome = hub.circulation.undo_checkout(actor, loan_id)
        elif kind == "checkin":
            outcome = hub.circulation.undo_checkin(actor, loan_id)
        else:
            raise DomainError(Code.VALIDATION_ERROR, field="kind")
        _record(desk, outcome.action, outcome.loan, _now(request))
        flash(request, "ok", "desk.undone", f"{(outcome.loan or {}).get('title', '')}")
        _save(request, desk)
    return redirect("/desk")


# -- registration -------------------------------------------------------------------------
CLASSES = [c.value for c in MemberClass]


@router.get("/register")
def register_form(request: Request, actor: Actor = Depends(librarian)) -> Response:
    return render(request, "desk_register.html", {"classes": CLASSES, "form": {},
                                                  "year": hub_of(request).clock.today().year})


@router.post("/register")
def register(request: Request, actor: Actor = Depends(librarian),
             form: Any = Depends(form_data)) -> Response:
    data = {k: str(v).strip()[:200] for k, v in form.items() if isinstance(v, str)}
    hub = hub_of(request)
    ctx = {"classes": CLASSES, "form": data, "year": hub.clock.today().year}
    try:
        birth_year = int(data.get("birth_year", ""))
    except ValueError:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="birth_year"))
        return render(request, "desk_register.html", ctx, 422)
    password = data.get("password") or None
    if password and len(password) < 8:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="password"))
        return render(request, "desk_register.html", ctx, 422)
    if not data.get("name"):
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="name"))
        return render(request, "desk_register.html", ctx, 422)
    reg = Registration(
        name=data["name"][:100], birth_year=birth_year, phone=data.get("phone") or None,
        email=data.get("email") or None, guardian_name=data.get("guardian_name") or None,
        guardian_phone=data.get("guardian_phone") or None,
        member_class=data.get("member_class") or MemberClass.FULL,
        consents={"privacy": data.get("consent") == "on"}, password=password,
        card_uid=data.get("card_uid") or None)
    try:
        view = hub.members.register(actor, reg)
    except DomainError as err:
        flash_error(request, err)
        return render(request, "desk_register.html", ctx, 422)
    desk = _desk(request)
    _close_member(request, desk)
    desk["member"] = view["number"]
    _save(request, desk)
    flash(request, "ok", "reg.done", view["number"])
    return redirect("/desk")


# -- receipt ------------------------------------------------------------------------------
@router.get("/receipt")
def receipt(request: Request, actor: Actor = Depends(librarian)) -> Response:
    names = stats_of(request).library_names([actor.library_code])
    return render(request, "receipt.html", {
        "tx": _desk(request).get("tx", []),
        "library_name": names.get(actor.library_code, actor.library_code),
        "printed_at": hub_of(request).clock.now().isoformat() + "Z"})


@router.post("/receipt/clear")
def clear_receipt(request: Request, actor: Actor = Depends(librarian)) -> Response:
    desk = _desk(request)
    desk.pop("tx", None)
    desk.pop("tx_member", None)
    _save(request, desk)
    return redirect("/desk")


# -- reservations (예약) ------------------------------------------------------------------
@router.post("/reserve")
def reserve(request: Request, actor: Actor = Depends(librarian),
            form: Any = Depends(form_data)) -> Response:
    """예약 for the open member (the card was shown): a copy of this library on loan."""
    desk = _desk(request)
    item = str(form.get("item", "")).strip()[:40]
    if not desk.get("member") or not item:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="item"))
        return redirect("/desk")
    with flash_refusal(request):
        placed = hub_of(request).reservations.place(actor, desk["member"], item,
                                                    desk.get("hint"))
        flash(request, "ok", "res.placed", f"{placed['title']} · {placed['item']} · "
              f"{_t(request, 'res.position')} {placed['position']}")
    return redirect("/desk")


@router.post("/reservations/cancel")
def cancel_reservation(request: Request, actor: Actor = Depends(librarian),
                       form: Any = Depends(form_data)) -> Response:
    back = "/desk/holds" if form.get("back") == "holds" else "/desk"
    try:
        reservation_id = int(str(form.get("reservation_id", "")))
    except ValueError:
        flash_error(request, DomainError(Code.VALIDATION_ERROR, field="reservation_id"))
        return redirect(back)
    with flash_refusal(request):
        done = hub_of(request).reservations.cancel(actor, reservation_id)
        flash(request, "ok", "res.cancelled", f"{done['title']} · {done['item']}")
        _hold_shelf(request, done.get("next"))
        if done.get("copy_to_shelf"):
            flash(request, "warn", "res.to_shelf", done["item"])
    return redirect(back)


@router.get("/holds")
def holds_shelf(request: Request, actor: Actor = Depends(librarian)) -> Response:
    """예약 보관 서가: copies set aside here (soonest deadline first), and who waits."""
    hub = hub_of(request)
    names = stats_of(request).library_names([actor.library_code])
    return render(request, "desk_holds.html", {
        "ready": hub.reservations.for_library(actor, state="ready"),
        "waiting": hub.reservations.for_library(actor, state="waiting"),
        "today": hub.clock.today().isoformat(),
        "library_name": names.get(actor.library_code, actor.library_code)})
