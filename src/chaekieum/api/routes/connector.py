"""Bulk data for library connectors (offline gates); see docs/connector.md."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from ...services.context import Actor
from ..auth import current_actor, hub_of
from ..openapi import ok
from ..outputs import SnapshotOut
from ..routing import ApiRoute
from ..schemas import Moment, Position, page_size

router = APIRouter(prefix="/connector", tags=["connector"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.get("/snapshot", summary="One page of the offline snapshot for the key's library: "
            "blocked members network-wide, own members' loan counts, policies, calendar",
            responses=ok(SnapshotOut))
async def snapshot(request: Request, actor: ActorDep,
                   since: Moment | None = None,
                   after: Position = 0,
                   limit: page_size(5000) = 2000,
                   scope: Annotated[Literal["all", "own"], Query(
                       description="a full pass of everything, or of the library's own "
                                   "members only (no effect on a delta)")] = "all"):
    hub = hub_of(request)
    return await run_in_threadpool(hub.snapshot.page, actor, since, after, limit,
                                   scope == "own")
