"""Circulation: checkout, checkin, renew, undo; copies; transits; follow-up exceptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from ...domain.errors import Code, DomainError
from ...services.circulation import CheckinRequest, CheckoutRequest
from ...services.context import Actor
from ...services.hub import Hub
from ..auth import current_actor, hub_of
from ..errors import refusal
from ..openapi import ok
from ..outputs import (
    CopiesBulkOut,
    CopyOut,
    ExceptionListOut,
    OutcomeOut,
    ReplayOut,
    ResolvedOut,
    TransitListOut,
    TransitOut,
)
from ..routing import ApiRoute
from ..schemas import Body, CheckinIn, CheckoutIn, CopiesIn, DbId, RenewIn, ReplayIn, UndoIn
from ..writes import Work, perform

router = APIRouter(tags=["circulation"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]


def checkout_work(hub: Hub, actor: Actor, body: CheckoutIn) -> Work:
    req = CheckoutRequest(
        member=body.member, item=body.item, owner_hint=body.owner_library,
        copy=body.copy_info.model_dump() if body.copy_info else None,
        client_txn_id=body.client_txn_id, occurred_at=body.occurred_at,
        offline=body.offline, due_on=body.due_on,
    )
    return lambda conn: hub.circulation.checkout(actor, req, conn=conn).as_dict()


def checkin_work(hub: Hub, actor: Actor, body: CheckinIn) -> Work:
    req = CheckinRequest(item=body.item, owner_hint=body.owner_library,
                         client_txn_id=body.client_txn_id, occurred_at=body.occurred_at,
                         offline=body.offline)
    return lambda conn: hub.circulation.checkin(actor, req, conn=conn).as_dict()


def renew_work(hub: Hub, actor: Actor, body: RenewIn) -> Work:
    return lambda conn: hub.circulation.renew(
        actor, body.item, body.member, body.owner_library, offline=body.offline,
        due_on=body.due_on, conn=conn).as_dict()


# The hot writes, which api.fastpath answers without FastAPI's routing: path (under
# /api/v1) -> (body model, its work). The routes below run the same work.
HOT: dict[str, tuple[type[Body], Callable[[Hub, Actor, Any], Work]]] = {
    "/circulation/checkout": (CheckoutIn, checkout_work),
    "/circulation/checkin": (CheckinIn, checkin_work),
    "/circulation/renew": (RenewIn, renew_work),
}


@router.post("/circulation/checkout", summary="대출 (checkout; auto-joins the member)",
             responses=ok(OutcomeOut))
def checkout(body: CheckoutIn, request: Request, actor: ActorDep):
    return perform(request, actor, body, checkout_work(hub_of(request), actor, body))


@router.post("/circulation/checkin", summary="반납 (checkin; 타관반납 creates a transit)",
             responses=ok(OutcomeOut))
def checkin(body: CheckinIn, request: Request, actor: ActorDep):
    return perform(request, actor, body, checkin_work(hub_of(request), actor, body))


@router.post("/circulation/replay", summary="Offline replays in order, one transaction each "
             "(for library connectors)", responses=ok(ReplayOut))
def replay(body: ReplayIn, request: Request, actor: ActorDep):
    """Up to 500 queued checkouts/checkins of a connector, applied in list order, each
    exactly as its own POST would be (each carries offline, occurred_at, client_txn_id,
    which make a resend recognised). One answer per write: {"status", "body"}. Stops at
    the first write that may succeed on a retry (CONFLICT, RATE_LIMITED): the rest are
    not attempted (`"status": null`), so nothing overtakes it."""
    hub = hub_of(request)
    results: list[dict] = []
    for n, write in enumerate(body.writes):
        if results and results[-1]["body"].get("code") in ("CONFLICT", "RATE_LIMITED"):
            results.extend({"status": None, "body": {}} for _ in body.writes[n:])
            break
        try:
            if write.kind == "checkout":
                work = checkout_work(hub, actor, CheckoutIn.model_validate(write.body))
            else:
                work = checkin_work(hub, actor, CheckinIn.model_validate(write.body))
            results.append({"status": 200, "body": work(None)})
        except DomainError as exc:
            status, error = refusal(exc)
            results.append({"status": status, "body": error})
        except ValidationError as exc:
            problems = [{"field": ".".join(str(p) for p in e.get("loc", ())),
                         "problem": e.get("type")} for e in exc.errors()[:20]]
            status, error = refusal(DomainError(Code.VALIDATION_ERROR, problems=problems))
            results.append({"status": status, "body": error})
        except IntegrityError:
            status, error = refusal(DomainError(Code.CONFLICT))
            results.append({"status": status, "body": error})
    return {"results": results}


@router.post("/circulation/renew", summary="반납연기 (renewal, owning library only)",
             responses=ok(OutcomeOut))
def renew(body: RenewIn, request: Request, actor: ActorDep):
    return perform(request, actor, body, renew_work(hub_of(request), actor, body))


@router.post("/circulation/undo-checkout", summary="대출 취소 (same day)", responses=ok(OutcomeOut))
def undo_checkout(body: UndoIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.circulation.undo_checkout(
        actor, body.loan_id, conn=conn).as_dict())


@router.post("/circulation/undo-checkin", summary="반납 취소 (same day)", responses=ok(OutcomeOut))
def undo_checkin(body: UndoIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.circulation.undo_checkin(
        actor, body.loan_id, conn=conn).as_dict())


@router.post("/copies/bulk", summary="Register or refresh this library's copies", tags=["copies"],
             responses=ok(CopiesBulkOut))
def copies_bulk(body: CopiesIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    items = [c.model_dump() for c in body.copies]
    return perform(request, actor, body,
                   lambda conn: hub.copies.bulk_upsert(actor, items, conn=conn))


@router.get("/copies/{item}", summary="A copy and whether it is on loan", tags=["copies"],
            responses=ok(CopyOut))
def copy_detail(item: str, request: Request, actor: ActorDep,
                owner_library: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None):
    return hub_of(request).copies.get(actor, item, owner_library)


@router.get("/transits", summary="This library's transit queue", tags=["transits"],
            responses=ok(TransitListOut))
def transit_queue(request: Request, actor: ActorDep,
                  direction: Literal["outgoing", "incoming"] = "outgoing",
                  include_done: bool = False):
    hub = hub_of(request)
    return {"items": hub.transits.queue(actor.require_library(), direction, include_done,
                                        sandbox_only=hub.sandbox_only(actor))}


@router.post("/transits/{transit_id}/{action}", summary="Mark a transit sent / arrived",
             tags=["transits"], responses=ok(TransitOut))
def move_transit(transit_id: DbId, action: Literal["send", "arrive"], request: Request,
                 actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.transits.move(actor, transit_id, action, conn=conn))


@router.get("/exceptions", summary="Offline replays that broke a rule (follow-up list)",
            tags=["circulation"], responses=ok(ExceptionListOut))
def exceptions(request: Request, actor: ActorDep, include_resolved: bool = False):
    hub = hub_of(request)
    return {"items": hub.copies.exceptions(actor.require_library(), include_resolved,
                                           sandbox_only=hub.sandbox_only(actor))}


@router.post("/exceptions/{exception_id}/resolve", tags=["circulation"], responses=ok(ResolvedOut))
def resolve_exception(exception_id: DbId, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.copies.resolve_exception(actor, exception_id, conn=conn))
