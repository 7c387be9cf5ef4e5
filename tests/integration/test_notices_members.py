"""Issue 14's member notices: due-date reminders (3 days before, on the day), overdue,
suspension started and ended, reservation ready, through a real SMTP server (aiosmtpd);
quiet hours defer and later deliver; a double scheduler run sends one; the member's
channel choice (portal) is respected when queueing and when sending; withdrawal erases
them; SMS and 알림톡 adapters against a local HTTP server; and on PostgreSQL two
schedulers and two delivery rounds at once send each notice once."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from chaekieum.domain import notices as dn
from chaekieum.domain.errors import DomainError
from chaekieum.notify import Settings, senders
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, FixedClock, Role
from chaekieum.services.hub import Hub
from chaekieum.store.tables import audit_log, notices

from ..conftest import PG_URL, SECRET, T0, drop_pg_database, free_port, pg_demo_database
from ..mailcapture import MailBox
from .test_web_security import Web

ITEM = "$111001EM0000000001"
EMAIL = "haneul@example.com"


def desk(code: str = "111001") -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


def me(number: str) -> Actor:
    return Actor(Role.MEMBER, f"member:{number}", "portal")


def kst(day, hh: int, mm: int = 0) -> datetime:  # noqa: ANN001
    """Seoul wall-clock time on `day` as naive UTC."""
    return datetime(day.year, day.month, day.day, hh, mm) - timedelta(hours=9)


@pytest.fixture
def mailbox() -> Iterator[MailBox]:
    box = MailBox().start()
    yield box
    box.stop()


@pytest.fixture
def numbers(request) -> list[str]:  # noqa: ANN001
    """The demo members of this test's hub (any_hub or the SQLite hub)."""
    name = "any_hub" if "any_hub" in request.fixturenames else "hub"
    return [m["number"] for m in demo.info(request.getfixturevalue(name))["members"]]


def smtp(box: MailBox) -> dict:
    return senders(Settings(smtp_url=box.url, mail_from="noreply@chaekieum.kr"))


def borrow(hub: Hub, number: str, item: str = ITEM, email: str = EMAIL):  # noqa: ANN201
    hub.members.update(SYSTEM, number, {"email": email})
    out = hub.circulation.checkout(desk(), CheckoutRequest(number, item))
    return datetime.fromisoformat(out.loan["due_on"]).date()


def kinds(hub: Hub) -> list[tuple[str, str, str]]:
    with hub.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(
            notices.c.kind, notices.c.channel, notices.c.status).order_by(notices.c.id))]


def test_reminders_and_overdue_once_each(any_hub, clock, numbers, mailbox) -> None:  # noqa: ANN001
    hub = any_hub
    due = borrow(hub, numbers[0])
    title = hub.members.loans(SYSTEM, numbers[0])[0]["title"]
    clock.set(kst(due - timedelta(days=4), 12))
    assert hub.notices.schedule()["queued"] == 0  # four days ahead: nothing yet
    clock.set(kst(due - timedelta(days=3), 10))
    assert hub.notices.schedule() == {"candidates": 1, "queued": 1}
    assert hub.notices.schedule() == {"candidates": 1, "queued": 0}  # run twice: one
    assert hub.notices.deliver(smtp(mailbox)) == {"sent": 1}
    assert hub.notices.deliver(smtp(mailbox)) == {}
    (mail,) = mailbox.messages
    assert mail.recipients == [EMAIL]
    assert mail.subject == "[책이음] 반납 예정일 3일 전 안내"
    assert f"『{title}』의 반납 예정일은 {due.isoformat()}입니다" in mail.body
    assert mail.body.startswith("김하늘님, 서울도서관에서 빌린")
    for days, hour in ((2, 9), (1, 15)):  # the same reminder is not queued again
        clock.set(kst(due - timedelta(days=days), hour))
        assert hub.notices.schedule()["queued"] == 0
    clock.set(kst(due, 8, 30))
    hub.notices.schedule()
    hub.notices.schedule()
    hub.notices.deliver(smtp(mailbox))
    assert mailbox.messages[-1].subject == "[책이음] 오늘은 반납 예정일입니다"
    clock.set(kst(due + timedelta(days=1), 9))
    hub.notices.schedule()
    hub.notices.deliver(smtp(mailbox))
    clock.set(kst(due + timedelta(days=2), 9))
    assert hub.notices.schedule()["queued"] == 0
    assert [m.subject for m in mailbox.messages] == [
        "[책이음] 반납 예정일 3일 전 안내", "[책이음] 오늘은 반납 예정일입니다",
        "[책이음] 연체 안내"]
    assert "지났습니다" in mailbox.messages[-1].body


