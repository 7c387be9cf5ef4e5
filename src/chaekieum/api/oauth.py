"""The OpenID Connect provider's machine endpoints (docs/oidc.md): discovery, JWKS, the
token endpoint, RFC 7009 revocation and userinfo. They speak OAuth 2.0 (form bodies,
`{"error": ...}` answers), not this API's error shape, so they are outside /api/v1 and
its OpenAPI document. The authorization endpoint, where a member signs in and consents,
is a web page (web/oidc.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..domain.errors import DomainError
from ..services.hub import Hub
from ..services.oidc import Answer, ProtocolRequest

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def issuer_of(request: Request, hub: Hub) -> str:
    return hub.oidc.issuer(str(request.base_url))


async def protocol_request(request: Request, hub: Hub) -> ProtocolRequest:
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        data = await request.form()
        form = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
    return ProtocolRequest(request.method, str(request.url), dict(request.headers),
                           list(request.query_params.multi_items()), form,
                           issuer_of(request, hub))


def answer(result: Answer) -> Response:
    status, body, headers = result
    out = dict(headers)
    out.pop("Content-Type", None)
    out.update(NO_STORE)
    return JSONResponse(body if body != "" else {}, status_code=status, headers=out)


def _bearer_error(error: str, status: int) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers={
        **NO_STORE, "WWW-Authenticate": f'Bearer error="{error}"'})


def mount(app: FastAPI, hub: Hub) -> None:
    async def discovery(request: Request) -> Response:
        return JSONResponse(hub.oidc.discovery(issuer_of(request, hub)),
                            headers={"Cache-Control": "public, max-age=3600"})

    async def jwks(request: Request) -> Response:
        keys = await run_in_threadpool(hub.oidc.jwks)
        return JSONResponse(keys, headers={"Cache-Control": "public, max-age=600"})

    async def token(request: Request) -> Response:
        req = await protocol_request(request, hub)
        return answer(await run_in_threadpool(hub.oidc.token, req))

    async def revoke(request: Request) -> Response:
        req = await protocol_request(request, hub)
        return answer(await run_in_threadpool(hub.oidc.revoke, req))

    async def userinfo(request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _bearer_error("invalid_request", 401)
        try:
            held = await run_in_threadpool(hub.oidc.verify_access_token, value.strip())
        except DomainError:
            return _bearer_error("invalid_token", 401)
        if "openid" not in held.scopes:
            return _bearer_error("insufficient_scope", 403)
        info: dict[str, Any] = await run_in_threadpool(
            hub.oidc.user_info, held.member_number, " ".join(held.scopes))
        return JSONResponse(info, headers=NO_STORE)

    app.add_api_route("/.well-known/openid-configuration", discovery, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/oauth/jwks.json", jwks, methods=["GET"], include_in_schema=False)
    app.add_api_route("/oauth/token", token, methods=["POST"], include_in_schema=False)
    app.add_api_route("/oauth/revoke", revoke, methods=["POST"], include_in_schema=False)
    app.add_api_route("/oauth/userinfo", userinfo, methods=["GET", "POST"],
                      include_in_schema=False)
