"""Console: vendors (사업자) registered by 국중, chosen by a library, and a vendor's staff
signed in at the same console: its to-do list and its libraries' onboarding only, every
other page refused with the Korean 403 page; Korean labels (English with ?lang=en), never
raw codes."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from chaekieum.domain.errors import Code, message
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.web.routes import PAGES

from . import test_web_security as web_tests
from .test_web_console_pages import visible

app, new_web = web_tests.app, web_tests.new_web
V1 = "2208162517"
NATIONAL = Actor(Role.NATIONAL_ADMIN, "staff:admin", "console")
JOINING, OTHER = "111091", "111092"


def ko(code: Code) -> str:
    return message(code, "ko")


def test_admin_registers_a_vendor_and_its_staff(hub, new_web) -> None:  # noqa: ANN001
    admin = new_web().staff("admin")
    page = admin.c.get("/console/vendors").text
    assert "사업자 등록" in page and "사업자등록번호" in page
    bad = admin.post("/console/vendors", {"brn": "220-81-62518", "name": "틀린"},
                     "/console/vendors")
    assert bad.status_code == 303
    shown = visible(admin.c.get("/console/vendors").text)
    assert ko(Code.VENDOR_BRN_INVALID) in shown and "VENDOR_BRN_INVALID" not in shown
    made = admin.post("/console/vendors", {"brn": "220-81-62517", "name": "한빛정보(주)",
                                           "contact_name": "김구축",
                                           "contact_email": "build@hanbit.example"},
                      "/console/vendors")
    assert made.headers["location"] == f"/console/vendors/{V1}"
    r = admin.post(f"/console/vendors/{V1}/staff", {"username": "hanbit-kim",
                                                   "password": "vendor-pass-1"},
                   f"/console/vendors/{V1}")
    assert r.status_code == 303
    key = admin.post(f"/console/vendors/{V1}/keys", {"label": "빌드"}, f"/console/vendors/{V1}")
    assert re.search(r"<code>ck_[0-9a-f]+_", key.text)  # shown once
    for lang in ("ko", "en"):
        text = visible(admin.c.get(f"/console/vendors/{V1}?lang={lang}").text)
        assert "hanbit-kim" in text and "220-81-62517" in text
        assert re.search(r"vendor_selection|\bvendor\.[a-z]|VENDOR_|\bbuilding\b", text) is None
    assert "Vendor staff accounts" in visible(admin.c.get(f"/console/vendors/{V1}?lang=en").text)
    # a regional admin sees the registry, not the accounts; a librarian nothing
    regional = visible(new_web().staff("seoul-admin").c.get(f"/console/vendors/{V1}").text)
    assert "한빛정보(주)" in regional and "hanbit-kim" not in regional
    assert new_web().staff("lib-111001").c.get("/console/vendors").status_code == 403


def _vendor_world(hub) -> None:  # noqa: ANN001
    """A vendor with a staff account; one library at vendor selection, one other."""
    hub.vendors.create(NATIONAL, V1, "한빛정보(주)", "김구축", "build@hanbit.example")
    hub.vendors.create(NATIONAL, "1248100998", "다른정보(주)")
    hub.credentials.create_staff(NATIONAL, "hanbit-kim", "vendor-pass-1", "김구축", "vendor", V1)
    for code in (JOINING, OTHER):
        hub.network.register_library(SYSTEM, code, f"새내기도서관 {code}", "seoul",
                                     status="vendor_selection")
    hub.credentials.create_staff(SYSTEM, "lib-joining", "library-pass-1", "사서", "librarian",
                                 JOINING)
    hub.vendors.assign(SYSTEM, OTHER, "1248100998")


def test_the_library_chooses_its_vendor(hub, new_web) -> None:  # noqa: ANN001
    _vendor_world(hub)
    lib = new_web().staff("lib-joining", "library-pass-1")
    page = lib.c.get(f"/console/onboarding/{JOINING}").text
    assert 'id="vendor-form"' in page and "한빛정보(주) (220-81-62517)" in page
    r = lib.post(f"/console/onboarding/{JOINING}/vendor", {"brn": V1},
                 f"/console/onboarding/{JOINING}")
    assert r.status_code == 303
    page = visible(lib.c.get(f"/console/onboarding/{JOINING}").text)
    assert "사업자를 지정했습니다" in page and "한빛정보(주)" in page
    contacts = hub.notices.contacts(SYSTEM, JOINING)["contacts"]
    assert [(c["party"], c["email"]) for c in contacts] == [("vendor", "build@hanbit.example")]
    hub.onboarding.move(SYSTEM, JOINING, "application")
    page = lib.c.get(f"/console/onboarding/{JOINING}").text
    assert 'id="vendor-form"' not in page  # past vendor selection: its admins change it


def test_vendor_staff_see_their_libraries_only(hub, new_web) -> None:  # noqa: ANN001
    _vendor_world(hub)
    hub.vendors.assign(SYSTEM, JOINING, V1)
    for stage in ("application", "registered", "building"):
        hub.onboarding.move(SYSTEM, JOINING, stage)
    ven = new_web()
    token = ven.csrf("/login")
    r = ven.c.post("/login", data={"username": "hanbit-kim", "password": "vendor-pass-1",
                                   "csrf": token})
    assert r.headers["location"] == "/console/onboarding"
    for lang in ("ko", "en"):
        home = ven.c.get(f"/console/onboarding?lang={lang}")
        assert home.status_code == 200
        text = visible(home.text)
        assert "새내기도서관 111091" in text and "새내기도서관 111092" not in text
        assert "141099" not in text  # the demo's joining library has another vendor (none)
        assert re.search(r"\bvendor\b|\bbuilding\b|regional_admin", text) is None
    home = ven.c.get("/console/onboarding?lang=ko").text
    todo = home[home.index('id="vendor-todo"'):home.index("</section>", home.index('id="vendor-todo"'))]
    assert "사업자 할 일" in todo and f'data-code="{JOINING}"' in todo
    assert "사업자 한빛정보(주)" in visible(home)  # the header names the company
    assert 'href="/console/members"' not in home and 'href="/console/vendors"' not in home
    # its library's page: ticks, a report, a document of its kinds, its own move
    page = ven.c.get(f"/console/onboarding/{JOINING}").text
    assert 'id="move-final_test"' in page and 'id="move-on_hold"' not in page
    assert 'id="plan-form"' in page and 'name="plan_pilot"' not in page  # schedule: read only
    assert [k for k in re.findall(r'<option value="(\w+)">', page[page.index(
        'id="document-upload"'):]) if k in ("letter", "schedule", "other", "survey")] == [
        "schedule", "other"]
    ven.post(f"/console/onboarding/{JOINING}/systems",
             {"name": "ILS", "kind": "ils", "integrated": "yes", "tested": "yes"},
             f"/console/onboarding/{JOINING}")
    systems = hub.onboarding.view(SYSTEM, JOINING)["systems"]
    assert [(s["name"], s["integrated"], s["tested"], s["actor"]) for s in systems] == [
        ("ILS", True, True, "staff:hanbit-kim")]
    r = ven.post(f"/console/onboarding/{JOINING}/plan", {"plan_pilot": "2027-01-01"},
                 f"/console/onboarding/{JOINING}")
    assert r.status_code == 303 and hub.onboarding.view(SYSTEM, JOINING)["plan"][6][
        "planned_on"] is None
    assert ko(Code.FORBIDDEN) in visible(ven.c.get(f"/console/onboarding/{JOINING}").text)
    ven.post(f"/console/onboarding/{JOINING}/move", {"target": "final_test", "reason": "구축 완료",
                                                     "confirm": "yes"},
             f"/console/onboarding/{JOINING}")
    assert hub.onboarding.view(SYSTEM, JOINING)["stage"] == "final_test"
    # another library's onboarding, and every page outside onboarding: the 403 page
    for path in (f"/console/onboarding/{OTHER}", "/console/onboarding/141099"):
        r = ven.c.get(path)
        assert r.status_code == 403 and ko(Code.FORBIDDEN) in r.text, path
    r = ven.post(f"/console/onboarding/{OTHER}/systems", {"name": "x", "kind": "ils"},
                 "/console/onboarding")
    assert r.status_code == 403 and hub.onboarding.view(SYSTEM, OTHER)["systems"] == []
    assert ven.c.get("/password").status_code == 200  # its own password
    # the connector package: with placeholders; new credentials stay with the admins
    page = ven.c.get(f"/console/onboarding/{JOINING}").text
    assert 'id="package-form"' in page and 'id="package-issue-form"' not in page
    zipped = ven.post(f"/console/onboarding/{JOINING}/connector-package", {"adapter": "manual"},
                      f"/console/onboarding/{JOINING}")
    assert zipped.headers["content-type"] == "application/zip" and zipped.content[:2] == b"PK"
    keys = len(hub.credentials.list_api_keys(SYSTEM, "library", JOINING))
    refused = ven.post(f"/console/onboarding/{JOINING}/connector-package",
                       {"adapter": "manual", "issue_credentials": "yes", "confirm": "yes"},
                       f"/console/onboarding/{JOINING}")
    assert refused.status_code == 303
    assert len(hub.credentials.list_api_keys(SYSTEM, "library", JOINING)) == keys


def test_every_other_console_and_desk_page_refuses_a_vendor(hub, new_web) -> None:  # noqa: ANN001
    """Every GET page of the web UI that a signed-in staff member may open, as a vendor:
    the onboarding pages of its libraries and the password page answer; the rest 403."""
    _vendor_world(hub)
    hub.vendors.assign(SYSTEM, JOINING, V1)
    ven = new_web().staff("hanbit-kim", "vendor-pass-1")
    fill = {"code": "111001", "number": "11100126000001", "brn": V1, "report_id": "1",
            "doc_id": "1", "job_id": "1", "client_id": "x", "transit_id": "1"}
    allowed = {"/console/onboarding", "/password", "/console/onboarding/{code}"}
    checked = 0
    for module in PAGES:
        for route in module.router.routes:
            if not isinstance(route, APIRoute) or "GET" not in route.methods:
                continue
            if not route.path.startswith(("/console", "/desk")):
                continue
            path = re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "1"), route.path)
            r = ven.c.get(path)
            if route.path in allowed:
                continue
            checked += 1
            assert r.status_code == 403 and ko(Code.FORBIDDEN) in r.text, (route.path,
                                                                          r.status_code)
    assert checked >= 20


def test_admin_disables_and_enables_a_vendor_account(hub, new_web) -> None:  # noqa: ANN001
    """Disabling ends the vendor's sessions at once; the page acts only on that vendor's
    own accounts (a librarian's name under the vendor's address is refused)."""
    _vendor_world(hub)
    hub.vendors.assign(SYSTEM, JOINING, V1)
    ven = new_web().staff("hanbit-kim", "vendor-pass-1")
    assert ven.c.get("/console/onboarding").status_code == 200
    admin = new_web().staff("admin")
    page = f"/console/vendors/{V1}"
    r = admin.post(f"{page}/staff/hanbit-kim/disable", {}, page)
    assert r.status_code == 303 and r.headers["location"] == f"{page}#vendor-staff"
    assert ven.c.get("/console/onboarding", follow_redirects=False).status_code in (302, 303)
    again = new_web()
    token = again.csrf("/login")
    refused = again.c.post("/login", data={"username": "hanbit-kim",
                                           "password": "vendor-pass-1", "csrf": token})
    assert refused.status_code != 303  # the login page again, not the console
    assert admin.post(f"{page}/staff/lib-joining/disable", {}, page).status_code == 403
    assert admin.post(f"{page}/staff/hanbit-kim/delete", {}, page).status_code == 403
    admin.post(f"{page}/staff/hanbit-kim/enable", {}, page)
    assert new_web().staff("hanbit-kim", "vendor-pass-1").c.get(
        "/console/onboarding").status_code == 200
