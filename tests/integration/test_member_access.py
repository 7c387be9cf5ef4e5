"""The member-data access rule (services/access.py, docs/api.md "Member data: who may do
what"), table-driven: every member-data operation of the REST API and of SIP2, called
with the credentials of

- the issuing library; a library the member joined (by auto-join); a library of the same
  region the member never joined; a library of another region;
- the regional keys of both regions; a national key;
- a vendor's (사업자) key: vendors act only on the onboarding of the libraries that
  selected them (services/onboarding_access.py), never on a member,

must answer what the table says: status and code, for reads whether personal data or
titles are present, for writes whether the change happened and was audited. A route under
/api/v1/members, or a SIP2 message touching patrons, missing from the tables fails.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chaekieum.api.routes import members as members_api
from chaekieum.domain.errors import DomainError
from chaekieum.services import access
from chaekieum.services.access import Op
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.services.members import Registration
from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.client import raw_frame as sip
from chaekieum.sip2.codec import decode_response
from chaekieum.sip2.handlers import DISPATCH
from chaekieum.sip2.hub_backend import HubBackend
from chaekieum.sip2.messages import REQUESTS, RESPONSE_FOR, RESPONSES
from chaekieum.sip2.server import BackgroundServer
from chaekieum.store.tables import audit_log

from .apiclient import library_key

ISSUING, JOINED, OTHER = "111001", "111002", "111003"  # Seoul
FOREIGN = "121001"  # Busan
ACTORS = ("issuing", "joined", "same_region_never_joined", "other_region",
          "regional_own", "regional_other", "national", "vendor")
VENDOR_BRN = "2208162517"  # the vendor of the issuing library
LIBRARY_OF = {"issuing": ISSUING, "joined": JOINED, "same_region_never_joined": OTHER,
              "other_region": FOREIGN}

# outcomes
FULL = "200 with personal data / titles"
MASKED = "200, personal data masked, no titles"
EMPTY = "200, nothing found"
DONE = "2xx, changed and audited"
NOT_JOINED = "403 MEMBER_NOT_JOINED_HERE"
NOT_ISSUED = "403 MEMBER_NOT_ISSUED_HERE"
OUT_OF_REGION = "403 MEMBER_OUT_OF_REGION"
NEEDS_LIBRARY = "403 FORBIDDEN (no acting library)"
VENDOR_REFUSED = NEEDS_LIBRARY  # the same code: a vendor acts for no library's members
NO_DATA = "answered, no personal data"
REFUSED = {NOT_JOINED: "MEMBER_NOT_JOINED_HERE", OUT_OF_REGION: "MEMBER_OUT_OF_REGION",
           NEEDS_LIBRARY: "FORBIDDEN", NOT_ISSUED: "MEMBER_NOT_ISSUED_HERE"}


def row(issuing: str, joined: str, same_region: str, other_region: str, regional_own: str,
        regional_other: str, national: str, vendor: str = VENDOR_REFUSED) -> dict[str, str]:
    """Every row refuses the vendor (its own library's members included)."""
    return dict(zip(ACTORS, (issuing, joined, same_region, other_region, regional_own,
                             regional_other, national, vendor), strict=True))


# the rule for reads of personal data / titles and for changes: libraries the member joined
JOINED_READ = row(FULL, FULL, NOT_JOINED, NOT_JOINED, FULL, OUT_OF_REGION, FULL)
JOINED_WRITE = row(DONE, DONE, NOT_JOINED, NOT_JOINED, DONE, OUT_OF_REGION, DONE)
# expulsion (제적): the issuing library, its regional admin, a national admin
ISSUER_WRITE = row(DONE, NOT_ISSUED, NOT_ISSUED, NOT_ISSUED, DONE, OUT_OF_REGION, DONE)
# a library's own bar: a library the member joined, for itself (admins: X-Acting-Library)
OWN_LIBRARY_WRITE = row(DONE, DONE, NOT_JOINED, NOT_JOINED, NEEDS_LIBRARY, NEEDS_LIBRARY,
                        NEEDS_LIBRARY)


# --- the world each call starts from ------------------------------------------------------

@dataclass
class Member:
    number: str
    name: str
    returned_title: str  # a loan in the history (lent and returned at JOINED)
    active_title: str | None  # a loan on loan from ISSUING
    active_item: str = ""


_names = (f"권한{chr(0xAC00 + i % 11172)}" for i in itertools.count())
_items = itertools.count()


def make_member(hub: Hub, *, active_loan: bool = True) -> Member:
    """Registered at ISSUING, auto-joined at JOINED by a checkout (returned), and, with
    `active_loan`, holding one copy of ISSUING."""
    name = next(_names)
    number = hub.members.register(
        Actor(Role.LIBRARIAN, "staff:lib-111001", "desk", ISSUING),
        Registration(name=name, birth_year=1990, phone="010-4321-8765",
                     email="who@example.kr", ci=f"ci-{uuid.uuid4()}"))["number"]
    joined = Actor(Role.LIBRARY_SYSTEM, "key:joined", "api", JOINED)
    out = hub.circulation.checkout(joined, CheckoutRequest(member=number,
                                                           item=f"${JOINED}EM0000000001"))
    assert JOINED in {j["library_code"] for j in state(hub, number)["libraries"]}  # auto-join
    returned = out.loan["title"]
    hub.circulation.checkin(joined, CheckinRequest(item=f"${JOINED}EM0000000001"))
    if not active_loan:
        return Member(number, name, returned, None)
    issuing = Actor(Role.LIBRARY_SYSTEM, "key:issuing", "api", ISSUING)
    n = next(_items)  # a copy of its own, registered by the loan (the ILS sends it)
    item = f"${ISSUING}TA{n:010d}"
    active = hub.circulation.checkout(issuing, CheckoutRequest(
        member=number, item=item, copy={"title": f"대출시험 {n}", "loanable": True}))
    return Member(number, name, returned, active.loan["title"], item)


def late_return(hub: Hub, m: Member) -> None:
    """A loan replayed from 40 days ago, returned today: a suspension at JOINED."""
    joined = Actor(Role.LIBRARY_SYSTEM, "key:joined", "api", JOINED)
    item = f"${JOINED}TB{next(_items):010d}"
    hub.circulation.checkout(joined, CheckoutRequest(
        member=m.number, item=item, copy={"title": "연체시험", "loanable": True}, offline=True,
        occurred_at=hub.clock.now() - timedelta(days=40)))
    hub.circulation.checkin(joined, CheckinRequest(item=item))


def audit_rows(hub: Hub, number: str, action: str) -> int:
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.entity == "member", audit_log.c.entity_id == number,
            audit_log.c.action == action))


