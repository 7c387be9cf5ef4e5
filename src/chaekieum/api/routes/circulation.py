"""Circulation: checkout, checkin, renew, undo; copies; transits; follow-up exceptions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from ...services.circulation import CheckinRequest, CheckoutRequest
from ...services.context import Actor
from ..auth import current_actor, hub_of
from ..schemas import CheckinIn, CheckoutIn, CopiesIn, RenewIn, UndoIn
from ..writes import perform

router = APIRouter(tags=["circulation"])
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.post("/circulation/checkout", summary="대출 (checkout; auto-joins the member)")
def checkout(body: CheckoutIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    req = CheckoutRequest(
        member=body.member, item=body.item, owner_hint=body.owner_library,
        copy=body.copy_info.model_dump() if body.copy_info else None,
        client_txn_id=body.client_txn_id, occurred_at=body.occurred_at,
        offline=body.offline, due_on=body.due_on,
    )
    return perform(request, actor, body,
                   lambda conn: hub.circulation.checkout(actor, req, conn=conn).as_dict())


@router.post("/circulation/checkin", summary="반납 (checkin; 타관반납 creates a transit)")
def checkin(body: CheckinIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    req = CheckinRequest(item=body.item, owner_hint=body.owner_library,
                         client_txn_id=body.client_txn_id, occurred_at=body.occurred_at,
                         offline=body.offline)
    return perform(request, actor, body,
                   lambda conn: hub.circulation.checkin(actor, req, conn=conn).as_dict())


@router.post("/circulation/renew", summary="반납연기 (renewal, owning library only)")
def renew(body: RenewIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.circulation.renew(
        actor, body.item, body.member, body.owner_library, offline=body.offline,
        due_on=body.due_on, conn=conn).as_dict())


@router.post("/circulation/undo-checkout", summary="대출 취소 (same day)")
def undo_checkout(body: UndoIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.circulation.undo_checkout(
        actor, body.loan_id, conn=conn).as_dict())


@router.post("/circulation/undo-checkin", summary="반납 취소 (same day)")
def undo_checkin(body: UndoIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.circulation.undo_checkin(
        actor, body.loan_id, conn=conn).as_dict())


@router.post("/copies/bulk", summary="Register or refresh this library's copies", tags=["copies"])
def copies_bulk(body: CopiesIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    items = [c.model_dump() for c in body.copies]
    return perform(request, actor, body,
                   lambda conn: hub.copies.bulk_upsert(actor, items, conn=conn))


@router.get("/copies/{item}", summary="A copy and whether it is on loan", tags=["copies"])
def copy_detail(item: str, request: Request, actor: ActorDep,
                owner_library: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None):
    return hub_of(request).copies.get(actor, item, owner_library)


@router.get("/transits", summary="This library's transit queue", tags=["transits"])
def transit_queue(request: Request, actor: ActorDep,
                  direction: Literal["outgoing", "incoming"] = "outgoing",
                  include_done: bool = False):
    return {"items": hub_of(request).transits.queue(actor.require_library(), direction,
                                                    include_done)}


@router.post("/transits/{transit_id}/{action}", summary="Mark a transit sent / arrived",
             tags=["transits"])
def move_transit(transit_id: int, action: Literal["send", "arrive"], request: Request,
                 actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.transits.move(actor, transit_id, action, conn=conn))


@router.get("/exceptions", summary="Offline replays that broke a rule (follow-up list)",
            tags=["circulation"])
def exceptions(request: Request, actor: ActorDep, include_resolved: bool = False):
    return {"items": hub_of(request).copies.exceptions(actor.require_library(),
                                                       include_resolved)}


@router.post("/exceptions/{exception_id}/resolve", tags=["circulation"])
def resolve_exception(exception_id: int, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.copies.resolve_exception(actor, exception_id, conn=conn))
