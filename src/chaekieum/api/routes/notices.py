"""Notices of the onboarding workflow (services/notices.py, docs/notices.md): the e-mail
contacts of a joining library (the library's, its vendor's and its regional center's),
who get an e-mail at every stage transition, and those e-mails with their delivery
state. Who may: as for the library's onboarding (services/onboarding.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ...services.context import Actor
from ..auth import current_actor, hub_of
from ..routing import ApiRoute
from ..schemas import Body
from ..writes import perform

router = APIRouter(tags=["onboarding"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]
BASE = "/libraries/{code}/onboarding"


class ContactIn(Body):
    party: Literal["library", "vendor", "regional_center"]
    name: str = Field("", max_length=100)
    email: str = Field(..., min_length=3, max_length=200)


class ContactsIn(Body):
    contacts: list[ContactIn] = Field(..., max_length=30)


class ContactOut(BaseModel):
    party: str
    party_label: str
    name: str
    email: str


class ContactsOut(BaseModel):
    code: str
    contacts: list[ContactOut]


class StageNoticeOut(BaseModel):
    id: int
    stage: str
    to: str
    subject: str
    status: str  # pending | sending | sent | failed | cancelled | uncertain
    attempts: int
    created_at: str
    sent_at: str | None


class StageNoticesOut(BaseModel):
    code: str
    notices: list[StageNoticeOut]


@router.get(f"{BASE}/contacts", response_model=ContactsOut,
            summary="The e-mail contacts of a joining library (library, vendor, regional center)")
def contacts(code: str, request: Request, actor: ActorDep):
    return hub_of(request).notices.contacts(actor, code)


@router.put(f"{BASE}/contacts", response_model=ContactsOut,
            summary="Replace the e-mail contacts that get the stage e-mails")
def put_contacts(code: str, body: ContactsIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.notices.put_contacts(
        actor, code, [c.model_dump() for c in body.contacts], conn=conn))


@router.get(f"{BASE}/notices", response_model=StageNoticesOut,
            summary="The stage e-mails sent (or waiting) for a library, newest first")
def stage_notices(code: str, request: Request, actor: ActorDep):
    return hub_of(request).notices.library_notices(actor, code)
