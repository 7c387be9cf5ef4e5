"""Vendors (사업자, issue 11): the registry, a library's choice of vendor, vendor staff and
keys, and the onboarding access rule (services/onboarding_access.py) as a table: every
onboarding operation x every kind of caller -> allowed or refused (FORBIDDEN), with the
change made and audited only when allowed."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from chaekieum.domain.errors import Code, DomainError
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.store.tables import audit_log, libraries, notices

from .. import docfiles
from .apiclient import LibraryClient

V1, V2 = "2208162517", "1248100998"  # two valid 사업자등록번호
NATIONAL = Actor(Role.NATIONAL_ADMIN, "staff:nat", "console")


def vendor_actor(brn: str, ident: str = "staff:v") -> Actor:
    return Actor(Role.VENDOR, ident, "console", vendor=brn)


@pytest.fixture
def vendors(any_hub: Hub) -> Hub:
    any_hub.vendors.create(NATIONAL, "220-81-62517", "한빛정보(주)", "김구축",
                           "build@hanbit.example", "02-123-4567")
    any_hub.vendors.create(NATIONAL, "124-81-00998", "다른정보(주)", "", "other@v2.example")
    return any_hub


def new_library(hub: Hub, stage: str = "building", vendor: str | None = V1,
                region: str = "seoul") -> str:
    """A new library (119nnn in Seoul, 129nnn in Busan; numbered per hub)."""
    with hub.db.read() as conn:
        n = conn.scalar(select(func.count()).select_from(libraries))
    code = ("119" if region == "seoul" else "129") + f"{n:03d}"
    hub.network.register_library(SYSTEM, code, f"시험도서관 {code}", region, status=stage)
    if vendor:
        hub.vendors.assign(SYSTEM, code, vendor)
    return code


# -- the registry ----------------------------------------------------------------------------
def test_vendor_registry(vendors: Hub) -> None:
    hub = vendors
    with pytest.raises(DomainError) as err:
        hub.vendors.create(NATIONAL, "220-81-62518", "틀린번호")  # check digit wrong
    assert err.value.code == "VENDOR_BRN_INVALID"
    with pytest.raises(DomainError) as err:
        hub.vendors.create(NATIONAL, "2208162517", "중복")
    assert err.value.code == "VENDOR_EXISTS"
    for who in (Actor(Role.REGIONAL_ADMIN, "staff:r", "console", region_code="seoul"),
                Actor(Role.LIBRARIAN, "staff:l", "console", "111001"), vendor_actor(V1)):
        with pytest.raises(DomainError) as err:
            hub.vendors.create(who, "1078155843", "권한 없음")
        assert err.value.code == "FORBIDDEN"
    # the registry: admins and libraries see all; a vendor only itself
    librarian = Actor(Role.LIBRARIAN, "staff:l", "console", "111001")
    assert [v["brn"] for v in hub.vendors.list(librarian)] == [V2, V1]  # by name
    assert [v["brn"] for v in hub.vendors.list(vendor_actor(V1))] == [V1]
    assert hub.vendors.list(NATIONAL)[1]["brn_formatted"] == "220-81-62517"
    with pytest.raises(DomainError):
        hub.vendors.list(Actor(Role.TERMINAL, "sip2:k", "sip2", "111001"))
    with pytest.raises(DomainError):
        hub.vendors.get(vendor_actor(V1), V2)
    seoul, busan = new_library(hub), new_library(hub, region="busan")
    assert [x["code"] for x in hub.vendors.get(NATIONAL, V1)["libraries"]] == [seoul, busan]
    assert [x["code"] for x in hub.vendors.get(vendor_actor(V1), V1)["libraries"]] == [
        seoul, busan]
    regional = Actor(Role.REGIONAL_ADMIN, "staff:r", "console", region_code="busan")
    assert [x["code"] for x in hub.vendors.get(regional, V1)["libraries"]] == [busan]
    with hub.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "vendor.create")) == 2


def test_assignment_stage_and_contact(vendors: Hub) -> None:
    hub = vendors
    librarian = lambda code: Actor(Role.LIBRARIAN, "staff:l", "console", code)  # noqa: E731
    code = new_library(hub, "vendor_selection", vendor=None)
    # the library chooses at vendor selection, and its contact becomes the vendor contact
    hub.notices.put_contacts(SYSTEM, code, [
        {"party": "vendor", "name": "옛 사업자", "email": "old@vendor.example"},
        {"party": "library", "name": "담당", "email": "lib@library.example"}])
    assert hub.vendors.assign(librarian(code), code, "220-81-62517")["vendor"]["brn"] == V1
    contacts = hub.notices.contacts(SYSTEM, code)["contacts"]
    assert {(c["party"], c["email"]) for c in contacts} == {
        ("vendor", "build@hanbit.example"), ("library", "lib@library.example")}
    with pytest.raises(DomainError) as err:
        hub.vendors.assign(librarian(code), code, "1234567890")
    assert err.value.code == "VENDOR_BRN_INVALID"
    with pytest.raises(DomainError) as err:
        hub.vendors.assign(librarian(code), code, "1078155843")  # valid, not registered
    assert err.value.code == "VENDOR_UNKNOWN"
    # the stage e-mail goes to the assigned vendor's contact
    hub.onboarding.move(SYSTEM, code, "application")
    with hub.db.read() as conn:
        to = set(conn.scalars(select(notices.c.recipient).where(
            notices.c.library_code == code)))
    assert "build@hanbit.example" in to and "old@vendor.example" not in to
    # past vendor selection the library itself cannot change it; its admins can
    with pytest.raises(DomainError) as err:
        hub.vendors.assign(librarian(code), code, V2)
    assert err.value.code == "VENDOR_ASSIGN_STAGE"
    regional = Actor(Role.REGIONAL_ADMIN, "staff:r", "console", region_code="seoul")
    hub.vendors.assign(regional, code, V2)
    assert {c["email"] for c in hub.notices.contacts(SYSTEM, code)["contacts"]
            if c["party"] == "vendor"} == {"other@v2.example"}
    # a vendor's contact change reaches the libraries it serves
    hub.vendors.update(NATIONAL, V2, "다른정보(주)", "박담당", "new@v2.example")
    assert {c["email"] for c in hub.notices.contacts(SYSTEM, code)["contacts"]
            if c["party"] == "vendor"} == {"new@v2.example"}
    hub.vendors.assign(NATIONAL, code, None)
    assert hub.onboarding.view(SYSTEM, code)["vendor"] is None
    live = "111001"
    with pytest.raises(DomainError) as err:
        hub.vendors.assign(NATIONAL, live, V1)  # launched: nothing left to build
    assert err.value.code == "VENDOR_ASSIGN_STAGE"
    with hub.db.read() as conn:
        actions = conn.scalars(select(audit_log.c.details).where(
            audit_log.c.action == "onboarding.vendor", audit_log.c.library_code == code)).all()
    assert actions == [{"from": None, "to": V1}, {"from": V1, "to": V2}, {"from": V2, "to": None}]


def test_vendor_staff_sign_in_and_keys(vendors: Hub) -> None:
    hub = vendors
    hub.credentials.create_staff(NATIONAL, "hanbit-kim", "vendor-pass-1", "김구축", "vendor", V1)
    actor = hub.credentials.staff_login("hanbit-kim", "vendor-pass-1", "127.0.0.1")
    assert (actor.role, actor.vendor, actor.library_code) == ("vendor", V1, None)
    with pytest.raises(DomainError) as err:
        hub.credentials.create_staff(NATIONAL, "ghost", "vendor-pass-1", "x", "vendor",
                                     "1078155843")
    assert err.value.code == "VENDOR_UNKNOWN"
    regional = Actor(Role.REGIONAL_ADMIN, "staff:r", "console", region_code="seoul")
    for make in (lambda: hub.credentials.create_staff(regional, "v2", "vendor-pass-1", "x",
                                                      "vendor", V1),
                 lambda: hub.credentials.create_api_key(regional, "vendor", V1)):
        with pytest.raises(DomainError) as err:
            make()
        assert err.value.code == "FORBIDDEN"
    key = hub.credentials.create_api_key(NATIONAL, "vendor", V1, "빌드 서버")
    principal = hub.credentials.verify_api_key(key["api_key"])
    assert principal.actor().role == "vendor" and principal.actor().vendor == V1
    hub.credentials.set_staff_disabled(NATIONAL, "hanbit-kim")
    with pytest.raises(DomainError):
        hub.credentials.staff_login("hanbit-kim", "vendor-pass-1", "127.0.0.1")


# -- the onboarding rule as a table -------------------------------------------------------------
CALLERS = ("national", "regional_own", "regional_other", "librarian_own", "librarian_other",
           "vendor_own", "vendor_other", "library_key", "terminal", "member")


def callers(code: str, other: str) -> dict[str, Actor]:
    return {
        "national": NATIONAL,
        "regional_own": Actor(Role.REGIONAL_ADMIN, "staff:r1", "console", region_code="seoul"),
        "regional_other": Actor(Role.REGIONAL_ADMIN, "staff:r2", "console",
                                region_code="busan"),
        "librarian_own": Actor(Role.LIBRARIAN, "staff:l1", "console", code),
        "librarian_other": Actor(Role.LIBRARIAN, "staff:l2", "console", other),
        "vendor_own": vendor_actor(V1),  # the vendor the library selected
        "vendor_other": vendor_actor(V2),  # the vendor of another library
        "library_key": Actor(Role.LIBRARY_SYSTEM, "key:k", "api", code),
        "terminal": Actor(Role.TERMINAL, "sip2:kiosk", "sip2", code),
        "member": Actor(Role.MEMBER, "member:11100126000001", "portal", code),
    }


OK, NO = "allowed", "FORBIDDEN"


def expect(national: str, regional_own: str, librarian_own: str, vendor_own: str,
           library_key: str | None = None) -> dict[str, str]:
    """The callers that are never allowed (another region, another library, another
    vendor, a kiosk, a member) are refused in every row."""
    return {"national": national, "regional_own": regional_own, "regional_other": NO,
            "librarian_own": librarian_own, "librarian_other": NO, "vendor_own": vendor_own,
            "vendor_other": NO, "library_key": library_key or librarian_own,
            "terminal": NO, "member": NO}


@dataclass
class Case:
    name: str
    expect: dict[str, str]
    call: Callable[[Hub, Actor, str], Any]
    stage: str = "building"
    prepare: Callable[[Hub, str], Any] | None = None
    audit: str | None = None  # the audit action an allowed change records


def _report(code: str) -> dict[str, Any]:
    return {"schema": "chaekieum-conformance/1", "kit_version": "1", "code_revision": "x",
            "target": {"url": "http://hub.test", "library": code},
            "started_at": "2026-03-04T00:00:00Z", "finished_at": "2026-03-04T00:05:00Z",
            "selected": [], "summary": {"passed": 1, "failed": 0, "skipped": 0,
                                        "result": "pass"},
            "results": [], "sandbox": {}}


def _doc(hub: Hub, code: str, kind: str) -> int:
    return hub.documents.upload(SYSTEM, code, io.BytesIO(docfiles.pdf()), "문서.pdf",
                                kind=kind)["id"]


def _first_doc(hub: Hub, code: str) -> int:
    return hub.documents.list(SYSTEM, code)["documents"][0]["id"]


def _todo(hub: Hub, actor: Actor, code: str) -> None:
    if code not in [i["code"] for i in hub.onboarding.todo(actor)["items"]]:
        raise DomainError(Code.FORBIDDEN)  # the library is not on this caller's to-do list


CASES = [
    Case("view", expect(OK, OK, OK, OK), lambda h, a, c: h.onboarding.view(a, c)),
    Case("to-do list shows it", expect(OK, OK, OK, OK), _todo),
    Case("move forward where the vendor is responsible (구축 -> 최종 테스트)",
         expect(OK, OK, NO, OK), lambda h, a, c: h.onboarding.move(a, c, "final_test", "완료"),
         audit="library.stage"),
    Case("move forward where the vendor is not responsible", expect(OK, OK, NO, NO),
         lambda h, a, c: h.onboarding.move(a, c, "application"), stage="vendor_selection",
         audit="library.stage"),
    Case("put on hold", expect(OK, OK, NO, NO),
         lambda h, a, c: h.onboarding.move(a, c, "on_hold", "예산"), audit="library.stage"),
    Case("register (국중)", expect(OK, NO, NO, NO),
         lambda h, a, c: h.onboarding.move(a, c, "registered"), stage="application",
         audit="library.stage"),
    Case("tick a checklist item", expect(OK, OK, OK, OK),
         lambda h, a, c: h.onboarding.tick(a, c, "rules.numbering", True),
         audit="onboarding.check"),
    Case("tick a linked system integrated and tested", expect(OK, OK, OK, OK),
         lambda h, a, c: h.onboarding.put_system(a, c, "ILS", "ils", True, True),
         audit="onboarding.system"),
    Case("remove a linked system", expect(OK, OK, OK, OK),
         lambda h, a, c: h.onboarding.remove_system(a, c, "ILS"),
         prepare=lambda h, c: h.onboarding.put_system(SYSTEM, c, "ILS", "ils", False, False),
         audit="onboarding.system_remove"),
    Case("upload a conformance report", expect(OK, OK, OK, OK),
         lambda h, a, c: h.onboarding.store_report(a, c, _report(c)), audit="onboarding.report"),
    Case("read a conformance report", expect(OK, OK, OK, OK),
         lambda h, a, c: h.onboarding.report(a, c, h.onboarding.view(SYSTEM, c)["reports"][0]["id"]),
         prepare=lambda h, c: h.onboarding.store_report(SYSTEM, c, _report(c))),
    Case("submit the schedule", expect(OK, OK, OK, NO),
         lambda h, a, c: h.onboarding.set_plan(a, c, {}), audit="onboarding.plan"),
    Case("announce the launch date", expect(OK, NO, NO, NO),
         lambda h, a, c: h.onboarding.announce_launch(a, c, h.clock.today().replace(
             year=h.clock.today().year + 1)), stage="pilot", audit="onboarding.launch_date"),
    Case("list documents", expect(OK, OK, OK, OK), lambda h, a, c: h.documents.list(a, c)),
    Case("upload a document it may see (세부일정)", expect(OK, OK, OK, OK),
         lambda h, a, c: h.documents.upload(a, c, io.BytesIO(docfiles.pdf()), "일정.pdf",
                                            kind="schedule"), audit="onboarding.document"),
    Case("upload an application paper (공문)", expect(OK, OK, OK, NO),
         lambda h, a, c: h.documents.upload(a, c, io.BytesIO(docfiles.pdf()), "공문.pdf",
                                            kind="letter"), audit="onboarding.document"),
    Case("download a document it may see", expect(OK, OK, OK, OK),
         lambda h, a, c: h.documents.open(a, c, _first_doc(h, c)),
         prepare=lambda h, c: _doc(h, c, "other")),
    Case("download an application paper (참여신청서)", expect(OK, OK, OK, NO),
         lambda h, a, c: h.documents.open(a, c, _first_doc(h, c)),
         prepare=lambda h, c: _doc(h, c, "application_form")),
    Case("remove a document it may see", expect(OK, OK, OK, OK),
         lambda h, a, c: h.documents.remove(a, c, _first_doc(h, c)),
         prepare=lambda h, c: _doc(h, c, "other"), audit="onboarding.document_remove"),
    Case("remove an application paper (공문)", expect(OK, OK, OK, NO),
         lambda h, a, c: h.documents.remove(a, c, _first_doc(h, c)),
         prepare=lambda h, c: _doc(h, c, "letter"), audit="onboarding.document_remove"),
    Case("read the e-mail contacts", expect(OK, OK, OK, NO),
         lambda h, a, c: h.notices.contacts(a, c)),
    Case("replace the e-mail contacts", expect(OK, OK, OK, NO),
         lambda h, a, c: h.notices.put_contacts(a, c, []), audit="onboarding.contacts"),
    Case("read the stage e-mails", expect(OK, OK, OK, NO),
         lambda h, a, c: h.notices.library_notices(a, c)),
    Case("choose the vendor (at vendor selection)", expect(OK, OK, OK, NO),
         lambda h, a, c: h.vendors.assign(a, c, V1), stage="vendor_selection",
         audit="onboarding.vendor"),
    Case("connector package (placeholders)", expect(OK, OK, OK, OK),
         lambda h, a, c: h.connector_packages.build(a, c, "http://hub.test"),
         audit="onboarding.connector_package"),
    Case("connector package with new credentials", expect(OK, OK, NO, NO),
         lambda h, a, c: h.connector_packages.build(a, c, "http://hub.test",
                                                    issue_credentials=True),
         audit="onboarding.connector_package"),
    Case("the library's API keys (credentials)", expect(OK, OK, NO, NO, library_key=OK),
         lambda h, a, c: h.credentials.list_api_keys(a, "library", c)),
    Case("the library's kiosks (credentials)", expect(OK, OK, NO, NO, library_key=OK),
         lambda h, a, c: h.credentials.list_terminals(a, c)),
]


def _audits(hub: Hub, code: str, action: str) -> int:
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == action, audit_log.c.library_code == code))


def _state(hub: Hub, code: str) -> Any:
    view = hub.onboarding.view(SYSTEM, code)
    with hub.db.read() as conn:
        vendor = conn.scalar(select(libraries.c.vendor_brn).where(libraries.c.code == code))
    return view, vendor, hub.documents.list(SYSTEM, code)["documents"], \
        hub.notices.contacts(SYSTEM, code)["contacts"]


def test_every_onboarding_operation_for_every_caller(vendors: Hub) -> None:
    hub = vendors
    other = new_library(hub, vendor=V2)  # another library, served by the other vendor
    wrong = []
    for case, who in itertools.product(CASES, CALLERS):
        code = new_library(hub, case.stage, vendor=None if case.stage == "vendor_selection"
                           else V1)
        if case.stage == "vendor_selection":  # chosen by the library: V1 for vendor_own
            with hub.db.write() as conn:
                conn.execute(libraries.update().where(libraries.c.code == code)
                             .values(vendor_brn=V1))
        if case.prepare:
            case.prepare(hub, code)
        before = _state(hub, code)
        audits = _audits(hub, code, case.audit) if case.audit else 0
        try:
            case.call(hub, callers(code, other)[who], code)
            got = OK
        except DomainError as err:
            got = str(err.code)
            if _state(hub, code) != before:
                wrong.append(f"{case.name} as {who}: refused but changed")
        if got == OK and case.audit and _audits(hub, code, case.audit) <= audits:
            got = "allowed without an audit row"
        if got != case.expect[who]:
            wrong.append(f"{case.name} as {who}: expected {case.expect[who]}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_vendor_sees_only_its_libraries_documents_of_its_kinds(vendors: Hub) -> None:
    hub = vendors
    code = new_library(hub)
    _doc(hub, code, "letter")
    schedule = _doc(hub, code, "schedule")
    listed = hub.documents.list(vendor_actor(V1), code)
    assert [d["id"] for d in listed["documents"]] == [schedule]
    assert {k["kind"] for k in listed["kinds"]} == {"schedule", "other"}
    todo = hub.onboarding.todo(vendor_actor(V1))
    assert code in todo["by_party"]["vendor"]
    assert all(i["code"] != "141099" for i in todo["items"])  # not its library
    assert hub.onboarding.todo(vendor_actor("1078155843"))["items"] == []


# -- over the API: a vendor's key reaches onboarding only -------------------------------------
def test_vendor_key_reaches_onboarding_only(client, vendors: Hub) -> None:  # noqa: ANN001
    hub = vendors
    code = new_library(hub)
    other = new_library(hub, vendor=V2)
    key = hub.credentials.create_api_key(NATIONAL, "vendor", V1, "t")["api_key"]
    ven = LibraryClient(client, "")
    ven.headers = {"Authorization": f"Bearer {key}"}
    assert ven.get(f"/libraries/{code}/onboarding").json()["vendor"] == V1
    r = client.put(f"/api/v1/libraries/{code}/onboarding/systems/ILS", headers=ven.headers,
                   json={"kind": "ils", "integrated": True, "tested": True})
    assert r.status_code == 200, r.text
    assert [i["code"] for i in ven.get("/onboarding/todo").json()["items"]] == [code]
    brn_body = {"brn": "1078155843", "name": "x"}
    refusals = [
        ("GET", f"/libraries/{other}/onboarding", None), ("GET", "/members?q=김", None),
        ("GET", "/members/11100126000001", None), ("GET", "/libraries", None),
        ("GET", f"/libraries/{code}/api-keys", None),
        ("GET", f"/libraries/{code}/terminals", None), ("GET", "/audit", None),
        ("GET", "/events", None), ("GET", "/connector/snapshot", None),
        ("GET", f"/libraries/{code}/onboarding/contacts", None),
        ("GET", f"/libraries/{code}/policy", None), ("GET", f"/vendors/{V2}", None),
        ("GET", f"/vendors/{V1}/api-keys", None), ("POST", "/vendors", brn_body),
        ("POST", f"/vendors/{V1}/staff", {"username": "sneaky", "password": "password-1"}),
        ("POST", f"/vendors/{V1}/api-keys", {"label": "x"}),
        ("PUT", f"/libraries/{code}/onboarding/vendor", {"brn": V2}),
        ("PUT", f"/libraries/{code}/onboarding/plan", {"planned": {}}),
        ("POST", "/circulation/checkout", {"member": "11100126000001", "item": "$111001EM0000000001"}),
    ]
    for method, path, body in refusals:
        r = client.request(method, f"/api/v1{path}", headers=ven.headers, json=body)
        assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN"), (method, path, r.text)
    acting = client.get("/api/v1/onboarding/todo", headers={**ven.headers,
                                                            "X-Acting-Library": code})
    assert (acting.status_code, acting.json()["code"]) == (403, "FORBIDDEN")


def test_cli_registers_a_vendor_its_staff_and_key(hub: Hub, monkeypatch) -> None:  # noqa: ANN001
    """`chaekieum vendor add | staff | api-key`, as 국중 runs them on the server."""
    import json

    from typer.testing import CliRunner

    from chaekieum.cli import app

    monkeypatch.setenv("CHAEKIEUM_SECRET_KEY", "test-secret")
    db = ["--database-url", str(hub.db.url)]
    run = CliRunner().invoke
    bad = run(app, ["vendor", "add", "220-81-62518", "틀린번호", *db])
    assert bad.exit_code != 0 and hub.vendors.list(NATIONAL) == []
    out = run(app, ["vendor", "add", "220-81-62517", "한빛정보(주)", "--contact-email",
                    "build@hanbit.example", *db])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["brn"] == V1
    out = run(app, ["vendor", "staff", "220-81-62517", "hanbit-kim", *db],
              input="vendor-pass-1\nvendor-pass-1\n")
    assert out.exit_code == 0, out.output
    assert hub.credentials.staff_login("hanbit-kim", "vendor-pass-1", "t").vendor == V1
    out = run(app, ["vendor", "api-key", "2208162517", "--label", "빌드", *db])
    assert out.exit_code == 0, out.output
    key = json.loads(out.output)["api_key"]
    assert hub.credentials.verify_api_key(key).actor().vendor == V1


def test_circulation_refuses_a_vendor_in_the_service(vendors: Hub) -> None:
    """Whatever adapter lets a vendor's credential through (a faster API path, a future
    channel), the circulation service itself refuses it: a vendor acts for no library."""
    hub = vendors
    hub.vendors.assign(SYSTEM, "141099", V1)
    item = "$111001EM0000000001"
    number = demo.info(hub)["members"][0]["number"]
    for actor in (vendor_actor(V1), Actor(Role.VENDOR, "key:v", "api", vendor=V1)):
        for call in (lambda a=actor: hub.circulation.checkout(a, CheckoutRequest(number, item)),
                     lambda a=actor: hub.circulation.checkin(a, CheckinRequest(item)),
                     lambda a=actor: hub.circulation.renew(a, item)):
            with pytest.raises(DomainError) as err:
                call()
            assert err.value.code == "FORBIDDEN"
