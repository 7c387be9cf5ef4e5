"""Issue 11's stage e-mails, on SQLite and PostgreSQL: a joining library's contacts (its
own, its vendor's, its regional center's) over the REST API with the onboarding's
who-may, the e-mail of every transition queued in the transition's transaction and
delivered through a real SMTP server (aiosmtpd), Korean subject and body decoded; a mail
server that is down never blocks or undoes a transition, and nothing is sent twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from chaekieum.notify import Settings, senders
from chaekieum.services.context import SYSTEM
from chaekieum.store.tables import audit_log, notices

from ..conftest import free_port
from ..mailcapture import MailBox
from .test_onboarding import LIB, key_client, move, put, refused

CONTACTS = [
    {"party": "library", "name": "새내기 담당 사서", "email": "librarian@saenaegi.go.kr"},
    {"party": "vendor", "name": "구축 사업자", "email": "pm@vendor.co.kr"},
    {"party": "regional_center", "name": "경기도사이버도서관", "email": "center@gg.go.kr"},
]


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    box = MailBox().start()
    yield box
    box.stop()


@pytest.fixture
def regional(client, any_hub):  # noqa: ANN001, ANN201
    return key_client(client, any_hub, "region", "gyeonggi")


def smtp(url: str) -> dict:
    return senders(Settings(smtp_url=url, mail_from="noreply@chaekieum.kr"))


def test_contacts_follow_the_onboarding_rule(client, any_hub, libs, regional) -> None:  # noqa: ANN001
    lib = libs[LIB]
    path = f"/libraries/{LIB}/onboarding/contacts"
    assert lib.get(path).json() == {"code": LIB, "contacts": []}
    r = put(lib, path, {"contacts": CONTACTS + [CONTACTS[1]]})  # a repeat counts once
    assert r.status_code == 200, r.text
    assert [(c["party"], c["party_label"]) for c in r.json()["contacts"]] == [
        ("library", "참여도서관"), ("regional_center", "지역대표도서관"), ("vendor", "사업자")]
    assert regional.get(path).json()["contacts"] == r.json()["contacts"]
    # another library, and another region's admin, may neither read nor change them
    refused(libs["111001"].get(path), "FORBIDDEN", 403)
    seoul = key_client(client, any_hub, "region", "seoul")
    refused(put(seoul, path, {"contacts": []}), "FORBIDDEN", 403)
    refused(put(lib, path, {"contacts": [{"party": "vendor", "email": "not-an-address"}]}),
            "VALIDATION_ERROR", 422)
    refused(put(lib, path, {"contacts": [{"party": "national", "email": "a@b.kr"}]}),
            "VALIDATION_ERROR", 422)
    refused(lib.get("/libraries/999999/onboarding/contacts"), "LIBRARY_UNKNOWN", 404)
    with any_hub.db.read() as conn:
        audited = conn.execute(select(audit_log.c.details).where(
            audit_log.c.action == "onboarding.contacts")).scalars().all()
    assert audited == [{"library": 1, "vendor": 1, "regional_center": 1}]


def test_every_transition_mails_the_contacts_in_korean(any_hub, libs, regional,  # noqa: ANN001
                                                       mailbox) -> None:
    put(libs[LIB], f"/libraries/{LIB}/onboarding/contacts", {"contacts": CONTACTS})
    assert move(regional, "final_test", "구축 완료").status_code == 200
    assert move(regional, "on_hold", "예산 미확보로 보류").status_code == 200
    # queued in the transitions' transactions, nothing sent yet
    assert mailbox.messages == []
    out = any_hub.notices.deliver(smtp(mailbox.url))
    assert out == {"sent": 6}
    assert len(mailbox.messages) == 6
    for address in (c["email"] for c in CONTACTS):
        first, second = mailbox.to(address)
        assert first.subject == "[책이음] 경기 새내기작은도서관(141099) 참여 절차: 최종 테스트·교육"
        assert "'최종 테스트·교육' 단계가 되었습니다" in first.body
        assert "- 이전 단계: 구축 및 연계" in first.body
        assert "- 다음 담당: 지역대표도서관" in first.body
        assert "적합성 검사를 통과한 보고서를 올리고" in first.body
        assert "- 사유: 구축 완료" in first.body
        assert second.subject.endswith("참여 절차: 보류")
        assert "- 사유: 예산 미확보로 보류" in second.body
        assert "보류 사유를 해소한 뒤" in second.body
        # on the wire: RFC 2047 subject, UTF-8 body, one Message-ID per outbox row
        raw = first.raw.decode("ascii")
        assert "Subject: =?utf-8?" in raw and 'charset="utf-8"' in raw
        assert first.headers["Message-ID"] != second.headers["Message-ID"]
    # delivered rows are never sent again
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {}
    assert len(mailbox.messages) == 6
    listed = regional.get(f"/libraries/{LIB}/onboarding/notices").json()["notices"]
    assert [(n["stage"], n["status"]) for n in listed[:3]] == [("on_hold", "sent")] * 3
    assert len(listed) == 6


def test_a_mail_server_that_is_down_never_blocks_a_transition(any_hub, libs, regional,  # noqa: ANN001
                                                               mailbox, clock) -> None:
    put(libs[LIB], f"/libraries/{LIB}/onboarding/contacts", {"contacts": CONTACTS[:1]})
    assert move(regional, "final_test").json()["status"] == "final_test"
    down = smtp(f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    assert any_hub.notices.deliver(down) == {"retry": 1}
    assert any_hub.onboarding.view(SYSTEM, LIB)["stage"] == "final_test"  # kept
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {}  # waits for its retry time
    clock.advance(minutes=1)
    mailbox.fail_next = 1  # the server answers 451 once: another retry
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {"retry": 1}
    clock.advance(minutes=5)
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {"sent": 1}
    assert len(mailbox.messages) == 1
    with any_hub.db.read() as conn:
        row = conn.execute(select(notices.c.status, notices.c.attempts)).one()
    assert tuple(row) == ("sent", 3)


def test_a_refused_address_fails_for_good(any_hub, libs, regional, mailbox) -> None:  # noqa: ANN001
    put(libs[LIB], f"/libraries/{LIB}/onboarding/contacts",
        {"contacts": [{"party": "vendor", "email": "refused@vendor.co.kr"}, CONTACTS[0]]})
    move(regional, "final_test")
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {"failed": 1, "sent": 1}
    assert [m.recipients for m in mailbox.messages] == [[CONTACTS[0]["email"]]]
    assert any_hub.notices.status()["failed"] == {"email": 1}
    # an operator sends it again (e.g. after the vendor fixed its mailbox)
    failed = [n["id"] for n in any_hub.notices.library_notices(SYSTEM, LIB)["notices"]
              if n["status"] == "failed"]
    assert any_hub.notices.requeue(SYSTEM, failed) == 1
    assert any_hub.notices.requeue(SYSTEM, failed) == 0  # pending now: nothing to do
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {"failed": 1}  # refused again


def test_no_contacts_no_mail_and_the_transition_stands(any_hub, regional, mailbox) -> None:  # noqa: ANN001
    assert move(regional, "final_test").status_code == 200
    assert any_hub.notices.deliver(smtp(mailbox.url)) == {}
    assert any_hub.notices.status() == {}