def audited(hub: Hub, number: str, action: str) -> bool:
    return audit_rows(hub, number, action) > 0


def state(hub: Hub, number: str) -> dict[str, Any]:
    return hub.members.get(SYSTEM, number, Op.READ)


# --- REST -------------------------------------------------------------------------------

@dataclass
class RestCase:
    method: str
    route: str  # the route's path template under /api/v1
    expect: dict[str, str]
    send: Callable[[TestClient, dict, Member], Any]
    # reads: does the answer carry personal data / titles?
    reveals: Callable[[Any, Member], bool] | None = None
    # writes: did the change happen? and the audit action it records
    changed: Callable[[Hub, Member], bool] | None = None
    audit: str | None = None
    prepare: Callable[[Hub, Member], None] | None = None
    active_loan: bool = True


def _name_shown(r, m: Member) -> bool:  # noqa: ANN001
    return m.name in r.text or "010-4321-8765" in r.text or "who@example.kr" in r.text


def _titles_shown(r, m: Member) -> bool:  # noqa: ANN001
    return any(t and t in r.text for t in (m.returned_title, m.active_title)) \
        or '"item"' in r.text


def _get(path: str, **params: Any) -> Callable:
    return lambda c, h, m: c.get("/api/v1" + path.format(n=m.number), params=params,
                                 headers=h)


def _post(path: str, body: Any = None) -> Callable:
    return lambda c, h, m: c.post("/api/v1" + path.format(n=m.number), json=body, headers=h)


