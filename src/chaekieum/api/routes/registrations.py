"""온라인 회원가입 for library homepages and apps: identity verification (본인인증) and
the registration of an associate member (준회원) at the acting library.

The member's first ID check at a desk (`POST /members/{ref}/join`, the desk's ID check)
makes them a full member. Attempts are counted per API key (services/throttle.py:
SIGNUP_API, VERIFY_START); refusals carry codes and field names, never personal data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ...domain.online import OnlineApplication
from ...services import throttle
from ...services.context import Actor
from ...services.identity import Proof
from ..auth import current_actor, hub_of
from ..openapi import ok
from ..outputs import MemberOut, VerificationStartOut
from ..routing import ApiRoute
from ..schemas import OnlineRegistrationIn, VerificationIn, VerificationStartIn
from ..writes import perform

router = APIRouter(tags=["online registration"], route_class=ApiRoute)
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.post("/identity/verifications",
             summary="Start an identity verification (본인인증): where to send the person",
             responses=ok(VerificationStartOut))
def start_verification(body: VerificationStartIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    hub.members.count_signup_attempt(throttle.VERIFY_START, body.provider, actor.label)
    return hub.identity.start(body.provider, body.purpose, body.return_url)


def _proof(request: Request, verification: VerificationIn | None) -> Proof | None:
    if verification is None:
        return None
    return hub_of(request).identity.finish(verification.state, verification.answer)


@router.post("/registrations", status_code=201,
             summary="온라인 회원가입: an associate member (준회원) at the acting library, "
                     "with the applicant's (from 14) or the guardian's (under 14) identity "
                     "verification; a duplicate CI is refused",
             responses=ok(MemberOut, 201))
def register_online(body: OnlineRegistrationIn, request: Request, actor: ActorDep):
    hub = hub_of(request)
    hub.members.count_signup_attempt(throttle.SIGNUP_API, actor.library_code or "",
                                     actor.label)
    own = _proof(request, body.verification)
    guardian = _proof(request, body.guardian.verification if body.guardian else None)
    app = OnlineApplication(
        name=body.name, birth_year=body.birth_year, phone=body.phone, email=body.email,
        password=body.password, privacy_consent=body.privacy_consent,
        guardian_name=body.guardian.name if body.guardian else None,
        guardian_phone=body.guardian.phone if body.guardian else None)
    return perform(request, actor, body, lambda conn: hub.members.register_online(
        actor, app, own, guardian, conn=conn), status=201)
