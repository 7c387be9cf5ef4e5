"""Bulk data for library connectors (offline gates); see docs/connector.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from ...services.context import Actor
from ..auth import current_actor, hub_of

router = APIRouter(prefix="/connector", tags=["connector"])
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.get("/snapshot", summary="One page of the offline snapshot for the key's library: "
            "blocked members network-wide, own members' loan counts, policies, calendar")
async def snapshot(request: Request, actor: ActorDep,
                   since: datetime | None = None,
                   after: Annotated[int, Query(ge=0)] = 0,
                   limit: Annotated[int, Query(ge=1, le=5000)] = 2000,
                   scope: Annotated[Literal["all", "own"], Query(
                       description="a full pass of everything, or of the library's own "
                                   "members only (no effect on a delta)")] = "all"):
    hub = hub_of(request)
    return await run_in_threadpool(hub.snapshot.page, actor, since, after, limit,
                                   scope == "own")
