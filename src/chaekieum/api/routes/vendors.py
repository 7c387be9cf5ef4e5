"""Vendors (사업자, services/vendors.py): the registry by 사업자등록번호, a library's vendor
(chosen at the vendor-selection stage), and the vendor's staff accounts and API keys.
A vendor's key reaches the onboarding routes of the libraries that selected it and its
own record here; everything else answers FORBIDDEN (api/auth.py, services/onboarding.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ...services.context import Actor, Role
from ..auth import hub_of, onboarding_actor
from ..openapi import ok
from ..outputs import ApiKeyCreatedOut, ApiKeyListOut
from ..routing import ApiRoute
from ..schemas import ApiKeyIn, Body
from ..writes import perform

router = APIRouter(tags=["vendors"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(onboarding_actor)]  # a vendor reads its own record
BRN = Field(..., min_length=10, max_length=14, description="사업자등록번호, e.g. 220-81-62517")


class VendorIn(Body):
    brn: str = BRN
    name: str = Field(..., min_length=1, max_length=100)
    contact_name: str = Field("", max_length=100)
    contact_email: str = Field("", max_length=200)
    contact_phone: str = Field("", max_length=20)


class VendorPatch(Body):
    name: str = Field(..., min_length=1, max_length=100)
    contact_name: str = Field("", max_length=100)
    contact_email: str = Field("", max_length=200)
    contact_phone: str = Field("", max_length=20)


class VendorAssignIn(Body):
    brn: str | None = Field(None, min_length=10, max_length=14,
                            description="the vendor's 사업자등록번호; null clears it")


class VendorStaffIn(Body):
    username: str = Field(..., min_length=3, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")
    password: str = Field(..., min_length=8, max_length=200)
    display_name: str = Field("", max_length=100)


class VendorOut(BaseModel):
    brn: str
    brn_formatted: str
    name: str
    contact_name: str
    contact_email: str
    contact_phone: str


class VendorLibraryOut(BaseModel):
    code: str
    name: str
    region_code: str
    stage: str
    label: str


class VendorDetailOut(VendorOut):
    libraries: list[VendorLibraryOut]


class VendorListOut(BaseModel):
    items: list[VendorOut]


class VendorAssignedOut(BaseModel):
    code: str
    vendor: VendorOut | None


class VendorStaffOut(BaseModel):
    username: str
    role: str
    scope_code: str


@router.post("/vendors", status_code=201, responses=ok(VendorDetailOut, 201),
             summary="Register a vendor (사업자) by its 사업자등록번호 (national admin)")
def create_vendor(body: VendorIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.vendors.create(
        actor, body.brn, body.name, body.contact_name, body.contact_email,
        body.contact_phone, conn=conn), status=201)


@router.get("/vendors", responses=ok(VendorListOut),
            summary="The registered vendors (a vendor: only itself)")
def list_vendors(request: Request, actor: ActorDep):
    return {"items": hub_of(request).vendors.list(actor)}


@router.get("/vendors/{brn}", responses=ok(VendorDetailOut),
            summary="A vendor and the libraries it serves (as the caller may see them)")
def get_vendor(brn: str, request: Request, actor: ActorDep):
    return hub_of(request).vendors.get(actor, brn)


@router.patch("/vendors/{brn}", responses=ok(VendorDetailOut),
              summary="Change a vendor's name or contact (national admin)")
def update_vendor(brn: str, body: VendorPatch, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.vendors.update(
        actor, brn, body.name, body.contact_name, body.contact_email, body.contact_phone,
        conn=conn))


@router.put("/libraries/{code}/onboarding/vendor", tags=["onboarding"],
            responses=ok(VendorAssignedOut),
            summary="Choose the library's vendor (the library at vendor selection, its admins "
                    "while joining); its contact gets the stage e-mails")
def assign_vendor(code: str, body: VendorAssignIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.vendors.assign(
        actor, code, body.brn, conn=conn))


@router.post("/vendors/{brn}/staff", status_code=201, tags=["credentials"],
             responses=ok(VendorStaffOut, 201),
             summary="Create a vendor staff account for the console (national admin)")
def create_vendor_staff(brn: str, body: VendorStaffIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.credentials.create_staff(
        actor, body.username, body.password, body.display_name or body.username,
        Role.VENDOR, brn, conn=conn), status=201)


@router.get("/vendors/{brn}/api-keys", tags=["credentials"], responses=ok(ApiKeyListOut),
            summary="A vendor's API keys (national admin)")
def list_vendor_keys(brn: str, request: Request, actor: ActorDep):
    return {"items": hub_of(request).credentials.list_api_keys(actor, "vendor", brn)}


@router.post("/vendors/{brn}/api-keys", status_code=201, tags=["credentials"],
             responses=ok(ApiKeyCreatedOut, 201),
             summary="Issue a vendor API key for the onboarding API (shown once; national "
                     "admin)")
def create_vendor_key(brn: str, body: ApiKeyIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.credentials.create_api_key(
        actor, "vendor", brn, body.label, body.environment, conn=conn), status=201)
