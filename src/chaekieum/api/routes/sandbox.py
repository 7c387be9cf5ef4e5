"""Sandbox fixtures for the conformance kit: test members and copies of the acting
library, kept apart from real data, and their removal (services/sandbox.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request

from ...domain.errors import Code, DomainError
from ...services.context import Actor
from ..auth import current_actor, hub_of
from ..openapi import ok
from ..outputs import SandboxCleanedOut, SandboxCreatedOut, SandboxListOut, SandboxPeerOut
from ..routing import ApiRoute
from ..schemas import SandboxIn, SandboxPeerIn
from ..writes import perform

router = APIRouter(prefix="/sandbox", tags=["sandbox"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.post("", status_code=201,
             summary="Create sandbox (test) members and copies at the acting library",
             responses=ok(SandboxCreatedOut, 201))
def create(body: SandboxIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.sandbox.create(
        actor, body.members, body.copies, body.foreign_members, conn=conn), status=201)


@router.get("", summary="The acting library's sandbox members and copies",
            responses=ok(SandboxListOut))
def current(request: Request, actor: ActorDep):
    return hub_of(request).sandbox.list(actor)


@router.delete("", summary="Delete the acting library's sandbox data (members, copies and "
               "every loan, transit, suspension and reservation of theirs)",
               responses=ok(SandboxCleanedOut))
def clean(request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None, lambda conn: hub.sandbox.clean(actor, conn=conn))


NEEDS = {"checkout": ("member", "item"), "checkin": ("item",), "send": ("transit_id",),
         "arrive": ("transit_id",)}


@router.post("/peer/{action}", summary="Do a checkout, checkin or transit step at the sandbox "
             "peer (another library of the region), on your sandbox data only",
             responses=ok(SandboxPeerOut))
def peer(action: Literal["checkout", "checkin", "send", "arrive"], body: SandboxPeerIn,
         request: Request, actor: ActorDep):
    missing = [f for f in NEEDS[action] if getattr(body, f) is None]
    if missing:
        raise DomainError(Code.VALIDATION_ERROR, field=missing[0], problem="required")
    hub = hub_of(request)
    fields = body.model_dump(exclude_none=True)
    return perform(request, actor, body,
                   lambda conn: hub.sandbox.peer(actor, action, fields, conn=conn))
