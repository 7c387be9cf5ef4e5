"""The circulation desk: one scan box, checkout / return / renew / undo, auto-join with
an ID check, new member registration and a printable receipt.

The desk's working state (open member, 기관바코드 owner, a scan waiting for the ID check,
the session's transactions for the receipt) lives in the signed session cookie, so any
worker can serve the next scan.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

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

router = APIRouter(prefix="/desk")
MAX_TX = 25  # receipt lines kept in the cookie


# -- desk state ---------------------------------------------------------------------------
def _desk(request: Request) -> dict[str, Any]:
    return dict(session_of(request).get("desk") or {})


def _save(request: Request, desk: dict[str, Any]) -> None:
    session_of(request)["desk"] = desk


def _forget(request: Request, *keys: str) -> Response:
    """Drop parts of the desk state and go back to the desk."""
    desk = _desk(request)
    for key in keys:
        desk.pop(key, None)
    _save(request, desk)
    return redirect("/desk")


def _record(request: Request, desk: dict[str, Any], action: str, loan: dict[str, Any] | None
            ) -> None:
    if not loan:
        return
    hub = hub_of(request)
    tx = list(desk.get("tx", []))[-(MAX_TX - 1):]
    tx.append({"a": action, "id": loan["id"], "i": loan["item"], "t": (loan["title"] or "")[:40],
               "d": loan["due_on"], "m": loan["member_number_masked"],
               "at": hub.clock.now().isoformat() + "Z"})
    desk["tx"] = tx


def _t(request: Request, key: str) -> str:
    return translate(key, pick_lang(request))


# -- pages --------------------------------------------------------------------------------
@router.get("")
def desk_page(request: Request, actor: Actor = Depends(librarian)) -> Response:
    hub = hub_of(request)
    desk = _desk(request)
    view = loans = None
    joined_here = True
    if desk.get("member"):
        try:
            view = hub.members.get(actor, desk["member"])
            loans = hub.members.loans(actor, desk["member"])
            joined_here = any(j["library_code"] == actor.library_code for j in view["libraries"])
        except DomainError as err:
            flash_error(request, err)
            desk.pop("member", None)
            desk.pop("pending", None)
            _save(request, desk)
    hint = desk.get("hint")
    names = stats_of(request).library_names([actor.library_code, *([hint] if hint else [])])
    return render(request, "desk.html", {
        "desk": desk, "member": view, "loans": loans or [], "joined_here": joined_here,
        "today": hub.clock.today().isoformat(), "hint_name": names.get(hint),
        "library_name": names.get(actor.library_code, actor.library_code),
    })


@router.post("/scan")
def scan(request: Request, actor: Actor = Depends(librarian),
         form: Any = Depends(form_data)) -> Response:
    raw = str(form.get("scan", "")).strip()[:80]
    if raw:
        _handle_scan(request, actor, raw)
    return redirect("/desk")


def _handle_scan(request: Request, actor: Actor, raw: str) -> None:
    hub = hub_of(request)
    desk = _desk(request)
    try:
        parsed = parse_scan(raw)
    except DomainError as err:
        # Not one of the standard numbers: maybe a linked RFID card UID.
        if err.code == Code.INVALID_BARCODE and _open_member(request, actor, desk, raw,
                                                             quiet=True):
            _save(request, desk)
            return
        flash_error(request, err)
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
            try:
                view = hub.members.get(actor, desk["member"])
            except DomainError as err:
                flash_error(request, err)
                _save(request, desk)
                return
            if not any(j["library_code"] == actor.library_code for j in view["libraries"]):
                desk["pending"] = raw  # ask for the ID check first
            else:
                _checkout(request, actor, desk, raw)
        else:
            _checkin(request, actor, desk, raw)
    _save(request, desk)


def _open_member(request: Request, actor: Actor, desk: dict[str, Any], ref: str,
                 quiet: bool = False) -> bool:
    try:
        view = hub_of(request).members.get(actor, ref)
    except DomainError as err:
        if not quiet:
            flash_error(request, err)
        return False
    desk["member"] = view["number"]
    desk.pop("pending", None)
    flash(request, "ok", "desk.member_opened", f"{view['name']} {view['number_masked']}")
    return True


def _checkout(request: Request, actor: Actor, desk: dict[str, Any], item: str) -> None:
    hub = hub_of(request)
    try:
        outcome: Outcome = hub.circulation.checkout(actor, CheckoutRequest(
            member=desk["member"], item=item, owner_hint=desk.get("hint")))
    except DomainError as err:
        flash_error(request, err)
        return
    loan = outcome.loan or {}
    action = "renew" if outcome.action == "renew" else "checkout"
    _record(request, desk, action, loan)
    key = "desk.renewed" if action == "renew" else "desk.checked_out"
    flash(request, "ok", key, f"{loan.get('title', '')} · {loan.get('item', '')} · "
          f"{_t(request, 'desk.due')} {loan.get('due_on', '')}")
    if outcome.warnings:
        flash(request, "warn", "desk.warnings", reasons=[
            {"code": w["code"], "details": {}} for w in outcome.warnings])


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
        return
    loan = outcome.loan or {}
    _record(request, desk, "checkin", loan)
    flash(request, "ok", "desk.checked_in", f"{loan.get('title', '')} · {loan.get('item', '')}")
    if outcome.extra.get("route") == "transit":
        flash(request, "warn", "desk.transit",
              f"{outcome.extra.get('home_library_name')} ({outcome.extra.get('home_library')})")
    suspension = outcome.extra.get("suspension")
    if suspension:
        flash(request, "warn", "desk.suspension", f"{suspension['until']} "
              f"({suspension['days_late']}→{suspension['days']})")


@router.post("/join")
def confirm_id(request: Request, actor: Actor = Depends(librarian)) -> Response:
    """The ID was checked: register the member here, then lend what was scanned."""
    hub = hub_of(request)
    desk = _desk(request)
    if desk.get("member"):
        try:
            hub.members.join(actor, desk["member"])
        except DomainError as err:
            flash_error(request, err)
            _save(request, desk)
            return redirect("/desk")
        pending = desk.pop("pending", None)
        if pending:
            _checkout(request, actor, desk, pending)
    _save(request, desk)
    return redirect("/desk")


@router.post("/close")
def close_member(request: Request, actor: Actor = Depends(librarian)) -> Response:
    return _forget(request, "member", "pending")


@router.post("/hint/clear")
def clear_hint(request: Request, actor: Actor = Depends(librarian)) -> Response:
    return _forget(request, "hint")


@router.post("/renew")
def renew(request: Request, actor: Actor = Depends(librarian),
          form: Any = Depends(form_data)) -> Response:
    item = str(form.get("item", ""))[:40]
    hub = hub_of(request)
    desk = _desk(request)
    with flash_refusal(request):
        outcome = hub.circulation.renew(actor, item, member_ref=desk.get("member"))
        loan = outcome.loan or {}
        _record(request, desk, "renew", loan)
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
        _record(request, desk, outcome.action, outcome.loan)
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
    desk["member"] = view["number"]
    desk.pop("pending", None)
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
    return _forget(request, "tx")