REST: list[RestCase] = [
    RestCase("POST", "/members", row(DONE, DONE, DONE, DONE, NEEDS_LIBRARY, NEEDS_LIBRARY,
                                     NEEDS_LIBRARY),
             lambda c, h, m: c.post("/api/v1/members", json={
                 "name": "새회원", "birth_year": 1999, "ci": f"ci-{uuid.uuid4()}"}, headers=h)),
    RestCase("GET", "/members", row(FULL, FULL, EMPTY, EMPTY, FULL, EMPTY, FULL),
             lambda c, h, m: c.get("/api/v1/members", params={"q": m.name}, headers=h),
             reveals=_name_shown),
    RestCase("GET", "/members/{ref}",
             row(FULL, FULL, MASKED, MASKED, FULL, OUT_OF_REGION, FULL),
             _get("/members/{n}"), reveals=_name_shown),
    RestCase("PATCH", "/members/{ref}", JOINED_WRITE,
             lambda c, h, m: c.patch(f"/api/v1/members/{m.number}",
                                     json={"phone": "010-0000-1111"}, headers=h),
             changed=lambda hub, m: state(hub, m.number)["phone"] == "010-0000-1111",
             audit="member.update"),
    # joining is how a participating library becomes one the member joined (desk ID check)
    RestCase("POST", "/members/{ref}/join",
             row(DONE, DONE, DONE, DONE, NEEDS_LIBRARY, NEEDS_LIBRARY, NEEDS_LIBRARY),
             _post("/members/{n}/join"),
             changed=lambda hub, m: True),  # joins at a new library: test_join_is_audited
    RestCase("POST", "/members/{ref}/card-lost", JOINED_WRITE, _post("/members/{n}/card-lost"),
             changed=lambda hub, m: state(hub, m.number)["card_lost"],
             audit="member.card_lost"),
    RestCase("POST", "/members/{ref}/card-lost/lift", JOINED_WRITE,
             _post("/members/{n}/card-lost/lift"),
             changed=lambda hub, m: not state(hub, m.number)["card_lost"],
             audit="member.lift_card_lost",
             prepare=lambda hub, m: hub.members.report_card_lost(SYSTEM, m.number)),
    RestCase("PUT", "/members/{ref}/card-uid", JOINED_WRITE,
             lambda c, h, m: c.put(f"/api/v1/members/{m.number}/card-uid",
                                   json={"card_uid": f"04{m.number[-8:]}"}, headers=h),
             changed=lambda hub, m: state(hub, m.number)["card_uid_linked"],
             audit="member.link_card"),
    RestCase("POST", "/members/{ref}/withdraw", JOINED_WRITE, _post("/members/{n}/withdraw"),
             changed=lambda hub, m: state(hub, m.number)["status"] == "withdrawn",
             audit="member.withdraw", active_loan=False),
    RestCase("POST", "/members/{ref}/expel", ISSUER_WRITE,
             _post("/members/{n}/expel", {"reason": "도서 훼손 반복"}),
             changed=lambda hub, m: state(hub, m.number)["status"] == "expelled",
             audit="member.expel"),
    RestCase("POST", "/members/{ref}/expel/lift", ISSUER_WRITE, _post("/members/{n}/expel/lift"),
             changed=lambda hub, m: state(hub, m.number)["status"] == "active",
             audit="member.lift_expulsion",
             prepare=lambda hub, m: hub.members.expel(SYSTEM, m.number, "시험")),
    RestCase("POST", "/members/{ref}/bar", OWN_LIBRARY_WRITE,
             _post("/members/{n}/bar", {"reason": "열람실 소란"}),
             changed=lambda hub, m: any(j["status"] == "barred"
                                        for j in state(hub, m.number)["libraries"]),
             audit="member.bar"),
    RestCase("POST", "/members/{ref}/bar/lift", OWN_LIBRARY_WRITE,
             _post("/members/{n}/bar/lift", {"reason": "사과함"}),
             changed=lambda hub, m: any(j["status"] == "active"
                                        for j in state(hub, m.number)["libraries"]),
             audit="member.lift_bar",
             prepare=lambda hub, m: [hub.members.bar(Actor(Role.SYSTEM, "t", "cli", code),
                                                     m.number, "시험")
                                     for code in (ISSUING, JOINED)]),
    RestCase("GET", "/members/{ref}/loans", JOINED_READ, _get("/members/{n}/loans"),
             reveals=_titles_shown),
    RestCase("GET", "/members/{ref}/loans?history=true", JOINED_READ,
             _get("/members/{n}/loans", history="true"), reveals=_titles_shown),
    RestCase("POST", "/members/{ref}/history/hide", JOINED_WRITE,
             _post("/members/{n}/history/hide", {}),
             changed=lambda hub, m: not [
                 x for x in hub.members.loans(SYSTEM, m.number, include_returned=True)
                 if x["state"] == "returned"],
             audit="member.hide_history"),
    RestCase("GET", "/members/{ref}/suspensions", JOINED_READ,
             _get("/members/{n}/suspensions"),
             reveals=lambda r, m: r.json()["items"][0]["days_late"] > 0,
             prepare=lambda hub, m: late_return(hub, m)),
]