def test_quiet_hours_defer_and_later_deliver(hub, clock, numbers, mailbox) -> None:  # noqa: ANN001
    due = borrow(hub, numbers[0])
    clock.set(kst(due - timedelta(days=3), 22, 30))
    assert hub.notices.schedule()["queued"] == 1
    assert hub.notices.deliver(smtp(mailbox)) == {}  # 22:30 KST: it waits
    clock.set(kst(due - timedelta(days=2), 7, 59))
    assert hub.notices.deliver(smtp(mailbox)) == {}
    assert kinds(hub) == [("due_soon", "email", "pending")]
    clock.set(kst(due - timedelta(days=2), 8, 0))
    assert hub.notices.deliver(smtp(mailbox)) == {"sent": 1}
    assert len(mailbox.messages) == 1
    # a retry that falls into the quiet hours waits for the morning as well
    clock.set(kst(due, 0, 5))
    hub.notices.schedule()  # due today, queued just after midnight: leaves at 08:00
    with hub.db.read() as conn:
        leaves = conn.scalar(select(notices.c.not_before).where(
            notices.c.kind == "due_today"))
    assert leaves == kst(due, 8)
    with hub.db.write() as conn:  # as if a failure had set it to retry at 23:00
        conn.execute(notices.update().where(notices.c.kind == "due_today").values(
            not_before=kst(due - timedelta(days=1), 23)))
    assert hub.notices.deliver(smtp(mailbox)) == {"deferred": 1}
    clock.set(kst(due, 8, 1))
    assert hub.notices.deliver(smtp(mailbox)) == {"sent": 1}


def test_member_choice_is_respected(hub, clock, numbers, mailbox, caplog) -> None:  # noqa: ANN001
    number = numbers[0]
    due = borrow(hub, number)
    with pytest.raises(DomainError):  # only the member sets their channels
        hub.notices.set_preferences(desk(), number, email=False, sms=True, kakao=False)
    hub.notices.set_preferences(me(number), number, email=False, sms=False, kakao=False)
    clock.set(kst(due - timedelta(days=3), 10))
    assert hub.notices.schedule() == {"candidates": 0, "queued": 0}  # opted out
    # SMS and 알림톡 on (the demo member has a phone): both queued, e-mail not
    hub.notices.set_preferences(me(number), number, email=False, sms=True, kakao=True)
    assert hub.notices.schedule()["queued"] == 2
    dev = senders(Settings(sms_url="log:", kakao_url="log:"))
    with caplog.at_level(logging.INFO, logger="chaekieum"):
        assert hub.notices.deliver(dev) == {"sent": 2}
    lines = [r.getMessage() for r in caplog.records if "DEV LOG SINK" in r.getMessage()]
    assert len(lines) == 2 and all("010-****-5678" in line for line in lines)
    assert not any("010-1234-5678" in r.getMessage() or "김하늘" in r.getMessage()
                   for r in caplog.records)
    assert "김*늘님" in lines[0]
    # turned off between queueing and sending: cancelled, not sent
    hub.notices.set_preferences(me(number), number, email=True, sms=False, kakao=False)
    clock.set(kst(due, 10))
    hub.notices.schedule()
    hub.notices.set_preferences(me(number), number, email=False, sms=False, kakao=False)
    assert hub.notices.deliver(smtp(mailbox)) == {"skipped": 1}
    assert mailbox.messages == []
    assert kinds(hub)[-1] == ("due_today", "email", "cancelled")
    with hub.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "member.notice_prefs")) == 4


def test_suspension_and_reservation_notices_then_withdrawal_erases(  # noqa: ANN001
        any_hub, clock, numbers, mailbox) -> None:
    hub = any_hub
    borrower, waiting = numbers[0], numbers[1]
    due = borrow(hub, borrower)
    hub.members.update(SYSTEM, waiting, {"email": "bada@example.com"})
    hub.reservations.place(desk(), waiting, ITEM)
    clock.set(kst(due + timedelta(days=3), 11))  # returned 3 days late: suspended
    hub.circulation.checkin(desk(), CheckinRequest(ITEM))
    until = hub.members.get(SYSTEM, borrower)["suspended_until"]
    assert until
    hub.notices.schedule()
    hub.notices.deliver(smtp(mailbox))
    got = {m.recipients[0]: m for m in mailbox.messages}
    assert got[EMAIL].subject == "[책이음] 대출정지 안내"
    assert f"{until}까지 모든 책이음 도서관에서 대출이 정지되었습니다" in got[EMAIL].body
    ready = got["bada@example.com"]
    assert ready.subject == "[책이음] 예약 도서 도착 안내" and "서울도서관에 도착했습니다" in ready.body
    assert hub.notices.schedule()["queued"] == 0
    end = datetime.fromisoformat(until).date()
    clock.set(kst(end + timedelta(days=1), 9))
    hub.notices.schedule()
    hub.notices.deliver(smtp(mailbox))
    assert mailbox.messages[-1].subject == "[책이음] 대출정지 종료 안내"
    assert hub.notices.schedule()["queued"] == 0
    # withdrawal erases the member's notices (they name titles) and choices
    hub.notices.set_preferences(me(borrower), borrower, email=True, sms=True, kakao=False)
    hub.members.withdraw(SYSTEM, borrower)
    with hub.db.read() as conn:
        left = conn.execute(select(notices.c.kind, notices.c.member_id)).all()
    assert [r.kind for r in left] == ["reservation_ready"]  # the other member's


