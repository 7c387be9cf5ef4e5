"""API authentication: `Authorization: Bearer ck_<id>_<secret>` per library or admin.

A library key acts only for its own library. National and regional admin keys may act
at one library (within their scope) by naming it in `X-Acting-Library`. Everything an API
key does is recorded with channel "api"; an `X-Channel` header is ignored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from ..domain.errors import Code, DomainError
from ..services.context import Actor, Role
from ..services.hub import Hub
from .openapi import bearer


def hub_of(request: Request) -> Hub:
    return request.app.state.hub


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, None if there is none."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def current_actor(
        request: Request,
        _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Actor:
    """The caller of every route except the onboarding routes: a vendor's key is refused
    here (FORBIDDEN), whatever the service would say (services/onboarding.py: a vendor
    acts only on the onboarding of the libraries that selected it)."""
    return not_a_vendor(await _actor(request))


def not_a_vendor(actor: Actor) -> Actor:
    """current_actor's rule (also api.fastpath's): a vendor's key reaches onboarding only."""
    if actor.role == Role.VENDOR:
        raise DomainError(Code.FORBIDDEN, problem="a vendor key reaches onboarding only")
    return actor


async def onboarding_actor(
        request: Request,
        _declared: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Actor:
    """The caller of an onboarding route: any key, vendors' too (the service decides)."""
    return await _actor(request)


async def _actor(request: Request) -> Actor:
    """Async so the usual case (a key already verified) costs no thread hand-off; a key
    seen for the first time is verified (argon2, database) in a worker thread.
    (`_declared` only puts the bearer scheme on the operation in the OpenAPI document;
    the header is read and checked here, with this API's own error answers.)"""
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise DomainError(Code.AUTH_REQUIRED)
    hub = hub_of(request)
    principal = hub.credentials.verified_without_io(token)
    if principal is None:
        principal = await run_in_threadpool(hub.credentials.verify_api_key, token)
    # The recorded channel comes from the credential (an API key: "api"), never from a
    # request header a client could set to pass itself off as a desk or a kiosk.
    actor = principal.actor()
    acting = request.headers.get("x-acting-library")
    if acting and actor.role == Role.VENDOR:
        raise DomainError(Code.FORBIDDEN, library_code=acting[:10])
    if acting and actor.role != Role.LIBRARY_SYSTEM:
        lib = await run_in_threadpool(hub.registry.library, acting)
        if actor.role == Role.REGIONAL_ADMIN and lib.region_code != actor.region_code:
            raise DomainError(Code.FORBIDDEN, library_code=acting)
        actor = actor.acting_for(acting)
    return actor


def require_admin(actor: Actor) -> None:
    actor.require_role(Role.NATIONAL_ADMIN, Role.REGIONAL_ADMIN)
