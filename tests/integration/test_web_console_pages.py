"""Console and desk pages (issue #8, items 7 and 8): Korean labels instead of raw codes
(English under ?lang=en), the policy editing page with its role refusals, the regional
transit queue, the paged audit log in time order, no stale or useless buttons, no links
that answer 403, and /favicon.ico."""

from __future__ import annotations

import re
from datetime import timedelta

from chaekieum.domain.errors import message
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.web.i18n import CATALOG

from . import test_web_security as web_tests

# the browser-like client and its fixtures
app, new_web, people, librarian = (web_tests.app, web_tests.new_web, web_tests.people,
                                   web_tests.librarian)

ADMIN = Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk")


def visible(html: str) -> str:
    """What a person reads: no scripts (the chart data), no tags or attribute values."""
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


RAW = [r"shared_loan_limit", r"loan_period_days", r"\bTrue\b", r"\bFalse\b",
       r"\bseoul\b(?!-admin)", r"\bbusan\b(?!-admin)", r"regional_admin",
       r"member\.auto_join", r"member\.register", r"loan\.checkout",
       r"\bactive\b", r"\benforce\b", r"\blive\b", r"\breceived\b"]


def test_no_raw_codes_on_the_console_pages(hub, new_web, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    hub.circulation.checkout(librarian("111002"), CheckoutRequest(number, "$111002EM0000000001"))
    hub.circulation.checkout(librarian("111001"), CheckoutRequest(number, "$111001EM0000000002"))
    hub.circulation.checkin(librarian("111002"), CheckinRequest("$111001EM0000000002"))
    admin = new_web().staff("admin")
    pages = ["/console", "/console/centers", "/console/libraries", "/console/libraries/111001",
             f"/console/members/{number}", "/console/audit", "/console/transits?region=seoul",
             "/console/policy?level=library&scope=111001"]
    for lang in ("ko", "en"):
        for path in pages:
            sep = "&" if "?" in path else "?"
            r = admin.c.get(f"{path}{sep}lang={lang}")
            assert r.status_code == 200, path
            text = visible(r.text)
            for raw in RAW:
                assert not re.search(raw, text), (lang, path, raw)
            if lang == "en":  # member classes and statuses translated too
                assert "정회원" not in text and "정상" not in text, path
    ko = visible(admin.c.get("/console/libraries/111001?lang=ko").text)
    assert "책이음 통합 대출 한도(전국 공통)" in ko and "예" in ko and "서울" in ko
    en = visible(admin.c.get("/console/libraries/111001?lang=en").text)
    assert "Network-wide loan limit" in en and "Yes" in en and "Seoul" in en
    trail = visible(admin.c.get(f"/console/members/{number}?lang=ko").text)
    assert "책이음 자동 가입" in trail and "회원 등록" in trail
    member = visible(admin.c.get(f"/console/members/{number}?lang=en").text)
    assert "Full member" in member and "Active" in member
    # the regional admin's header names the region, not its code
    regional = new_web().staff("seoul-admin")
    assert "지역센터 운영자 서울" in visible(regional.c.get("/console").text)


def test_every_audit_action_and_policy_key_has_a_label() -> None:
    from pathlib import Path

    from chaekieum.domain.policy import Policy

    src = Path(__file__).resolve().parents[2] / "src" / "chaekieum"
    actions = set()
    for path in src.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"audit\.(?:record|row)\((.*?)\)", text, flags=re.S):
            actions.update(re.findall(r'"([a-z0-9_]+(?:\.[a-z0-9_]+)+)"', call.group(1))[:1])
    assert len(actions) >= 20
    assert sorted(a for a in actions if f"audit.{a}" not in CATALOG) == []
    assert [k for k in Policy().as_dict() if f"policy.{k}" not in CATALOG] == []


