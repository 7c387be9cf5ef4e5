"""Libraries joining 책이음, in public (issue 11): the page `/joining` and its Atom feed
`/joining.atom` without sign-in (the feed parsed with feedparser), and the member
portal's launch notice for members of the library's region, from the announcement to a
few days after launch."""

from __future__ import annotations

import html
from datetime import date, timedelta

import feedparser
import pytest

from chaekieum.services.context import SYSTEM
from chaekieum.services.onboarding_public import launch_sentence, subject_particle

from ..conftest import T0
from .test_onboarding import report
from .test_web_security import app, new_web, people  # noqa: F401  (fixtures)

NEW = "141099"  # 경기 새내기작은도서관: building
PILOT = "141002"  # 경기 용인중앙도서관: pilot
TODAY = T0.date()  # 2026-03-04 (Seoul)


def page(web, path: str) -> str:  # noqa: ANN001
    r = web.c.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return html.unescape(r.text)


def test_the_page_and_the_feed_list_the_joining_libraries(hub, new_web) -> None:  # noqa: ANN001, F811
    hub.onboarding.announce_launch(SYSTEM, PILOT, TODAY + timedelta(days=20))
    web = new_web()  # nobody signed in
    text = page(web, "/joining")
    assert "책이음 참여 예정 도서관" in text and 'href="/joining.atom"' in text
    assert 'id="lib-141099" data-stage="building"' in text
    assert 'id="lib-141002" data-stage="pilot"' in text
    assert "2026-03-24" in text and "구축 및 연계" in text and "시범운영" in text
    assert 'id="lib-111001"' not in text  # live, launched without the workflow's date
    assert text.index("lib-141002") < text.index("lib-141099")  # the announced launch first

    r = web.c.get("/joining.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and feed.feed.title == "책이음 참여 예정 도서관"
    assert feed.feed.language == "ko"
    assert {link.rel: link.href for link in feed.feed.links} == {
        "self": "http://testserver/joining.atom", "alternate": "http://testserver/joining"}
    entries = {e.id.rsplit("-", 1)[1]: e for e in feed.entries}
    assert set(entries) == {NEW, PILOT}
    pilot = entries[PILOT]
    assert pilot.title == "경기 용인중앙도서관 · 시범운영"
    assert "서비스 개시 예정일: 2026-03-24" in pilot.summary and "지역: 경기" in pilot.summary
    assert pilot.tags[0].term == "pilot" and pilot.link == "http://testserver/joining#lib-141002"
    assert "서비스 개시 예정일" not in entries[NEW].summary  # not announced

    # a stage change shows on both, with the entry's updated time
    hub.clock.advance(days=1)
    hub.onboarding.move(SYSTEM, NEW, "final_test", "구축 완료")
    feed = feedparser.parse(web.c.get("/joining.atom").content)
    moved = next(e for e in feed.entries if e.id.endswith(NEW))
    assert moved.title.endswith("최종 테스트·교육")
    assert moved.updated_parsed[:3] == (2026, 3, 5) and feed.feed.updated_parsed[:3] == (2026, 3, 5)
    assert 'data-stage="final_test"' in page(web, "/joining")
    # withdrawn: off the list
    hub.onboarding.move(SYSTEM, NEW, "withdrawn", "예산 미확보")
    assert 'id="lib-141099"' not in page(web, "/joining")
    assert [e.id for e in feedparser.parse(web.c.get("/joining.atom").content).entries] == [
        "http://testserver/joining#lib-141002"]


def test_english_page(hub, new_web) -> None:  # noqa: ANN001, F811
    text = page(new_web(), "/joining?lang=en")
    assert "Libraries joining 책이음" in text and "Gyeonggi" in text
    assert "not announced yet" in text


@pytest.mark.parametrize(("name", "particle"), [
    ("경기 새내기작은도서관", "이"), ("서울도서관", "이"), ("부산 책마루", "가"),
    ("마포 평생학습센터", "가"), ("Library 2", "이(가)"), ("", "이(가)")])
def test_subject_particle(name: str, particle: str) -> None:
    assert subject_particle(name) == particle


def test_launch_sentence() -> None:
    assert launch_sentence("경기 용인중앙도서관", date(2026, 3, 24), False) == \
        "경기 용인중앙도서관이 3월 24일부터 책이음 서비스를 시작합니다"
    assert launch_sentence("책마루", date(2026, 12, 1), True) == \
        "책마루가 12월 1일부터 책이음 서비스를 시작했습니다"


def notice(web) -> str | None:  # noqa: ANN001
    text = page(web, "/my")
    if 'id="launch-notices"' not in text:
        return None
    start = text.index('id="launch-notices"')
    return text[start:text.index("</section>", start)]


def test_portal_notice_for_the_region_from_announcement_to_after_launch(
        hub, new_web, people) -> None:  # noqa: ANN001, F811
    gyeonggi = new_web().member(people["최별"]["number"], "member-pass-4")  # card of 141001
    seoul = new_web().member(people["김하늘"]["number"], "member-pass-1")  # card of 111001
    assert notice(gyeonggi) is None  # nothing announced yet
    # pilot (re)started today (through its gate), launch announced 20 days ahead
    hub.onboarding.move(SYSTEM, PILOT, "on_hold", "장비 교체")
    hub.onboarding.store_report(SYSTEM, PILOT, report(PILOT, "pass", T0 - timedelta(hours=1)))
    hub.onboarding.put_system(SYSTEM, PILOT, "ILS", "ils", True, True)
    hub.onboarding.move(SYSTEM, PILOT, "pilot")
    launch = TODAY + timedelta(days=20)
    hub.onboarding.announce_launch(SYSTEM, PILOT, launch)
    said = "경기 용인중앙도서관이 3월 24일부터 책이음 서비스를 시작합니다."
    assert said in notice(gyeonggi)
    assert notice(seoul) is None  # another region's members are not told
    english = page(gyeonggi, "/my?lang=en")
    assert "경기 용인중앙도서관 starts the 책이음 service on 2026-03-24." in english
    page(gyeonggi, "/my?lang=ko")

    hub.clock.advance(days=20)  # launch day: it goes live
    assert said in notice(gyeonggi)
    hub.onboarding.move(SYSTEM, PILOT, "live")
    assert "경기 용인중앙도서관이 3월 24일부터 책이음 서비스를 시작했습니다." in notice(gyeonggi)
    hub.clock.advance(days=7)
    assert "시작했습니다" in notice(gyeonggi)
    hub.clock.advance(days=1)  # more than a week after launch: gone
    assert notice(gyeonggi) is None
    # the public list keeps a launched library for 60 days after its launch date
    assert 'id="lib-141002" data-stage="live"' in page(gyeonggi, "/joining")
    hub.clock.advance(days=53)
    assert 'id="lib-141002"' not in page(gyeonggi, "/joining")


def test_a_launch_put_off_is_not_announced_as_begun(hub, new_web, people) -> None:  # noqa: ANN001, F811
    gyeonggi = new_web().member(people["최별"]["number"], "member-pass-4")
    hub.onboarding.announce_launch(SYSTEM, NEW, TODAY + timedelta(days=14))
    assert "경기 새내기작은도서관이 3월 18일부터" in notice(gyeonggi)
    hub.clock.advance(days=15)  # the date passed, the library is still building
    assert notice(gyeonggi) is None
