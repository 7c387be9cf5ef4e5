"""예약 (reservations): place, cancel, and the library's lists (its holds shelf)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from ...services.context import Actor
from ..auth import current_actor, hub_of
from ..openapi import ok
from ..routing import ApiRoute
from ..schemas import (
    DbId,
    ReservationCancelOut,
    ReservationIn,
    ReservationListOut,
    ReservationOut,
    page_size,
)
from ..writes import perform

router = APIRouter(prefix="/reservations", tags=["reservations"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]
State = Literal["active", "waiting", "ready", "fulfilled", "expired", "cancelled", "all"]


@router.post("", status_code=201, summary="예약: reserve a copy of this library for a member",
             responses=ok(ReservationOut, 201))
def place(body: ReservationIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.reservations.place(
        actor, body.member, body.item, body.owner_library, conn=conn), status=201)


@router.get("", summary="This library's reservations (state=ready: the holds shelf)",
            responses=ok(ReservationListOut))
def library_list(request: Request, actor: ActorDep, state: State = "active",
                 member: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                 limit: page_size(500) = 200):
    hub = hub_of(request)
    if member is not None:
        items = hub.reservations.for_member(actor, member, include_closed=state != "active")
        if state not in ("active", "all"):
            items = [r for r in items if r["state"] == state]
        return {"items": items[:limit]}
    return {"items": hub.reservations.for_library(actor, None, state, limit)}


@router.get("/{reservation_id}", summary="One reservation",
            responses=ok(ReservationOut))
def get_one(reservation_id: DbId, request: Request, actor: ActorDep):
    return hub_of(request).reservations.get(actor, reservation_id)


def _cancel(reservation_id: int, request: Request, actor: Actor):  # noqa: ANN202
    hub = hub_of(request)
    return perform(request, actor, None, lambda conn: hub.reservations.cancel(
        actor, reservation_id, conn=conn))


@router.post("/{reservation_id}/cancel", summary="예약 취소 (the owning library)",
             responses=ok(ReservationCancelOut))
def cancel(reservation_id: DbId, request: Request, actor: ActorDep):
    return _cancel(reservation_id, request, actor)


@router.delete("/{reservation_id}", summary="예약 취소 (same as POST …/cancel)",
               responses=ok(ReservationCancelOut))
def delete(reservation_id: DbId, request: Request, actor: ActorDep):
    return _cancel(reservation_id, request, actor)
