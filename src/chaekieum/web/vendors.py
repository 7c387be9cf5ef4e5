"""Console: vendors (사업자, services/vendors.py). 국중 registers a vendor by its
사업자등록번호, keeps its contact, and issues its staff accounts and API keys; regional
admins see the registry and the libraries of their region each vendor serves. A vendor's
own staff never reach these pages (web/common.py `staff`): they work on the onboarding
board and pages of their libraries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import DomainError
from ..services.context import Actor, Role
from .common import (
    Forbidden,
    flash,
    flash_error,
    flash_refusal,
    form_data,
    hub_of,
    redirect,
    render,
    staff,
    toggle_staff,
    unconfirmed,
)

router = APIRouter(prefix="/console/vendors")
LIST = "/console/vendors"
CONTACT_FIELDS = ("name", "contact_name", "contact_email", "contact_phone")


def _admin(actor: Actor) -> None:
    if actor.role not in (Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN):
        raise Forbidden()


def _fields(form: Any) -> dict[str, str]:  # noqa: ANN401
    return {k: str(form.get(k, "")).strip()[:200] for k in CONTACT_FIELDS}


@router.get("")
def vendor_list(request: Request, actor: Actor = Depends(staff)) -> Response:
    _admin(actor)
    return render(request, "console_vendors.html", {
        "vendors": hub_of(request).vendors.list(actor),
        "national": actor.role == Role.NATIONAL_ADMIN})


@router.post("")
def create_vendor(request: Request, actor: Actor = Depends(staff),
                  form: Any = Depends(form_data)) -> Response:  # noqa: ANN401
    _admin(actor)
    try:
        made = hub_of(request).vendors.create(
            actor, str(form.get("brn", ""))[:20], **_fields(form))
    except DomainError as err:
        flash_error(request, err)
        return redirect(f"{LIST}#vendor-add")
    flash(request, "ok", "vendor.created", made["name"])
    return redirect(f"{LIST}/{made['brn']}")


def _context(request: Request, actor: Actor, brn: str) -> dict[str, Any]:
    hub = hub_of(request)
    national = actor.role == Role.NATIONAL_ADMIN
    return {"vendor": hub.vendors.get(actor, brn[:14]), "national": national,
            "staff_accounts": hub.credentials.list_vendor_staff(actor, brn) if national else [],
            "keys": hub.credentials.list_api_keys(actor, "vendor", brn) if national else []}


@router.get("/{brn}")
def vendor_page(request: Request, brn: str, actor: Actor = Depends(staff)) -> Response:
    _admin(actor)
    return render(request, "console_vendor.html", _context(request, actor, brn))


@router.post("/{brn}")
def update_vendor(request: Request, brn: str, actor: Actor = Depends(staff),
                  form: Any = Depends(form_data)) -> Response:  # noqa: ANN401
    _admin(actor)
    with flash_refusal(request):
        hub_of(request).vendors.update(actor, brn[:14], **_fields(form))
        flash(request, "ok", "common.done")
    return redirect(f"{LIST}/{brn[:14]}#vendor-edit")


@router.post("/{brn}/staff")
def create_staff(request: Request, brn: str, actor: Actor = Depends(staff),
                 form: Any = Depends(form_data)) -> Response:  # noqa: ANN401
    _admin(actor)
    username = str(form.get("username", "")).strip()[:60]
    with flash_refusal(request):
        hub_of(request).credentials.create_staff(
            actor, username, str(form.get("password", ""))[:200],
            str(form.get("display_name", "")).strip()[:100] or username, Role.VENDOR, brn[:14])
        flash(request, "ok", "vendor.staff_created", username)
    return redirect(f"{LIST}/{brn[:14]}#vendor-staff")


@router.post("/{brn}/staff/{username}/{action}")
def set_staff_disabled(request: Request, brn: str, username: str, action: str,
                       actor: Actor = Depends(staff)) -> Response:
    """Disable (ends the account's sessions at once) or re-enable a vendor account."""
    brn = brn[:14]
    listed = hub_of(request).credentials.list_vendor_staff(actor, brn)
    return toggle_staff(request, actor, username, action, listed, f"{LIST}/{brn}#vendor-staff")


@router.post("/{brn}/keys")
def create_key(request: Request, brn: str, actor: Actor = Depends(staff),
               form: Any = Depends(form_data)) -> Response:  # noqa: ANN401
    try:
        created = hub_of(request).credentials.create_api_key(
            actor, "vendor", brn[:14], label=str(form.get("label", ""))[:100])
    except DomainError as err:
        flash_error(request, err)
        return redirect(f"{LIST}/{brn[:14]}#vendor-keys")
    # the plain key is shown once, in this response only (never put in the cookie)
    return render(request, "console_vendor.html",
                  {**_context(request, actor, brn), "new_key": created})


@router.post("/{brn}/keys/{key_id}/revoke")
def revoke_key(request: Request, brn: str, key_id: str, actor: Actor = Depends(staff),
               form: Any = Depends(form_data)) -> Response:  # noqa: ANN401
    hub = hub_of(request)
    if key_id not in {k["key_id"] for k in hub.credentials.list_api_keys(actor, "vendor",
                                                                          brn[:14])}:
        raise Forbidden()
    back = f"{LIST}/{brn[:14]}#vendor-keys"
    if ask := unconfirmed(request, form, "confirm.revoke_key", back):
        return ask
    with flash_refusal(request):
        hub.credentials.revoke_api_key(actor, key_id)
        flash(request, "ok", "net.revoked", key_id)
    return redirect(back)
