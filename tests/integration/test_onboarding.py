"""The onboarding workflow over the REST API on SQLite and PostgreSQL (issue 11):
every transition and refusal, the pilot and launch gates, checklists, schedule with
overdue flags, the to-do list, and who may act on which library."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chaekieum.services.context import SYSTEM

from ..conftest import T0
from .apiclient import LibraryClient

LIB = "141099"  # 경기 새내기작은도서관, at `building` in the demo network (gyeonggi)


def key_client(client, any_hub, scope: str, code: str) -> LibraryClient:  # noqa: ANN001
    key = any_hub.credentials.create_api_key(SYSTEM, scope, code, f"test {scope}")["api_key"]
    c = LibraryClient(client, "")
    c.headers = {"Authorization": f"Bearer {key}"}
    return c


@pytest.fixture
def regional(client, any_hub) -> LibraryClient:  # noqa: ANN001
    return key_client(client, any_hub, "region", "gyeonggi")


def put(c: LibraryClient, path: str, body):  # noqa: ANN001, ANN201
    return c.client.put(f"/api/v1{path}", json=body, headers=c.headers)


def report(library: str, result: str, finished) -> dict:  # noqa: ANN001
    counts = {"pass": (24, 0, 0), "fail": (20, 4, 0), "incomplete": (20, 0, 4)}[result]
    return {
        "schema": "chaekieum-conformance/1", "kit_version": "0.1", "code_revision": "abc",
        "target": {"url": "http://hub.test", "library": library},
        "started_at": (finished - timedelta(minutes=3)).isoformat() + "Z",
        "finished_at": finished.isoformat() + "Z", "selected": [],
        "summary": dict(zip(("passed", "failed", "skipped"), counts, strict=True),
                        result=result),
        "results": [], "sandbox": {},
    }


def move(c: LibraryClient, stage: str, reason: str = ""):  # noqa: ANN201
    return c.post(f"/libraries/{LIB}/onboarding/transitions", {"stage": stage, "reason": reason})


def refused(r, code: str, status: int = 409) -> None:  # noqa: ANN001
    assert r.status_code == status and r.json()["code"] == code, r.text


def test_walk_to_launch_through_every_gate(admin, regional, libs, clock) -> None:  # noqa: ANN001
    lib = libs[LIB]
    view = lib.get(f"/libraries/{LIB}/onboarding").json()
    assert view["stage"] == "building" and view["responsible"] == "vendor"
    assert view["allowed_next"] == ["final_test", "on_hold", "withdrawn"]
    refused(move(lib, "final_test"), "FORBIDDEN", 403)  # the library ticks, admins move
    assert move(regional, "final_test", "구축 완료").json()["status"] == "final_test"

    # pilot: a passing, fresh conformance report for this library and every system ticked
    refused(move(regional, "pilot"), "ONBOARDING_NO_REPORT")
    stored = lib.post(f"/libraries/{LIB}/onboarding/reports",
                      {"report": report(LIB, "pass", T0 - timedelta(days=31))})
    assert stored.status_code == 201 and stored.json()["result"] == "pass", stored.text
    refused(move(regional, "pilot"), "ONBOARDING_REPORT_STALE")
    lib.post(f"/libraries/{LIB}/onboarding/reports",
             {"report": report(LIB, "fail", T0 - timedelta(days=1))})
    refused(move(regional, "pilot"), "ONBOARDING_REPORT_FAILED")
    refused(lib.post(f"/libraries/{LIB}/onboarding/reports",
                     {"report": report("111001", "pass", T0)}), "ONBOARDING_REPORT_INVALID", 422)
    bad = report(LIB, "pass", T0)
    bad["schema"] = "chaekieum-conformance/9"
    refused(lib.post(f"/libraries/{LIB}/onboarding/reports", {"report": bad}),
            "ONBOARDING_REPORT_INVALID", 422)
    good = lib.post(f"/libraries/{LIB}/onboarding/reports",
                    {"report": report(LIB, "pass", T0 - timedelta(hours=1))}).json()
    assert lib.get(f"/libraries/{LIB}/onboarding/reports/{good['id']}").json()[
        "summary"]["result"] == "pass"
    refused(move(regional, "pilot"), "ONBOARDING_SYSTEMS_OPEN")
    assert put(lib, f"/libraries/{LIB}/onboarding/systems/ILS",
               {"kind": "ils", "integrated": True, "tested": True}).status_code == 200
    put(lib, f"/libraries/{LIB}/onboarding/systems/1층 키오스크", {"kind": "kiosk",
                                                                  "integrated": True})
    r = move(regional, "pilot")
    refused(r, "ONBOARDING_SYSTEMS_OPEN")
    assert r.json()["details"]["systems"] == ["1층 키오스크"]
    put(lib, f"/libraries/{LIB}/onboarding/systems/1층 키오스크", {"kind": "kiosk",
                                                                  "integrated": True,
                                                                  "tested": True})
    assert move(regional, "pilot", "검사 통과").json()["status"] == "pilot"

    # launch: announced N days ahead (national admin only), reached, after the pilot
    refused(move(admin, "live"), "ONBOARDING_LAUNCH_NOT_ANNOUNCED")
    today = admin.get(f"/libraries/{LIB}/onboarding").json()["plan"]  # view still reads
    assert [p["stage"] for p in today][-1] == "live"
    launch = (T0 + timedelta(days=20)).date()
    refused(put(regional, f"/libraries/{LIB}/onboarding/launch",
                {"launch_date": launch.isoformat()}), "FORBIDDEN", 403)
    refused(put(admin, f"/libraries/{LIB}/onboarding/launch",
                {"launch_date": (T0 + timedelta(days=5)).date().isoformat()}),
            "ONBOARDING_LAUNCH_TOO_SOON")
    assert put(admin, f"/libraries/{LIB}/onboarding/launch",
               {"launch_date": launch.isoformat()}).status_code == 200
    refused(move(admin, "live"), "ONBOARDING_LAUNCH_NOT_YET")
    refused(move(regional, "live"), "FORBIDDEN", 403)  # 국중 opens libraries
    clock.advance(days=20)
    assert move(admin, "live", "서비스 개시").json()["status"] == "live"
    view = admin.get(f"/libraries/{LIB}/onboarding").json()
    assert [h["stage"] for h in view["history"]][-3:] == ["final_test", "pilot", "live"]
    assert view["history"][-3]["reason"] == "구축 완료" and view["history"][-1]["actor"]
    assert view["reports"][0]["id"] == good["id"] and len(view["reports"]) == 3
    assert admin.get(f"/libraries/{LIB}").json()["live_since"] is not None


def test_pilot_too_short_when_the_launch_date_was_announced_early(admin, regional, libs,
                                                                  clock) -> None:  # noqa: ANN001
    lib = libs[LIB]
    move(regional, "final_test")
    assert put(admin, f"/libraries/{LIB}/onboarding/launch",
               {"launch_date": (T0 + timedelta(days=14)).date().isoformat()}).status_code == 200
    clock.advance(days=10)
    lib.post(f"/libraries/{LIB}/onboarding/reports", {"report": report(LIB, "pass", clock.now())})
    put(lib, f"/libraries/{LIB}/onboarding/systems/ILS",
        {"kind": "ils", "integrated": True, "tested": True})
    assert move(regional, "pilot").json()["status"] == "pilot"
    clock.advance(days=4)
    r = move(admin, "live")
    refused(r, "ONBOARDING_PILOT_TOO_SHORT")
    assert r.json()["details"] == {"pilot_days": 4, "required_days": 14}


def test_hold_resume_and_withdrawal(admin, regional, libs) -> None:  # noqa: ANN001
    refused(move(regional, "on_hold"), "ONBOARDING_REASON_REQUIRED", 422)
    assert move(regional, "on_hold", "예산 미확보").json()["status"] == "on_hold"
    view = regional.get(f"/libraries/{LIB}/onboarding").json()
    assert view["held_at"] == "building" and view["allowed_next"] == ["building", "withdrawn"]
    assert view["responsible"] == "regional_center"
    refused(move(regional, "final_test"), "ONBOARDING_BAD_STEP")
    assert move(regional, "building", "예산 확보").json()["status"] == "building"
    move(regional, "on_hold", "다시 보류")
    refused(move(regional, "withdrawn", "참여 포기"), "FORBIDDEN", 403)
    assert move(admin, "withdrawn", "참여 포기").json()["status"] == "withdrawn"
    for stage in ("building", "on_hold", "final_test", "live"):
        refused(move(admin, stage, "x"), "ONBOARDING_BAD_STEP")
    assert [h["reason"] for h in admin.get(f"/libraries/{LIB}/onboarding").json()[
        "history"]][-2:] == ["다시 보류", "참여 포기"]


def test_a_library_acts_only_on_its_own_onboarding(client, any_hub, libs) -> None:  # noqa: ANN001
    mine, other = libs[LIB], libs["111001"]
    seoul = key_client(client, any_hub, "region", "seoul")
    refused(other.get(f"/libraries/{LIB}/onboarding"), "FORBIDDEN", 403)
    refused(put(other, f"/libraries/{LIB}/onboarding/checklist/rules.numbering",
                {"done": True}), "FORBIDDEN", 403)
    refused(put(other, f"/libraries/{LIB}/onboarding/systems/ILS", {"kind": "ils"}),
            "FORBIDDEN", 403)
    refused(other.post(f"/libraries/{LIB}/onboarding/reports",
                       {"report": report(LIB, "pass", T0)}), "FORBIDDEN", 403)
    refused(put(other, f"/libraries/{LIB}/onboarding/plan",
                {"planned": {"pilot": "2026-05-01"}}), "FORBIDDEN", 403)
    refused(seoul.get(f"/libraries/{LIB}/onboarding"), "FORBIDDEN", 403)
    refused(seoul.post(f"/libraries/{LIB}/onboarding/transitions", {"stage": "final_test"}),
            "FORBIDDEN", 403)
    assert other.get("/onboarding/todo").json()["items"] == []  # 111001 is live
    assert [i["code"] for i in seoul.get("/onboarding/todo").json()["items"]] == []
    assert [i["code"] for i in mine.get("/onboarding/todo").json()["items"]] == [LIB]


def test_checklists_schedule_overdue_and_todo(admin, regional, libs) -> None:  # noqa: ANN001
    lib = libs[LIB]
    r = put(lib, f"/libraries/{LIB}/onboarding/checklist/rules.numbering",
            {"done": True, "note": "2026-02 개정"})
    assert r.status_code == 200 and r.json()["done"] is True, r.text
    refused(put(lib, f"/libraries/{LIB}/onboarding/checklist/equipment.teleporter",
                {"done": True}), "ONBOARDING_UNKNOWN_ITEM", 404)
    refused(put(lib, f"/libraries/{LIB}/onboarding/systems/ILS", {"kind": "fax"}),
            "VALIDATION_ERROR", 422)
    refused(put(lib, f"/libraries/{LIB}/onboarding/plan", {"planned": {"nowhere": "2026-05-01"}}),
            "ONBOARDING_BAD_STEP")
    assert put(lib, f"/libraries/{LIB}/onboarding/plan", {"planned": {
        "application": "2026-01-05", "final_test": "2026-03-01", "pilot": "2026-04-01",
        "live": "2026-05-01",
    }}).status_code == 200
    view = lib.get(f"/libraries/{LIB}/onboarding").json()
    building = next(c for c in view["checklists"] if c["stage"] == "building")
    assert {i["key"]: i["done"] for i in building["items"]} == {
        "rules.member_management": False, "rules.numbering": True}
    plan = {p["stage"]: p for p in view["plan"]}
    assert plan["final_test"]["overdue"] is True  # planned 3/1, today 3/4, not reached
    assert plan["pilot"]["overdue"] is False and plan["building"]["reached_at"]
    # the library entered the network at `building`: the earlier stages are behind it
    assert plan["application"]["overdue"] is False and not plan["application"]["reached_at"]
    todo = admin.get("/onboarding/todo").json()
    row = next(i for i in todo["items"] if i["code"] == LIB)
    assert row["party"] == "vendor" and row["overdue"] is True
    assert row["open_items"] == ["rules.member_management"]
    assert LIB in todo["by_party"]["vendor"]
    assert [i["code"] for i in regional.get("/onboarding/todo").json()["items"]] == [
        "141002", LIB]  # the pilot library is still joining
    move(regional, "final_test")
    view = lib.get(f"/libraries/{LIB}/onboarding").json()
    assert next(p for p in view["plan"] if p["stage"] == "final_test")["overdue"] is False
    assert admin.client.delete(f"/api/v1/libraries/{LIB}/onboarding/systems/none",
                               headers=lib.headers).json()["code"] == "NOT_FOUND"


def test_openapi_describes_the_onboarding_responses(client) -> None:  # noqa: ANN001
    doc = client.get("/api/v1/openapi.json").json()
    op = doc["paths"]["/api/v1/libraries/{code}/onboarding"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/OnboardingOut")
    assert "allowed_next" in doc["components"]["schemas"]["OnboardingOut"]["properties"]


def test_reports_keep_what_does_not_apply(libs, admin) -> None:  # noqa: ANN001
    """A schema /2 report's not-applicable scenarios are counted beside passed, failed and
    skipped in the library's list; a /1 report has none."""
    lib = libs[LIB]
    v2 = report(LIB, "pass", T0 - timedelta(hours=2))
    v2["schema"] = "chaekieum-conformance/2"
    v2["summary"].update(passed=29, not_applicable=2)
    first = lib.post(f"/libraries/{LIB}/onboarding/reports", {"report": v2})
    second = lib.post(f"/libraries/{LIB}/onboarding/reports",
                      {"report": report(LIB, "pass", T0 - timedelta(hours=1))})
    assert first.status_code == second.status_code == 201, first.text
    listed = {r["id"]: r for r in admin.get(f"/libraries/{LIB}/onboarding").json()["reports"]}
    assert (listed[first.json()["id"]]["passed"],
            listed[first.json()["id"]]["not_applicable"]) == (29, 2)
    assert listed[second.json()["id"]]["not_applicable"] == 0
