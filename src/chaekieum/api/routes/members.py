"""Member registry endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ...services.context import Actor
from ...services.members import Registration
from ..auth import current_actor, hub_of
from ..openapi import ok
from ..outputs import (
    HiddenOut,
    MemberListOut,
    MemberLoansOut,
    MemberOut,
    SuspensionListOut,
    WithdrawnOut,
)
from ..routing import ApiRoute
from ..schemas import (
    CardUidIn,
    HistoryHideIn,
    MemberIn,
    MemberPatch,
    StatusChangeIn,
    StatusLiftIn,
    page_size,
)
from ..writes import perform

router = APIRouter(prefix="/members", tags=["members"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.post("", status_code=201, summary="Register a member at the acting library",
             responses=ok(MemberOut, 201))
def register(body: MemberIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    reg = Registration(**body.model_dump())
    return perform(request, actor, body,
                   lambda conn: hub.members.register(actor, reg, conn=conn), status=201)


@router.get("", summary="Search members by number prefix or name prefix",
            responses=ok(MemberListOut))
def search(request: Request, actor: ActorDep,
           q: Annotated[str, Query(min_length=2, max_length=40)],
           limit: page_size(100) = 20):
    return {"items": hub_of(request).members.search(actor, q, limit)}


@router.get("/{ref}", summary="A member by number or linked card UID (personal data masked "
            "unless the member joined the acting library)", responses=ok(MemberOut))
def get_member(ref: str, request: Request, actor: ActorDep):
    return hub_of(request).members.get(actor, ref)


@router.patch("/{ref}", summary="Update a member's details", responses=ok(MemberOut))
def update_member(ref: str, body: MemberPatch, request: Request, actor: ActorDep):
    hub = hub_of(request)
    changes = body.model_dump(exclude_unset=True)
    return perform(request, actor, body,
                   lambda conn: hub.members.update(actor, ref, changes, conn=conn))


@router.post("/{ref}/join", summary="Register the member at the acting library (ID checked)",
             responses=ok(MemberOut))
def join(ref: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None, lambda conn: hub.members.join(actor, ref, conn=conn))


@router.post("/{ref}/card-lost",
             summary="Report the card lost (blocks the card; libraries the member joined)",
             responses=ok(MemberOut))
def card_lost(ref: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.members.report_card_lost(actor, ref, conn=conn))


@router.post("/{ref}/card-lost/lift",
             summary="End a lost-card block (libraries the member joined; audited)",
             responses=ok(MemberOut))
def lift_card_lost(ref: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.members.lift_card_lost(actor, ref, conn=conn))


@router.put("/{ref}/card-uid",
            summary="Link an RFID card UID (a lost-card block stays until lifted)",
            responses=ok(MemberOut))
def link_card(ref: str, body: CardUidIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body,
                   lambda conn: hub.members.link_card(actor, ref, body.card_uid, conn=conn))


@router.post("/{ref}/withdraw", summary="Withdraw: erases personal data",
             responses=ok(WithdrawnOut))
def withdraw(ref: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.members.withdraw(actor, ref, conn=conn))


@router.post("/{ref}/expel",
             summary="제적: expel the member (refused loans everywhere); the issuing library, "
                     "its regional admin or a national admin; audited",
             responses=ok(MemberOut))
def expel(ref: str, body: StatusChangeIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body,
                   lambda conn: hub.members.expel(actor, ref, body.reason, conn=conn))


@router.post("/{ref}/expel/lift",
             summary="Lift an expulsion (who may expel may lift it; audited)",
             responses=ok(MemberOut))
def lift_expulsion(ref: str, request: Request, actor: ActorDep,
                   body: StatusLiftIn | None = None):
    hub = hub_of(request)
    reason = body.reason if body else None
    return perform(request, actor, body,
                   lambda conn: hub.members.lift_expulsion(actor, ref, reason, conn=conn))


@router.post("/{ref}/bar",
             summary="Bar the member at the acting library only (its own status: no loans "
                     "there); a library the member joined; audited",
             responses=ok(MemberOut))
def bar(ref: str, body: StatusChangeIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body,
                   lambda conn: hub.members.bar(actor, ref, body.reason, conn=conn))


@router.post("/{ref}/bar/lift", summary="Lift the acting library's bar (audited)",
             responses=ok(MemberOut))
def lift_bar(ref: str, request: Request, actor: ActorDep, body: StatusLiftIn | None = None):
    hub = hub_of(request)
    reason = body.reason if body else None
    return perform(request, actor, body,
                   lambda conn: hub.members.lift_bar(actor, ref, reason, conn=conn))


@router.get("/{ref}/loans", summary="The member's loans at every library",
            responses=ok(MemberLoansOut))
def loans(ref: str, request: Request, actor: ActorDep, history: bool = False):
    return {"items": hub_of(request).members.loans(actor, ref, include_returned=history)}


@router.post("/{ref}/history/hide", summary="Hide returned loans from the member's history",
             responses=ok(HiddenOut))
def hide_history(ref: str, body: HistoryHideIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: {"hidden": hub.members.hide_history(
        actor, ref, body.loan_ids, conn=conn)})


@router.get("/{ref}/suspensions", summary="Suspension history", responses=ok(SuspensionListOut))
def suspensions(ref: str, request: Request, actor: ActorDep):
    return {"items": hub_of(request).members.suspension_history(actor, ref)}
