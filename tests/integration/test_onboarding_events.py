"""Every onboarding stage transition is a change-feed event (`onboarding.stage`) for the
library itself and for the participating libraries of its region, so the regional
center's systems can follow it (issue 11); a refused move emits nothing."""

from __future__ import annotations

from .apiclient import LibraryClient
from .test_onboarding import LIB, key_client, move


def stage_events(c: LibraryClient, **headers: str) -> list[dict]:
    page = c.client.get("/api/v1/events", params={"after": 0, "limit": 1000},
                        headers={**c.headers, **headers})
    assert page.status_code == 200, page.text
    return [e["payload"] for e in page.json()["events"] if e["kind"] == "onboarding.stage"]


def test_each_transition_reaches_the_library_and_its_region(client, libs, any_hub) -> None:  # noqa: ANN001
    regional = key_client(client, any_hub, "region", "gyeonggi")
    assert move(regional, "final_test", "구축 완료").status_code == 200
    assert move(regional, "pilot").status_code == 409  # refused (no report): no event
    assert move(regional, "on_hold", "예산 재편성").status_code == 200
    assert move(regional, "final_test").status_code == 200  # resumed where it was held
    expected = [("building", "final_test", "구축 완료"), ("final_test", "on_hold", "예산 재편성"),
                ("on_hold", "final_test", "")]
    # the library itself, the region's live (141001) and pilot (141002) libraries, and the
    # regional center's system with its regional key acting at one of them
    for seen in (stage_events(libs[LIB]), stage_events(libs["141001"]),
                 stage_events(libs["141002"]),
                 stage_events(regional, **{"X-Acting-Library": "141001"})):
        assert [(e["from"], e["to"], e["reason"]) for e in seen] == expected
        assert {(e["library"], e["name"], e["region_code"]) for e in seen} == {
            (LIB, "경기 새내기작은도서관", "gyeonggi")}
        assert seen[0]["label"] == "최종 테스트·교육" and seen[1]["label"] == "보류"
        assert all(e["at"].endswith("Z") and e["launch_date"] is None for e in seen)
    # other regions are not told
    assert stage_events(libs["111001"]) == [] and stage_events(libs["121001"]) == []
