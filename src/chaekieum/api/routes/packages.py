"""The connector package of a registered library (services/connector_package.py): a zip
with its connector config, the systemd unit, the install steps and the 구축연계 안내서."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...services.context import Actor
from ..auth import hub_of, onboarding_actor
from ..routing import ApiRoute
from ..schemas import ConnectorPackageIn

router = APIRouter(tags=["onboarding"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(onboarding_actor)]  # vendors too
ZIP = "application/zip"

# The success answer is a file, not JSON: documented as binary.
PACKAGE_RESPONSES: dict[int | str, dict] = {200: {
    "description": "The package: a zip with connector.toml, chaekieum-connector.service, "
                   "INSTALL.md and 구축연계_안내서_<도서관부호>.pdf (Content-Disposition names "
                   "it); with `issue_credentials` it carries new sandbox credentials, shown "
                   "this once. Not replayed for an Idempotency-Key (each call builds anew).",
    "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/libraries/{code}/onboarding/connector-package", response_class=Response,
             response_model=None, responses=PACKAGE_RESPONSES,
             summary="Generate the library's connector package (config, install steps, "
                     "구축연계 안내서 PDF), from registration on")
def connector_package(code: str, body: ConnectorPackageIn, request: Request,
                      actor: ActorDep) -> Response:
    hub_url = body.hub_url or str(request.base_url).rstrip("/")
    package = hub_of(request).connector_packages.build(
        actor, code, hub_url, adapter=body.adapter, issue_credentials=body.issue_credentials,
        sip2_host=body.sip2_host or "", sip2_port=body.sip2_port)
    return Response(package.content, media_type=ZIP, headers={
        "Content-Disposition": f'attachment; filename="{package.filename}"',
        "Cache-Control": "no-store"})