def _case_id(case: RestCase) -> str:
    return f"{case.method} {case.route}"


def test_every_member_route_is_in_the_table(client: TestClient) -> None:
    """Adding an operation under /members without adding it to the table fails here."""
    # the members router (hidden routes too) and whatever the app documents under /members
    routes = {(method, route.path) for route in members_api.router.routes
              if isinstance(route, APIRoute) for method in route.methods}
    routes |= {(method.upper(), path.removeprefix("/api/v1"))
               for path, ops in client.app.openapi()["paths"].items()
               if path.startswith("/api/v1/members") for method in ops}
    table = {(c.method, c.route.split("?")[0]) for c in REST}
    assert routes == table


@pytest.fixture
def keys(any_hub: Hub) -> dict[str, dict[str, str]]:
    creds = any_hub.credentials
    tokens = {who: library_key(code) for who, code in LIBRARY_OF.items()}
    tokens["regional_own"] = creds.create_api_key(SYSTEM, "region", "seoul", "t")["api_key"]
    tokens["regional_other"] = creds.create_api_key(SYSTEM, "region", "busan", "t")["api_key"]
    tokens["national"] = creds.create_api_key(SYSTEM, "national", "", "t")["api_key"]
    any_hub.vendors.create(SYSTEM, VENDOR_BRN, "구축사업자")
    tokens["vendor"] = creds.create_api_key(SYSTEM, "vendor", VENDOR_BRN, "t")["api_key"]
    return {who: {"Authorization": f"Bearer {t}"} for who, t in tokens.items()}


