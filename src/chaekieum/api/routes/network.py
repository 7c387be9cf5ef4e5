"""Network registry: regions, regional centers, libraries, calendars, policies,
onboarding stages, credentials, audit trail, change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ... import metrics
from ...domain.errors import Code, DomainError
from ...services.context import Actor, Role
from ..auth import current_actor, hub_of
from ..openapi import ok
from ..outputs import (
    ApiKeyCreatedOut,
    ApiKeyListOut,
    ApiKeyRevokedOut,
    AuditListOut,
    CenterListOut,
    CountOut,
    EffectivePolicyOut,
    EventPageOut,
    LibraryChangedOut,
    LibraryDetailOut,
    LibraryListOut,
    LibraryRegisteredOut,
    PolicyLevelOut,
    RegionListOut,
    StageOut,
    TerminalCreatedOut,
    TerminalListOut,
    TerminalRevokedOut,
    TerminalUnlockedOut,
)
from ..routing import ApiRoute
from ..schemas import (
    AdminKeyIn,
    ApiKeyIn,
    ClosedDatesIn,
    LibraryIn,
    LibraryPatch,
    Moment,
    PolicyIn,
    Position,
    StageIn,
    TerminalIn,
    page_size,
)
from ..writes import perform

router = APIRouter(tags=["network"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.get("/regions", responses=ok(RegionListOut))
def regions(request: Request, actor: ActorDep):
    return {"items": hub_of(request).network.regions()}


@router.get("/regional-centers", summary="The 22 지역센터", responses=ok(CenterListOut))
def centers(request: Request, actor: ActorDep, region: str | None = None):
    return {"items": hub_of(request).network.centers(region)}


@router.get("/libraries", responses=ok(LibraryListOut))
def list_libraries(request: Request, actor: ActorDep, region: str | None = None,
                   q: Annotated[str | None, Query(max_length=60)] = None,
                   status: str | None = None,
                   limit: page_size(500) = 100,
                   offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0):
    return hub_of(request).network.libraries(region, q, status, limit, offset)


@router.get("/libraries/{code}", responses=ok(LibraryDetailOut))
def library(code: str, request: Request, actor: ActorDep):
    return hub_of(request).network.library(code)


@router.post("/libraries", status_code=201, summary="참여도서관 등록 (national admin)",
             responses=ok(LibraryRegisteredOut, 201))
def register_library(body: LibraryIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.network.register_library(
        actor, body.code, body.name, body.region_code, body.center_id, body.closed_weekdays,
        body.ils, body.status, conn=conn), status=201)


@router.patch("/libraries/{code}", responses=ok(LibraryChangedOut))
def update_library(code: str, body: LibraryPatch, request: Request, actor: ActorDep):
    hub = hub_of(request)
    changes = body.model_dump(exclude_unset=True)
    return perform(request, actor, body,
                   lambda conn: hub.network.update_library(actor, code, changes, conn=conn))


@router.put("/libraries/{code}/closed-dates", summary="Replace the extra closed dates",
            responses=ok(CountOut))
def closed_dates(code: str, body: ClosedDatesIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    days = [(d.day, d.reason) for d in body.days]
    return perform(request, actor, body, lambda conn: {"count": hub.network.set_closed_dates(
        actor, code, days, conn=conn)})


@router.post("/libraries/{code}/stage", summary="Move a library to its next onboarding stage",
             responses=ok(StageOut))
def advance(code: str, body: StageIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.onboarding.move(
        actor, code, body.stage, body.note, conn=conn))


@router.get("/policies/{level}", summary="Stored overrides at one level of the cascade",
            responses=ok(PolicyLevelOut))
def get_policy(level: str, request: Request, actor: ActorDep, scope: str = "",
               member_class: str = ""):
    return hub_of(request).network.get_policy(level, scope, member_class)


@router.get("/libraries/{code}/policy", summary="The effective policy at a library",
            responses=ok(EffectivePolicyOut))
def effective_policy(code: str, request: Request, actor: ActorDep, member_class: str = ""):
    return hub_of(request).registry.policy(code, member_class).as_dict()


@router.put("/policies/{level}", summary="Replace the overrides at one level",
            responses=ok(PolicyLevelOut))
def put_policy(level: str, body: PolicyIn, request: Request, actor: ActorDep,
               scope: str = "", member_class: str = ""):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.network.set_policy(
        actor, level, scope, member_class, body.settings, conn=conn))


# -- credentials ------------------------------------------------------------------
@router.get("/libraries/{code}/api-keys", tags=["credentials"], responses=ok(ApiKeyListOut))
def list_keys(code: str, request: Request, actor: ActorDep):
    return {"items": hub_of(request).credentials.list_api_keys(actor, "library", code)}


@router.post("/libraries/{code}/api-keys", status_code=201, tags=["credentials"],
             summary="Issue a library API key (shown once)", responses=ok(ApiKeyCreatedOut, 201))
def create_key(code: str, body: ApiKeyIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.credentials.create_api_key(
        actor, "library", code, body.label, body.environment, conn=conn), status=201)


@router.post("/admin-keys", status_code=201, tags=["credentials"],
             summary="Issue a national or regional admin key", responses=ok(ApiKeyCreatedOut, 201))
def create_admin_key(body: AdminKeyIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.credentials.create_api_key(
        actor, body.scope, body.scope_code, body.label, conn=conn), status=201)


@router.delete("/api-keys/{key_id}", tags=["credentials"], responses=ok(ApiKeyRevokedOut))
def revoke_key(key_id: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.credentials.revoke_api_key(actor, key_id, conn=conn))


@router.get("/libraries/{code}/terminals", tags=["credentials"],
            summary="SIP2 kiosk accounts of a library", responses=ok(TerminalListOut))
def list_terminals(code: str, request: Request, actor: ActorDep):
    return {"items": hub_of(request).credentials.list_terminals(actor, code)}


@router.post("/libraries/{code}/terminals", status_code=201, tags=["credentials"],
             responses=ok(TerminalCreatedOut, 201))
def create_terminal(code: str, body: TerminalIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, body, lambda conn: hub.credentials.create_terminal(
        actor, code, body.login, body.password, body.label, body.encoding, body.terminator,
        body.error_detection, body.environment, conn=conn), status=201)


@router.post("/libraries/{code}/terminals/{login}/unlock", tags=["credentials"],
             summary="Lift a kiosk account's lock after repeated failed logins",
             responses=ok(TerminalUnlockedOut))
def unlock_terminal(code: str, login: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None, lambda conn: hub.credentials.unlock_terminal(
        actor, code, login, conn=conn))


@router.delete("/terminals/{login}", tags=["credentials"], responses=ok(TerminalRevokedOut))
def revoke_terminal(login: str, request: Request, actor: ActorDep):
    hub = hub_of(request)
    return perform(request, actor, None,
                   lambda conn: hub.credentials.revoke_terminal(actor, login, conn=conn))


# -- change feed and audit ------------------------------------------------------------
@router.get("/events", tags=["events"],
            summary="This library's change feed: page with ?after=<next_after>",
            responses=ok(EventPageOut))
def events(request: Request, actor: ActorDep,
           after: Position = 0,
           limit: page_size(1000) = 100):
    if actor.role != Role.LIBRARY_SYSTEM and not actor.library_code:
        raise DomainError(Code.FORBIDDEN, problem="send X-Acting-Library")
    page = hub_of(request).feed.read(actor.require_library(), after, limit)
    if page["events"]:
        metrics.feed_delivered(datetime.fromisoformat(
            page["events"][0]["created_at"].replace("Z", "+00:00")).timestamp())
    return page


@router.get("/audit", tags=["audit"], summary="Audit trail (scoped to the caller)",
            responses=ok(AuditListOut))
def audit(request: Request, actor: ActorDep, entity: str | None = None,
          entity_id: str | None = None, action: str | None = None,
          library_code: str | None = None, since: Moment | None = None,
          until: Moment | None = None,
          limit: page_size(1000) = 200):
    return {"items": hub_of(request).audit.search(
        actor, entity=entity, entity_id=entity_id, action=action, library_code=library_code,
        since=since, until=until, limit=limit)}