def test_portal_settings_page(hub, clock, numbers) -> None:  # noqa: ANN001
    number = numbers[0]
    password = demo.MEMBERS[0][3]
    with TestClient(create_app(hub), follow_redirects=False) as client:
        web = Web(client).member(number, password)
        page = client.get("/my").text
        assert 'href="/my/notices"' in page
        page = client.get("/my/notices").text
        assert "알림 받기 설정" in page and "등록된 이메일 주소가 없습니다" in page
        assert 'name="email" checked' in page and 'name="sms" >' in page
        r = web.post("/my/notices", {"sms": "on", "kakao": "on"}, page="/my/notices")
        assert r.status_code == 303 and r.headers["location"] == "/my/notices"
        page = client.get("/my/notices").text
        assert "알림 받기 설정을 저장했습니다" in page
        assert 'name="email" >' in page and 'name="sms" checked' in page
    prefs = hub.notices.preferences(me(number), number)
    assert (prefs["email"], prefs["sms"], prefs["kakao"]) == (False, True, True)


class _Provider(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict, dict]] = []
    answer = {"header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}}

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, dict(self.headers), body))
        data = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_sms_and_alimtalk_adapters_speak_nhn_cloud() -> None:
    server = HTTPServer(("127.0.0.1", free_port()), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"nhncloud+http://app1:s3cret@127.0.0.1:{server.server_port}"
    try:
        out = senders(Settings(sms_url=f"{base}?from=02-123-4567",
                               kakao_url=f"{base}?sender_key=SK1"))
        params = {"name": "김하늘", "title": "토지", "library": "서울도서관",
                  "due_on": "2026-03-07"}
        subject, body = dn.member_text(dn.Kind.DUE_SOON, params)
        msg = dn.Message(1, dn.Channel.SMS, dn.Kind.DUE_SOON, "010-1234-5678", subject, body,
                         params)
        out["sms"].send(msg)
        out["kakao"].send(msg)
        (sms_path, sms_headers, sms), (kakao_path, _, kakao) = _Provider.seen
        assert sms_path == "/sms/v3.0/appKeys/app1/sender/mms"  # over 90 bytes: LMS
        assert sms_headers["X-Secret-Key"] == "s3cret"
        assert sms["sendNo"] == "021234567" and sms["body"] == body
        assert sms["recipientList"] == [{"recipientNo": "01012345678"}]
        assert sms["title"] == subject
        assert kakao_path == "/alimtalk/v2.3/appkeys/app1/messages"
        assert kakao["senderKey"] == "SK1" and kakao["templateCode"] == "CK_DUE_SOON"
        assert kakao["recipientList"][0]["templateParameter"]["title"] == "토지"
        _Provider.answer = {"header": {"isSuccessful": False, "resultCode": -1000,
                                       "resultMessage": "invalid recipient"}}
        with pytest.raises(dn.DeliveryError) as refused:
            out["sms"].send(msg)
        assert refused.value.permanent
    finally:
        server.shutdown()
        _Provider.seen.clear()
        _Provider.answer = {"header": {"isSuccessful": True, "resultCode": 0}}


def test_a_provider_refusal_is_recorded_without_the_number(hub, clock, numbers,  # noqa: ANN001
                                                             caplog) -> None:
    server = HTTPServer(("127.0.0.1", free_port()), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Provider.answer = {"header": {"isSuccessful": False, "resultCode": -2019,
                                   "resultMessage": "blocked recipient 01012345678"}}
    number = numbers[0]
    due = borrow(hub, number)
    hub.notices.set_preferences(me(number), number, email=False, sms=True, kakao=False)
    clock.set(kst(due - timedelta(days=3), 10))
    hub.notices.schedule()
    sms = senders(Settings(sms_url=f"nhncloud+http://a:b@127.0.0.1:{server.server_port}"
                                   "?from=021234567"))
    try:
        with caplog.at_level(logging.INFO, logger="chaekieum"):
            assert hub.notices.deliver(sms) == {"failed": 1}  # permanent: no retry
    finally:
        server.shutdown()
        _Provider.seen.clear()
        _Provider.answer = {"header": {"isSuccessful": True, "resultCode": 0}}
    with hub.db.read() as conn:
        error = conn.scalar(select(notices.c.error))
    assert "blocked recipient 010-****-5678" in error and "1234" not in error
    assert not any("1234" in r.getMessage() for r in caplog.records)


def test_the_job_worker_tasks_use_the_configured_senders(hub, clock, numbers, mailbox,  # noqa: ANN001
                                                         monkeypatch) -> None:
    from chaekieum.jobs import Jobs

    monkeypatch.setenv("CHAEKIEUM_SMTP_URL", mailbox.url)
    monkeypatch.setenv("CHAEKIEUM_MAIL_FROM", "noreply@chaekieum.kr")
    jobs = Jobs(hub)
    # huey's periodic schedule: delivery every minute, the scheduler every 15 minutes
    assert {t.name for t in jobs.huey.read_periodic(datetime(2026, 3, 4, 10, 15))} >= {
        "chaekieum.notices.schedule", "chaekieum.notices.deliver"}
    names = {t.name for t in jobs.huey.read_periodic(datetime(2026, 3, 4, 10, 16))}
    assert "chaekieum.notices.deliver" in names and "chaekieum.notices.schedule" not in names
    due = borrow(hub, numbers[0])
    clock.set(kst(due - timedelta(days=3), 10))
    assert jobs.schedule_notices()["queued"] == 1
    assert jobs.deliver_notices() == {"sent": 1}
    assert len(mailbox.messages) == 1


@pytest.mark.postgres
def test_two_schedulers_and_two_senders_at_once_send_each_notice_once(mailbox) -> None:  # noqa: ANN001
    if not PG_URL:
        pytest.skip("no PostgreSQL configured (set CHAEKIEUM_TEST_PG_URL)")
    url = pg_demo_database()
    clock = FixedClock(T0)
    hubs = [Hub(url, secret=SECRET, clock=clock) for _ in range(2)]
    try:
        hub = hubs[0]
        info = demo.info(hub)
        items = next(lib["loanable_items"] for lib in info["libraries"]
                     if lib["code"] == "111001")
        borrowers = [m["number"] for m in info["members"]][:3]
        due = None
        assert len(items) >= 8
        for i, item in enumerate(items[:8]):
            number = borrowers[i % 3]
            due = borrow(hub, number, item, f"m{i % 3}@example.com")
        clock.set(kst(due - timedelta(days=3), 10))
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run(h: Hub) -> None:
            try:
                barrier.wait()
                h.notices.schedule()
                h.notices.deliver(smtp(mailbox))
                h.notices.deliver(smtp(mailbox))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(h,)) for h in hubs * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert len(mailbox.messages) == 8  # one per loan, though four ran at once
        assert hub.notices.status() == {"sent": {"email": 8}}
        assert len({m.headers["Message-ID"] for m in mailbox.messages}) == 8
    finally:
        for h in hubs:
            h.close()
        drop_pg_database(url)


def test_notices_run_command(tmp_path, mailbox) -> None:  # noqa: ANN001
    """`chaekieum notices run` (cron) on a hub with the wall clock: queue and send once."""
    from typer.testing import CliRunner

    from chaekieum.cli import app
    from chaekieum.services.context import Clock, local_date
    from chaekieum.store.tables import loans

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    hub = Hub(url, secret=SECRET, clock=Clock())
    hub.migrate()
    demo.load(hub)
    number = demo.info(hub)["members"][0]["number"]
    borrow(hub, number)
    with hub.db.write() as conn:  # due in three days from today
        conn.execute(loans.update().values(
            due_on=local_date(hub.clock.now()) + timedelta(days=3)))
    hub.close()
    args = ["notices", "run", "--database-url", url, "--smtp-url", mailbox.url,
            "--mail-from", "noreply@chaekieum.kr"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert out["schedule"]["queued"] == 1
    # in the quiet hours it waits (a later run sends it); otherwise it is sent now
    assert out["deliver"] in ({"sent": 1}, {"deferred": 1}, {})
    second = CliRunner().invoke(app, args)
    assert json.loads(second.output)["schedule"]["queued"] == 0
    sent = out["deliver"].get("sent", 0) + json.loads(second.output)["deliver"].get("sent", 0)
    assert len(mailbox.messages) == sent <= 1
    wrong = CliRunner().invoke(app, ["notices", "run", "--database-url", url,
                                     "--smtp-url", mailbox.url])  # no From address
    assert wrong.exit_code == 2 and "From address" in wrong.output
    status = CliRunner().invoke(app, ["notices", "status", "--database-url", url])
    assert json.loads(status.output) in ({"sent": {"email": 1}}, {"pending": {"email": 1}})
