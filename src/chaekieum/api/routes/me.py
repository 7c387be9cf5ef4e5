"""The member API (/api/v1/me/…): what a library homepage or app does for a member who
signed in with their 책이음 card (docs/oidc.md). The credential is the member's access
token from the hub's OpenID Connect provider, and each operation needs its scope:

| scope | operations |
|---|---|
| profile | `GET /me` |
| card | `GET /me/card` (the full number, for the barcode and QR) |
| loans:read | `GET /me/loans`, `GET /me/suspensions`, `POST /me/history/hide` |
| loans:renew | `POST /me/loans/renew` |
| reservations | `GET|POST /me/reservations`, `POST /me/reservations/{id}/cancel` |

The member acts as themselves (services/access.py: SELF), through channel `app`; the
same services and rules as the portal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from ...domain.errors import Code, DomainError
from ...services.context import Actor, Role
from ...services.oidc import MemberToken
from ..auth import hub_of
from ..openapi import ok
from ..outputs import (
    HiddenOut,
    MemberLoansOut,
    MyCardOut,
    MyProfileOut,
    OutcomeOut,
    SuspensionListOut,
)
from ..routing import ApiRoute
from ..schemas import (
    Body,
    DbId,
    HistoryHideIn,
    ReservationCancelOut,
    ReservationListOut,
    ReservationOut,
)
from ..writes import perform

MEMBER_SCHEME = "MemberToken"
member_bearer = HTTPBearer(
    scheme_name=MEMBER_SCHEME, bearerFormat="OAuth 2.0 access token", auto_error=False,
    description="A member's access token from the hub's OpenID Connect provider "
                "(authorization code flow with PKCE; docs/oidc.md). Each operation needs "
                "its scope: profile, card, loans:read, loans:renew, reservations.")


async def member_token(
        request: Request,
        _declared: Annotated[HTTPAuthorizationCredentials | None,
                             Security(member_bearer)] = None,
) -> MemberToken:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise DomainError(Code.AUTH_REQUIRED)
    return await run_in_threadpool(hub_of(request).oidc.verify_access_token, token.strip())


TokenDep = Annotated[MemberToken, Depends(member_token)]
router = APIRouter(prefix="/me", tags=["member (OpenID Connect)"], route_class=ApiRoute)


def _actor(held: MemberToken, scope: str, library_code: str | None = None) -> Actor:
    held.require(scope)
    return Actor(Role.MEMBER, f"member:{held.member_number}", "app", library_code=library_code)


class MyRenewIn(Body):
    item: str = Field(..., min_length=1, max_length=40, description="the loan's 통합바코드")


class MyReservationIn(Body):
    item: str = Field(..., min_length=1, max_length=40,
                      description="통합바코드 of a copy on loan or on its way home")
    library: str | None = Field(None, pattern=r"^\d{6}$",
                                description="the owning library (a library the member joined)")


@router.get("", summary="The member: name, masked number, status (scope profile)",
            responses=ok(MyProfileOut))
def profile(request: Request, held: TokenDep):
    hub = hub_of(request)
    actor = _actor(held, "profile")
    view = hub.members.get(actor, held.member_number)
    return {"sub": hub.oidc.subject(held.member_number), "name": view["name"],
            "member_number_masked": view["number_masked"], "status": view["status"],
            "status_label": view["status_label"], "card_lost": view["card_lost"],
            "suspended_until": view["suspended_until"],
            "loans_active": view["loans_active"], "loans_overdue": view["loans_overdue"],
            "libraries": [{"library_code": j["library_code"],
                           "library_name": j["library_name"]} for j in view["libraries"]]}


@router.get("/card", summary="The mobile card: the number for the Code 128 barcode and the "
            "QR (scope card)", responses=ok(MyCardOut))
def card(request: Request, held: TokenDep):
    view = hub_of(request).members.get(_actor(held, "card"), held.member_number)
    number = view["number"]
    return {"number": number, "name": view["name"], "status": view["status"],
            "card_lost": view["card_lost"],
            "barcode": {"format": "code128", "value": number},
            "qr": {"format": "qr", "value": number}}


@router.get("/loans", summary="The member's loans at every library (scope loans:read; "
            "history=true: returned ones too, unless hidden)", responses=ok(MemberLoansOut))
def loans(request: Request, held: TokenDep, history: bool = False):
    return {"items": hub_of(request).members.loans(
        _actor(held, "loans:read"), held.member_number, include_returned=history)}


@router.post("/loans/renew", summary="반납연기 of one of the member's loans, by its owning "
             "library on the member's behalf (scope loans:renew)", responses=ok(OutcomeOut))
def renew(body: MyRenewIn, request: Request, held: TokenDep):
    hub = hub_of(request)
    actor = _actor(held, "loans:renew")
    loan = next((x for x in hub.members.loans(actor, held.member_number)
                 if x["item"] == body.item), None)
    if loan is None:
        raise DomainError(Code.NOT_ON_LOAN, item=body.item)
    acting = _actor(held, "loans:renew", loan["owner_library"])
    return perform(request, acting, body, lambda conn: hub.circulation.renew(
        acting, body.item, member_ref=held.member_number, conn=conn).as_dict())


@router.get("/suspensions", summary="The member's suspensions (scope loans:read)",
            responses=ok(SuspensionListOut))
def suspensions(request: Request, held: TokenDep):
    return {"items": hub_of(request).members.suspension_history(
        _actor(held, "loans:read"), held.member_number)}


@router.post("/history/hide", summary="Hide returned loans from the member's history (all, or "
             "loan_ids; scope loans:read; audited)", responses=ok(HiddenOut))
def hide_history(body: HistoryHideIn, request: Request, held: TokenDep):
    hub = hub_of(request)
    actor = _actor(held, "loans:read")
    return perform(request, actor, body, lambda conn: {"hidden": hub.members.hide_history(
        actor, held.member_number, body.loan_ids, conn=conn)})


@router.get("/reservations", summary="The member's reservations (scope reservations)",
            responses=ok(ReservationListOut))
def reservations(request: Request, held: TokenDep, closed: bool = False):
    return {"items": hub_of(request).reservations.for_member(
        _actor(held, "reservations"), held.member_number, include_closed=closed)}


@router.post("/reservations", status_code=201, summary="예약 at a library the member joined "
             "(scope reservations)", responses=ok(ReservationOut, 201))
def reserve(body: MyReservationIn, request: Request, held: TokenDep):
    hub = hub_of(request)
    actor = _actor(held, "reservations")
    return perform(request, actor, body, lambda conn: hub.reservations.place(
        actor, held.member_number, body.item, body.library, conn=conn), status=201)


@router.post("/reservations/{reservation_id}/cancel",
             summary="Cancel one of the member's reservations (scope reservations)",
             responses=ok(ReservationCancelOut))
def cancel_reservation(reservation_id: DbId, request: Request, held: TokenDep):
    hub = hub_of(request)
    actor = _actor(held, "reservations")
    return perform(request, actor, None, lambda conn: hub.reservations.cancel(
        actor, reservation_id, conn=conn))