def test_rest_member_operations_follow_the_rule(client: TestClient, any_hub: Hub,
                                                keys) -> None:  # noqa: ANN001
    """Every row of REST x every actor, each call on a member of its own (one hub: the
    keys are verified once)."""
    wrong = []
    for case, who in itertools.product(REST, ACTORS):
        member = make_member(any_hub, active_loan=case.active_loan)
        if case.prepare:
            case.prepare(any_hub, member)
        before = state(any_hub, member.number)
        r = case.send(client, keys[who], member)
        expected = case.expect[who]
        got = _rest_outcome(case, r, any_hub, member, before)
        if got != expected:
            wrong.append(f"{_case_id(case)} as {who}: expected {expected!r}, got {got!r}: "
                         f"{r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)


def _rest_outcome(case: RestCase, r, hub: Hub, m: Member, before: dict) -> str:  # noqa: ANN001
    if r.status_code == 403:
        for outcome, code in REFUSED.items():
            if r.json()["code"] == code:
                # a refusal changes nothing (and shows nothing)
                assert state(hub, m.number) == before, case.route
                assert m.name not in r.text
                return outcome
        return f"403 {r.json()['code']}"
    if r.status_code not in (200, 201):
        return f"{r.status_code} {r.text[:80]}"
    if case.changed is not None:
        if not case.changed(hub, m):
            return "2xx without the change"
        if case.audit and not audited(hub, m.number, case.audit):
            return "2xx without an audit row"
        return DONE
    if case.reveals is None:  # register
        return DONE
    body = r.json()
    if isinstance(body, dict) and body.get("items") == []:
        return EMPTY
    return FULL if case.reveals(r, m) else MASKED


def test_masked_lookup_shows_what_circulation_needs(client: TestClient, any_hub: Hub,
                                                    keys) -> None:  # noqa: ANN001
    m = make_member(any_hub)
    view = client.get(f"/api/v1/members/{m.number}",
                      headers=keys["same_region_never_joined"]).json()
    assert view["personal_data_visible"] is False and view["joined_here"] is False
    assert view["name"] != m.name and view["name"][0] == m.name[0]
    assert view["birth_year"] is None and view["libraries"] == []
    assert view["status"] == "active" and view["loans_active"] == 1
    # what the desk checks before lending: it may lend (and so auto-join the member)
    r = client.post("/api/v1/circulation/checkout", headers=keys["same_region_never_joined"],
                    json={"member": m.number, "item": f"${OTHER}EM0000000001"})
    assert r.status_code == 200 and r.json()["auto_joined"] is True
    view = client.get(f"/api/v1/members/{m.number}",
                      headers=keys["same_region_never_joined"]).json()
    assert view["personal_data_visible"] is True and view["name"] == m.name


def test_regional_admin_acting_at_a_library_is_that_library(client: TestClient,
                                                            any_hub: Hub, keys) -> None:  # noqa: ANN001
    """With X-Acting-Library a regional key acts for that library: a member of another
    region is found masked for circulation, not read or changed."""
    busan_member = make_member(any_hub)  # joined 111001/111002 only
    any_hub.members.join(Actor(Role.SYSTEM, "t", "cli", FOREIGN), busan_member.number)
    headers = {**keys["regional_other"], "X-Acting-Library": FOREIGN}
    assert client.get(f"/api/v1/members/{busan_member.number}",
                      headers=headers).json()["personal_data_visible"] is True
    other = make_member(any_hub)
    view = client.get(f"/api/v1/members/{other.number}", headers=headers).json()
    assert view["personal_data_visible"] is False
    r = client.post(f"/api/v1/members/{other.number}/withdraw", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "MEMBER_NOT_JOINED_HERE"


def test_join_at_a_new_library_is_audited(client: TestClient, any_hub: Hub,
                                          keys) -> None:  # noqa: ANN001
    m = make_member(any_hub)
    r = client.post(f"/api/v1/members/{m.number}/join",
                    headers=keys["same_region_never_joined"])
    assert r.status_code == 200 and r.json()["personal_data_visible"] is True
    assert OTHER in {j["library_code"] for j in state(any_hub, m.number)["libraries"]}
    assert audited(any_hub, m.number, "member.join")


# --- the service rule itself: operations without a REST route -------------------------

def test_every_operation_of_the_rule_is_exercised() -> None:
    """Each Op of services/access.py is covered by a REST row, a SIP2 row or a
    service test below."""
    rest = {Op.LOOKUP, Op.READ, Op.UPDATE, Op.JOIN, Op.CARD_LOST, Op.LIFT_CARD_LOST,
            Op.LINK_CARD, Op.WITHDRAW, Op.LOANS, Op.HIDE_HISTORY, Op.SUSPENSIONS, Op.EXPEL,
            Op.LIFT_EXPULSION, Op.BAR, Op.LIFT_BAR}
    service_only = {Op.SET_PASSWORD}  # the portal and the desk, not the REST API
    assert rest | service_only == set(Op)
    assert set(access.WHO_MAY) == set(Op)


def test_a_vendor_stands_nowhere(hub: Hub) -> None:
    """The rule's table for a vendor (by its staff or its key): every operation refused,
    also for a member of a library that selected it, and also acting 'for' a library."""
    m = make_member(hub)
    hub.vendors.create(SYSTEM, VENDOR_BRN, "구축사업자")
    hub.vendors.assign(SYSTEM, "141099", VENDOR_BRN)
    subject = access.Subject.of(m.number, [(ISSUING, "seoul"), (JOINED, "seoul")],
                                (ISSUING, "seoul"))
    for actor in (Actor(Role.VENDOR, "staff:v", "console", vendor=VENDOR_BRN),
                  Actor(Role.VENDOR, "key:v", "api", ISSUING, vendor=VENDOR_BRN)):
        assert access.standing(actor, subject) == access.Standing.NONE
        for op in Op:
            with pytest.raises(DomainError) as err:
                access.check(actor, op, subject)
            assert err.value.code == "FORBIDDEN", op
        with pytest.raises(DomainError) as err:
            hub.members.get(actor, m.number, Op.LOOKUP)
        assert err.value.code == "FORBIDDEN"


def test_set_password_follows_the_rule(hub: Hub) -> None:
    m = make_member(hub)
    actors = {
        "issuing": Actor(Role.LIBRARIAN, "staff:a", "desk", ISSUING),
        "joined": Actor(Role.LIBRARIAN, "staff:b", "desk", JOINED),
        "same_region_never_joined": Actor(Role.LIBRARIAN, "staff:c", "desk", OTHER),
        "other_region": Actor(Role.LIBRARIAN, "staff:d", "desk", FOREIGN),
        "regional_own": Actor(Role.REGIONAL_ADMIN, "staff:e", "desk", region_code="seoul"),
        "regional_other": Actor(Role.REGIONAL_ADMIN, "staff:f", "desk", region_code="busan"),
        "national": Actor(Role.NATIONAL_ADMIN, "staff:g", "desk"),
        "self": Actor(Role.MEMBER, f"member:{m.number}", "portal"),
        "another member": Actor(Role.MEMBER, "member:11100126000010", "portal"),
        "vendor": Actor(Role.VENDOR, "staff:v", "console", vendor=VENDOR_BRN),
    }
    expect = {**JOINED_WRITE, "self": DONE, "another member": "403 FORBIDDEN",
              "vendor": "403 FORBIDDEN"}
    got = {}
    for who, actor in actors.items():
        rows = audit_rows(hub, m.number, "member.set_password")
        try:
            hub.members.set_password(actor, m.number, f"new-pass-{who}")
            got[who] = (DONE if audit_rows(hub, m.number, "member.set_password") == rows + 1
                        else "no audit")
        except DomainError as exc:
            got[who] = {"MEMBER_NOT_JOINED_HERE": NOT_JOINED,
                        "MEMBER_OUT_OF_REGION": OUT_OF_REGION}.get(
                            exc.code, f"403 {exc.code}")
    assert got == expect


def test_member_portal_reaches_only_its_own_record(hub: Hub) -> None:
    m, other = make_member(hub), make_member(hub)
    me = Actor(Role.MEMBER, f"member:{m.number}", "portal")
    assert hub.members.get(me, m.number, Op.READ)["name"] == m.name
    assert hub.members.loans(me, m.number, include_returned=True)
    assert hub.members.hide_history(me, m.number) == 1
    for call in (lambda: hub.members.get(me, other.number),
                 lambda: hub.members.loans(me, other.number),
                 lambda: hub.members.suspension_history(me, other.number),
                 lambda: hub.members.hide_history(me, other.number),
                 lambda: hub.members.search(me, other.name),
                 lambda: hub.members.update(me, m.number, {"phone": "010-1"}),
                 lambda: hub.members.withdraw(me, m.number)):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "FORBIDDEN"


# --- card UIDs ----------------------------------------------------------------------------

def test_card_uid_rules(hub: Hub) -> None:
    a, b = make_member(hub), make_member(hub)
    desk = Actor(Role.LIBRARIAN, "staff:lib-111001", "desk", ISSUING)
    hub.members.link_card(desk, a.number, "04CAFE01")
    # a UID already linked to another member is refused, and nothing changes
    with pytest.raises(DomainError) as refused:
        hub.members.link_card(desk, b.number, "04CAFE01")
    assert refused.value.code == "CARD_UID_IN_USE"
    assert state(hub, b.number)["card_uid_linked"] is False
    assert hub.members.get(desk, "04CAFE01")["number"] == a.number
    # a lost card: linking a new UID keeps the block; lifting is its own audited action
    hub.members.report_card_lost(desk, a.number)
    view = hub.members.link_card(desk, a.number, "04CAFE02")
    assert view["card_lost"] is True and view["card_uid_linked"] is True
    assert not audited(hub, a.number, "member.lift_card_lost")
    with pytest.raises(DomainError) as blocked:
        hub.circulation.checkout(desk, CheckoutRequest(member="04CAFE02",
                                                       item=f"${ISSUING}EM0000000011"))
    assert "CARD_LOST" in {r.code for r in blocked.value.reasons}
    assert hub.members.lift_card_lost(desk, a.number)["card_lost"] is False
    assert audited(hub, a.number, "member.lift_card_lost")
    hub.circulation.checkout(desk, CheckoutRequest(member="04CAFE02",
                                                   item=f"${ISSUING}EM0000000011"))


# --- SIP2 ---------------------------------------------------------------------------------

KIOSKS = ("issuing", "joined", "same_region_never_joined", "other_region")
NOW = "20260304    100000"
BLANK = " " * 18


@dataclass
class SipCase:
    code: str
    expect: dict[str, str]  # per kiosk
    frame: Callable[[Member, str], str]  # (member, kiosk library) -> request text
    judge: Callable[[Any, Member, Hub], str]
    advance_days: int = 0
    prepare: Callable[[Hub, str], Any] | None = None  # (hub, kiosk library)


def _ask(c: Sip2Client, text: str, seq: int):  # noqa: ANN202
    c.send_raw(sip(text, seq))
    line = c.read_line()
    assert line, "server closed the connection"
    return decode_response(line, "utf-8")


def _text(r) -> str:  # noqa: ANN001
    return "|".join(f"{k}{v}" for k, values in r.fields.items() for v in values)


def _personal(r, m: Member) -> str:  # noqa: ANN001
    """FULL if the reply shows the name or loan items/titles; MASKED if it shows the
    masked name only."""
    text = _text(r)
    if m.name in text or m.active_title and m.active_title in text or "AU$" in text:
        return FULL
    return MASKED


def _patron_info(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    assert r.code == "64" and r.get("BL") == "Y"
    assert int(r.fixed["charged_items_count"]) == 1  # counts: what circulation needs
    return _personal(r, m)


def _patron_status(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    assert r.code == "24" and r.get("BL") == "Y"
    return _personal(r, m)


def _blocked(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    assert r.code == "24"
    lost = state(hub, m.number)["card_lost"]
    if lost:
        assert audited(hub, m.number, "member.card_lost")
        assert audited(hub, m.number, "sip2.block_patron")
        return DONE
    assert not audited(hub, m.number, "sip2.block_patron")
    assert m.name not in _text(r)
    return NOT_JOINED if any("가입하지 않은" in t for t in r.all("AF")) else "not blocked"


def _renew_all(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    assert r.code == "66"
    if r.all("BM") or r.all("BN"):
        return FULL
    return NOT_JOINED if any("가입하지 않은" in t for t in r.all("AF")) else MASKED


def _lent(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    """11: any participating library may lend (the first loan joins the member there);
    the reply carries the lent item's title, never the member's name."""
    assert m.name not in _text(r)
    return DONE if r.fixed["ok"] == "1" else f"not lent: {r.get('AF')}"


def _returned(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    """09: a return names the member by number (the loan's), never by name."""
    assert m.name not in _text(r)
    return DONE if r.fixed["ok"] == "1" else "refused"


def _renewed(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    assert m.name not in _text(r)
    return DONE if r.fixed["ok"] == "1" else "refused"


def lend_to_someone(hub: Hub, item: str) -> None:
    """The copy goes out to another member (a copy on the shelf is borrowed, not held)."""
    other = make_member(hub, active_loan=False)
    hub.circulation.checkout(Actor(Role.SYSTEM, "t", "cli", item[1:7]),
                             CheckoutRequest(member=other.number, item=item))


def _held(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    """15: the reply names the copy (this library's), never the member."""
    assert r.code == "16" and m.name not in _text(r)
    return DONE if r.fixed["ok"] == "1" else f"refused: {r.all('AF')}"


def _no_patron_data(r, m: Member, hub: Hub) -> str:  # noqa: ANN001
    assert m.name not in _text(r) and "AU" not in r.fields
    return NO_DATA


SIP2: list[SipCase] = [
    SipCase("23", dict(issuing=FULL, joined=FULL, same_region_never_joined=MASKED,
                       other_region=MASKED),
            lambda m, lib: f"23000{NOW}AO{lib}|AA{m.number}|AC|", _patron_status),
    SipCase("63", dict(issuing=FULL, joined=FULL, same_region_never_joined=MASKED,
                       other_region=MASKED),
            lambda m, lib: f"63000{NOW}  Y       AO{lib}|AA{m.number}|AC|", _patron_info),
    # Block Patron with an empty AO too: the kiosk acts for its own library, whatever AO
    SipCase("01", dict(issuing=DONE, joined=DONE, same_region_never_joined=NOT_JOINED,
                       other_region=NOT_JOINED),
            lambda m, lib: f"01N{NOW}AO|ALcard kept|AA{m.number}|AC|", _blocked),
    SipCase("65", dict(issuing=FULL, joined=FULL, same_region_never_joined=NOT_JOINED,
                       other_region=NOT_JOINED),
            lambda m, lib: f"65{NOW}AO{lib}|AA{m.number}|AC|", _renew_all),
    SipCase("11", dict(issuing=DONE, joined=DONE, same_region_never_joined=DONE,
                       other_region=DONE),
            lambda m, lib: f"11YN{NOW}{BLANK}AO{lib}|AA{m.number}|AB${lib}EM0000000010|AC|",
            _lent),
    # returns follow the return-routing rule (within the region), not the member's joins
    SipCase("09", dict(issuing=DONE, joined=DONE, same_region_never_joined=DONE,
                       other_region="refused"),
            lambda m, lib: f"09N{NOW}{NOW}AP{lib}|AO{lib}|AB{m.active_item}|AC|", _returned),
    # renewals: the owning library only (ISSUING owns the member's active loan), a day later
    SipCase("29", dict(issuing=DONE, joined="refused", same_region_never_joined="refused",
                       other_region="refused"),
            lambda m, lib: f"29NN{NOW}{BLANK}AO{lib}|AA{m.number}|AB{m.active_item}|AC|",
            _renewed, advance_days=1),
    # holds: a kiosk reserves its own library's copy for the card in it (circulation)
    SipCase("15", dict(issuing=DONE, joined=DONE, same_region_never_joined=DONE,
                       other_region=DONE),
            lambda m, lib: f"15+{NOW}AO{lib}|AA{m.number}|AB${lib}EM0000000004|AC|",
            _held, prepare=lambda hub, lib: lend_to_someone(hub, f"${lib}EM0000000004")),
    SipCase("35", dict(issuing=NO_DATA, joined=NO_DATA, same_region_never_joined=NO_DATA,
                       other_region=NO_DATA),
            lambda m, lib: f"35{NOW}AO{lib}|AA{m.number}|AC|", _no_patron_data),
    SipCase("37", dict(issuing=NO_DATA, joined=NO_DATA, same_region_never_joined=NO_DATA,
                       other_region=NO_DATA),
            lambda m, lib: f"37{NOW}0100KRWAO{lib}|AA{m.number}|BV0|AC|", _no_patron_data),
]


def test_every_sip2_message_touching_patrons_is_in_the_table() -> None:
    """A handled message whose request or response carries a patron (AA) is in SIP2."""
    touching = {code for code in DISPATCH
                if "AA" in REQUESTS[code].fields
                or "AA" in RESPONSES[RESPONSE_FOR[code] or ""].fields}
    assert touching == {c.code for c in SIP2}


@pytest.fixture
def sip_server(hub: Hub) -> Iterator[BackgroundServer]:
    with BackgroundServer(HubBackend(hub)) as s:
        yield s


def test_sip2_patron_messages_follow_the_rule(hub: Hub, clock,  # noqa: ANN001
                                              sip_server: BackgroundServer) -> None:
    """Every row of SIP2 x the four kiosks, each on a member of its own, over one logged-in
    connection per kiosk."""
    wrong = []
    seq = itertools.count()
    with contextlib.ExitStack() as stack:
        kiosks = {}
        for who in KIOSKS:
            lib = LIBRARY_OF[who]
            c = stack.enter_context(Sip2Client(port=sip_server.port, timeout=10))
            login = _ask(c, f"9300CNkiosk-{lib}|COkiosk-pass-{lib}|CPdoor|", next(seq) % 10)
            assert login.fixed["ok"] == "1"
            kiosks[who] = c
        for case, who in itertools.product(SIP2, KIOSKS):
            member = make_member(hub)
            clock.advance(days=case.advance_days)
            if case.prepare:
                case.prepare(hub, LIBRARY_OF[who])
            r = _ask(kiosks[who], case.frame(member, LIBRARY_OF[who]), next(seq) % 10)
            got = case.judge(r, member, hub)
            if got != case.expect[who]:
                wrong.append(f"{case.code} at {who}: expected {case.expect[who]!r}, "
                             f"got {got!r}: {_text(r)}")
    assert not wrong, "\n".join(wrong)

