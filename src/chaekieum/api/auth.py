"""API authentication: `Authorization: Bearer ck_<id>_<secret>` per library or admin.

A library key acts only for its own library. National and regional admin keys may act
at one library (within their scope) by naming it in `X-Acting-Library`. Everything an API
key does is recorded with channel "api"; an `X-Channel` header is ignored.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..domain.errors import Code, DomainError
from ..services.context import Actor, Role
from ..services.hub import Hub


def hub_of(request: Request) -> Hub:
    return request.app.state.hub


async def current_actor(request: Request) -> Actor:
    """Async so the usual case (a key already verified) costs no thread hand-off; a key
    seen for the first time is verified (argon2, database) in a worker thread."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError(Code.AUTH_REQUIRED)
    hub = hub_of(request)
    token = token.strip()
    principal = hub.credentials.verified_without_io(token)
    if principal is None:
        principal = await run_in_threadpool(hub.credentials.verify_api_key, token)
    # The recorded channel comes from the credential (an API key: "api"), never from a
    # request header a client could set to pass itself off as a desk or a kiosk.
    actor = principal.actor()
    acting = request.headers.get("x-acting-library")
    if acting and actor.role != Role.LIBRARY_SYSTEM:
        lib = await run_in_threadpool(hub.registry.library, acting)
        if actor.role == Role.REGIONAL_ADMIN and lib.region_code != actor.region_code:
            raise DomainError(Code.FORBIDDEN, library_code=acting)
        actor = actor.acting_for(acting)
    return actor


def require_admin(actor: Actor) -> None:
    actor.require_role(Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN)