def test_policy_page_edits_each_level_with_role_refusals(hub, new_web) -> None:  # noqa: ANN001
    from chaekieum.domain.errors import Code

    regional = new_web().staff("seoul-admin")
    page = regional.c.get("/console/policy")
    assert page.status_code == 200 and 'id="policy-save"' in page.text  # own region
    assert 'selected>서울' in page.text
    # own region: saved
    r = regional.post("/console/policy", {"level": "region", "scope": "seoul",
                                          "loan_period_days": "21", "courier_fee": "true"})
    assert r.status_code == 303
    assert "대출 정책을 저장했습니다" in regional.c.get(r.headers["location"]).text
    assert hub.network.get_policy("region", "seoul")["settings"] == {
        "loan_period_days": 21, "courier_fee": True}
    assert hub.registry.policy("111002").loan_period_days == 21
    # national level and another region: refused in Korean, nothing changed
    for level, scope in (("national", ""), ("region", "busan"), ("library", "121001")):
        r = regional.post("/console/policy", {"level": level, "scope": scope,
                                              "loan_period_days": "30"})
        assert message(Code.FORBIDDEN, "ko") in regional.c.get(r.headers["location"]).text
    assert hub.network.get_policy("national")["settings"] == {}
    assert hub.network.get_policy("region", "busan")["settings"] == {}
    assert hub.network.get_policy("library", "121001")["settings"] == {}
    # a library of the region: saved; the page shows what is in effect there
    regional.post("/console/policy", {"level": "library", "scope": "111001",
                                      "renewals_allowed": "2"})
    assert hub.network.get_policy("library", "111001")["settings"] == {"renewals_allowed": 2}
    # bad values: refused with the policy message
    for bad in ("-3", "abc", "1.5"):
        r = regional.post("/console/policy", {"level": "region", "scope": "seoul",
                                              "loan_period_days": bad})
        assert message(Code.POLICY_INVALID, "ko") in regional.c.get(r.headers["location"]).text
    assert hub.network.get_policy("region", "seoul")["settings"]["loan_period_days"] == 21
    # other levels are shown read-only
    ro = regional.c.get("/console/policy?level=national")
    assert 'id="policy-readonly"' in ro.text and 'id="policy-save"' not in ro.text
    # the national admin: the national level, with choices and yes/no
    admin = new_web().staff("admin")
    admin.post("/console/policy", {"level": "national", "suspension_mode": "max",
                                   "refuse_when_overdue": "false", "suspension_weight": "1.5"})
    assert hub.network.get_policy("national")["settings"] == {
        "suspension_mode": "max", "refuse_when_overdue": False, "suspension_weight": 1.5}
    lib = visible(admin.c.get("/console/libraries/111001").text)
    assert "큰 값" in lib and "아니오" in lib
    # a class-level override at a library
    admin.post("/console/policy", {"level": "library", "scope": "111001",
                                   "member_class": "준회원", "library_loan_limit": "5"})
    assert hub.registry.policy("111001", "준회원").library_loan_limit == 5
    # librarians do not edit policies
    assert new_web().staff("lib-111001").c.get("/console/policy").status_code == 403
    r = new_web().staff("lib-111001").post("/console/policy", {
        "level": "library", "scope": "111001", "loan_period_days": "99"}, page="/desk")
    assert hub.network.get_policy("library", "111001")["settings"] == {"renewals_allowed": 2}


def test_regional_transit_queue_shows_the_whole_region(hub, new_web, people) -> None:  # noqa: ANN001
    number = people["김하늘"]["number"]
    hub.circulation.checkout(librarian("111001"), CheckoutRequest(number, "$111001EM0000000004"))
    hub.circulation.checkin(librarian("111003"), CheckinRequest("$111001EM0000000004"))
    regional = new_web().staff("seoul-admin")
    page = regional.c.get("/console/transits").text
    assert "$111001EM0000000004" in page and 'id="transit-area"' in page
    assert "$111001EM0000000004" not in new_web().staff("busan-admin").c.get(
        "/console/transits").text
    # send it from the region view, as the library that received it
    transit_id = re.search(r'data-transit="(\d+)"', page).group(1)
    r = regional.post(f"/console/transits/{transit_id}/send",
                      {"library": "111003", "back": "region=seoul"})
    assert r.headers["location"] == "/console/transits?region=seoul"
    assert hub.transits.queue("111001", "incoming")[0]["state"] == "sent"
    # a national admin picks a region
    admin = new_web().staff("admin")
    assert "$111001EM0000000004" in admin.c.get("/console/transits?region=seoul").text
    assert "$111001EM0000000004" not in admin.c.get("/console/transits?region=busan").text


def test_audit_log_is_paged_and_in_time_order(hub, new_web, people, clock) -> None:  # noqa: ANN001
    number = people["이바다"]["number"]
    lib = librarian("111001")
    hub.circulation.checkout(lib, CheckoutRequest(number, "$111001EM0000000005"))
    # an offline loan made two days ago reaches the hub afterwards
    hub.circulation.checkout(lib, CheckoutRequest(
        number, "$111001EM0000000006", offline=True,
        occurred_at=clock.now() - timedelta(days=2)))
    for n in (n for n in range(7, 22) if n % 12):  # enough rows for a second page
        hub.circulation.checkout(lib, CheckoutRequest(number, f"$111001EM{n:010d}"))
        hub.circulation.checkin(lib, CheckinRequest(f"$111001EM{n:010d}"))
    rows = hub.audit.search(lib, action="loan.checkout")
    assert [r["details"]["item"] for r in rows][-1] == "$111001EM0000000006"
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    web = new_web().staff("admin")
    total = len(hub.audit.search(ADMIN, limit=1000))
    assert total > 50
    first = web.c.get("/console/audit").text
    assert first.count("<tr><td>") == 50 and 'rel="next"' in first
    second = web.c.get("/console/audit?page=2").text
    assert second.count("<tr><td>") == min(50, total - 50) and 'rel="prev"' in second
    filtered = web.c.get("/console/audit?action=loan.checkout").text
    assert filtered.count('data-action="loan.checkout"') == 16 and 'rel="next"' not in filtered
    times = re.findall(r"<tr><td>([\d\- :]+)</td>", filtered)
    assert times == sorted(times, reverse=True)


def test_desk_buttons_and_links_that_would_fail_are_not_shown(hub, new_web, people,  # noqa: ANN001
                                                                clock) -> None:
    number = people["김하늘"]["number"]
    web = new_web().staff("lib-111001")
    web.post("/desk/scan", {"scan": number}, page="/desk")
    web.post("/desk/scan", {"scan": "$111001EM0000000001"}, page="/desk")
    page = web.c.get("/desk").text
    loan_id = re.search(r'name="loan_id" value="(\d+)"', page).group(1)
    assert 'action="/desk/renew"' not in page  # lent today: never renewable today
    web.post("/desk/undo", {"kind": "checkout", "loan_id": loan_id}, page="/desk")
    page = web.c.get("/desk").text
    assert "취소되었습니다" in page
    assert f'name="loan_id" value="{loan_id}"' not in page  # no 취소 on the undone line
    web.post("/desk/scan", {"scan": "$111001EM0000000002"}, page="/desk")
    clock.advance(days=1)
    assert 'action="/desk/renew"' in web.c.get("/desk").text  # the next day it is offered
    # a librarian's library list links only the pages they may open
    libs = web.c.get("/console/libraries").text
    assert 'href="/console/libraries/111001"' in libs
    assert 'href="/console/libraries/111002"' not in libs and "111002" in libs
    assert new_web().staff("seoul-admin").c.get("/console/libraries").text.count(
        'href="/console/libraries/111002"') == 2


def test_favicon(new_web) -> None:  # noqa: ANN001
    r = new_web().c.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_policy_page_keeps_the_shared_limit_national(hub, new_web) -> None:  # noqa: ANN001
    """Issue #8, item 11: the shared limit is shown locked below the national policy,
    and a crafted form that sets it there is refused in Korean."""
    from chaekieum.domain.errors import Code

    admin = new_web().staff("admin")
    national = admin.c.get("/console/policy?level=national").text
    assert re.search(r'<input id="pol-shared_loan_limit"[^>]*>', national)
    assert "pol-shared_loan_limit-national" not in national  # editable there
    for page in ("/console/policy?level=library&scope=111001",
                 "/console/policy?level=region&region=seoul",
                 "/console/policy?level=national&member_class=준회원"):
        field = re.search(r'<input id="pol-shared_loan_limit"[^>]*>', admin.c.get(page).text)
        assert field and "disabled" in field.group(0), page
        assert 'aria-describedby="pol-shared_loan_limit-national"' in field.group(0)
    r = admin.post("/console/policy", {"level": "library", "scope": "111001",
                                       "shared_loan_limit": "30", "loan_period_days": "21"})
    shown = admin.c.get(r.headers["location"]).text
    assert message(Code.POLICY_NATIONAL_ONLY, "ko") in shown
    assert "전국 공통 값입니다" in shown
    assert hub.network.get_policy("library", "111001")["settings"] == {}
    admin.post("/console/policy", {"level": "national", "shared_loan_limit": "25"})
    assert hub.registry.policy("111001").shared_loan_limit == 25
