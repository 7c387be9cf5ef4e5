"""Every SIP2 message pair and every trap of docs/sip2.md, from raw frames over a real
socket against the running SIP2 server (demo network, fixed clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.sip2.client import Sip2Client
from chaekieum.sip2.client import raw_frame as sip
from chaekieum.sip2.codec import checksum, decode_response, verify_checksum
from chaekieum.sip2.hub_backend import HubBackend
from chaekieum.sip2.server import BackgroundServer
from chaekieum.store.tables import audit_log, circulation_exceptions, loans, transits

BLANK = " " * 18
NOW = "20260304    100000"  # the fixed clock (T0) in Seoul


@pytest.fixture
def server(hub) -> Iterator[BackgroundServer]:  # noqa: ANN001
    with BackgroundServer(HubBackend(hub)) as s:
        yield s


@pytest.fixture
def info(hub) -> dict:  # noqa: ANN001
    return demo.info(hub)


@pytest.fixture
def member(info) -> str:  # noqa: ANN001
    return info["members"][0]["number"]  # 김하늘, issued by 111001


def connect(server: BackgroundServer, **kw) -> Sip2Client:  # noqa: ANN003
    return Sip2Client(port=server.port, timeout=10, **kw)


def ask(c: Sip2Client, frame: bytes, encoding: str = "utf-8"):  # noqa: ANN201
    c.send_raw(frame)
    line = c.read_line()
    assert line, "server closed the connection"
    return decode_response(line, encoding)


@pytest.fixture
def kiosk(server) -> Iterator[Sip2Client]:  # noqa: ANN001
    with connect(server) as c:
        r = ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|CPentrance|"))
        assert r.code == "94" and r.fixed["ok"] == "1"
        yield c


def checkout(c: Sip2Client, patron: str, item: str, seq: int = 1, *, no_block: str = "N",
             when: str = NOW, due: str = BLANK, ao: str = "111001"):  # noqa: ANN201
    return ask(c, sip(f"11Y{no_block}{when}{due}AO{ao}|AA{patron}|AB{item}|AC|", seq))


def checkin(c: Sip2Client, item: str, seq: int = 2, *, no_block: str = "N",
            when: str = NOW):  # noqa: ANN201
    return ask(c, sip(f"09{no_block}{when}{when}AP111001|AO111001|AB{item}|AC|", seq))


def lend_at_its_owner(hub, member: str, item: str) -> None:  # noqa: ANN001
    """Another library's copy, lent where it is: by its owner (a kiosk lends only its
    own library's copies, COPY_NOT_HERE otherwise)."""
    owner = Actor(Role.LIBRARIAN, f"staff:lib-{item[1:7]}", "desk", item[1:7])
    hub.circulation.checkout(owner, CheckoutRequest(member, item))


def active_loans(hub) -> int:  # noqa: ANN001
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.state == "active"))


# --- 93/94 login, 99/98 status -----------------------------------------------------------


def test_login_ok_and_refused(server):  # noqa: ANN001
    with connect(server) as c:
        r = ask(c, sip("9300CNkiosk-111001|COwrong|", None))
        assert (r.code, r.fixed["ok"]) == ("94", "0")
        r = ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|", None))
        assert (r.code, r.fixed["ok"]) == ("94", "1")


def test_empty_login_fields_do_not_crash(server):  # noqa: ANN001 - trap 8
    with connect(server) as c:
        assert ask(c, sip("9300CN|CO|", None)).fixed["ok"] == "0"
        assert ask(c, sip("9300", None)).fixed["ok"] == "0"


def test_sc_status_after_login(kiosk):  # noqa: ANN001
    raw = sip("9900302.00", 3)
    kiosk.send_raw(raw)
    line = kiosk.read_line()
    assert verify_checksum(line)
    r = decode_response(line)
    assert r.code == "98" and len(r.raw) >= 2 + 34
    assert r.sequence == 3  # echoed
    assert r.fixed["online_status"] == "Y" and r.fixed["checkout_ok"] == "Y"
    assert r.fixed["protocol_version"] == "2.00"
    assert r.get("AO") == "111001" and r.get("AM") == "서울도서관"
    bx = r.get("BX")
    assert len(bx) == 16 and bx.startswith("YYYYYYYYYYY")  # 23 11 09 01 99 97 93 63 35 37 17
    assert bx[11:14] == "NNY" and bx[14:] == "YY"  # no 19/25; 15 hold, 29, 65 yes


def test_checksum_example_from_the_notes(server):  # noqa: ANN001
    with connect(server) as c:
        c.send_raw(b"9900802.00AY1AZFCA0\r")
        line = c.read_line()
        assert verify_checksum(line)
        r = decode_response(line)
        assert r.code == "98" and r.sequence == 1
        assert r.fixed["online_status"] == "N"  # no terminal logged in yet
        assert any("로그인" in m for m in r.all("AF"))


def test_library_not_live_reports_checkout_not_ok(hub, server):  # noqa: ANN001
    hub.credentials.create_terminal(SYSTEM, "141099", "kiosk-new", "pw-new")
    with connect(server) as c:
        assert ask(c, sip("9300CNkiosk-new|COpw-new|")).fixed["ok"] == "1"
        # building (before pilot): it lends, on its sandbox data only (domain/sandbox.py)
        r = ask(c, sip("9900302.00", 1))
        assert r.fixed["checkout_ok"] == "Y" and r.fixed["checkin_ok"] == "Y"
    hub.onboarding.move(SYSTEM, "141099", "on_hold", "예산 재편성")
    with connect(server) as c:
        assert ask(c, sip("9300CNkiosk-new|COpw-new|")).fixed["ok"] == "1"
        r = ask(c, sip("9900302.00", 1))
        assert r.fixed["checkout_ok"] == "N" and r.fixed["checkin_ok"] == "N"


# --- before login, unknown commands -------------------------------------------------------


def test_requests_before_login_are_refused_then_dropped(server, member):  # noqa: ANN001
    with connect(server) as c:
        r = ask(c, sip(f"23000{NOW}AO111001|AA{member}|AC|AD|"))
        assert r.code == "24" and r.get("BL") == "N" and r.get("AE") == ""
        assert any("로그인" in m for m in r.all("AF"))
        r = ask(c, sip(f"11YN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000001|"))
        assert r.code == "12" and r.fixed["ok"] == "0"
        for _ in range(3):
            c.send_raw(sip(f"17{NOW}AB$111001EM0000000001|"))
        lines = [c.read_line() for _ in range(4)]
        assert lines[-1] == b""  # closed after repeated refused requests
    assert active_loans(server.server.backend.hub) == 0


def test_standard_but_unsupported_messages_get_their_response(kiosk):  # noqa: ANN001
    kiosk.send_raw(sip(f"19{NOW}AB2|"))
    line = kiosk.read_line()
    assert line.startswith(b"200") and verify_checksum(line)
    assert "지원하지 않습니다".encode() in line


def test_unknown_commands_are_ignored_then_dropped(kiosk):  # noqa: ANN001
    kiosk.send_raw(sip("42hello"))
    kiosk.send_raw(sip("9900302.00", 4))
    assert kiosk.read_line().startswith(b"98")  # still serving after one bad frame
    kiosk.send_raw(b"42a\r43b\r44c\r")
    assert kiosk.read_line() == b""


# --- error detection: 96, 97, duplicates --------------------------------------------------


def test_bad_checksum_gets_96_and_is_not_applied(hub, kiosk, member):  # noqa: ANN001
    good = sip(f"11YN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000001|", 1)
    bad = good[:-5] + (b"0000" if good[-5:-1] != b"0000" else b"0001") + b"\r"
    kiosk.send_raw(bad)
    assert kiosk.read_line() == b"96AZFEF6"
    assert active_loans(hub) == 0


def test_three_digit_lower_case_checksum_accepted(kiosk):  # noqa: ANN001 - trap 4
    # a frame whose checksum has a leading zero, sent as 3 lower-case digits
    data = next(d for n in range(2_000)
                if checksum(d := f"17{NOW}AB{'Z' * n}|AY5AZ".encode()).startswith("0")
                and any(c in "ABCDEF" for c in checksum(d)))
    value = checksum(data)[1:].lower()
    kiosk.send_raw(data + value.encode() + b"\r")
    line = kiosk.read_line()
    assert line.startswith(b"18") and verify_checksum(line)
    assert line[-4:] == line[-4:].upper() and len(line.rsplit(b"AZ", 1)[1]) == 4


def test_resend_97_returns_the_previous_response(server, kiosk, member):  # noqa: ANN001
    with connect(server) as fresh:
        fresh.send_raw(sip("97", None))
        assert fresh.read_line() == b"96"  # nothing to resend yet
    kiosk.send_raw(sip("97", None))
    assert kiosk.read_line().startswith(b"941")  # the login response again
    first = checkout(kiosk, member, "$111001EM0000000001")
    kiosk.send_raw(sip("97", None))
    again = decode_response(kiosk.read_line())
    assert again.raw == first.raw


def test_duplicate_ay_az_replays_the_stored_response(hub, server, kiosk, member):  # noqa: ANN001
    frame = sip(f"11YN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000002|AC|", 7)
    first = ask(kiosk, frame)
    assert first.fixed["ok"] == "1"
    second = ask(kiosk, frame)
    assert second.raw == first.raw and second.fixed["renewal_ok"] == "N"
    # ... and after a reconnect (same terminal, new connection)
    with connect(server) as c:
        assert ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|")).fixed["ok"] == "1"
        assert ask(c, frame).raw == first.raw
    assert active_loans(hub) == 1


def test_duplicate_after_another_request_replays_its_own_response(hub, kiosk, member):  # noqa: ANN001
    """A repeated checkout gets the checkout's stored reply, not the reply of whatever
    the kiosk asked in between (here an item information request)."""
    frame = sip(f"11YN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000004|AC|", 3)
    first = ask(kiosk, frame)
    assert first.code == "12" and first.fixed["ok"] == "1"
    assert ask(kiosk, sip(f"17{NOW}AO111001|AB$111001EM0000000005|", 4)).code == "18"
    again = ask(kiosk, frame)
    assert again.code == "12" and again.raw == first.raw
    assert active_loans(hub) == 1


def test_reconnect_replay_without_checksum_is_idempotent(hub, server, member):  # noqa: ANN001
    hub.credentials.create_terminal(SYSTEM, "111001", "kiosk-plain", "pw-plain",
                                    error_detection=False)
    item = "$111001EM0000000003"
    for _ in range(2):  # the kiosk lost the reply, reconnects and sends it again
        with connect(server) as c:
            assert ask(c, sip("9300CNkiosk-plain|COpw-plain|", None)).fixed["ok"] == "1"
            r = ask(c, sip(f"11YN{NOW}{BLANK}AO111001|AA{member}|AB{item}|", None))
            assert r.fixed["ok"] == "1" and r.sequence is None and not r.checksum_present
    for _ in range(2):
        with connect(server) as c:
            ask(c, sip("9300CNkiosk-plain|COpw-plain|", None))
            r = ask(c, sip(f"09N{NOW}{NOW}AO111001|AB{item}|", None))
            assert r.fixed["ok"] == "1"
    with hub.db.read() as conn:
        assert conn.scalar(select(func.count()).select_from(loans)) == 1


def test_sequence_numbers_may_skip_stay_or_restart(kiosk):  # noqa: ANN001 - trap 3
    for seq in (0, 0, 5, 2, 9, 0):
        r = ask(kiosk, sip("9900302.00", seq))
        assert r.code == "98" and r.sequence == seq


# --- 23/24 patron status, 63/64 patron information -----------------------------------------


def test_patron_status_known_unknown_and_invalid(kiosk, member):  # noqa: ANN001
    r = ask(kiosk, sip(f"23000{NOW}AO111001|AA{member}|AC|AD|"))
    assert r.code == "24" and r.get("BL") == "Y" and r.get("AE") == "김하늘"
    assert r.get("CQ") == "N"  # trap 8: empty AD
    assert r.fixed["patron_status"][0] == " "  # may borrow
    unknown = member[:8] + "99999"
    from chaekieum.domain.numbering import check_digit
    unknown += str(check_digit(unknown))
    r = ask(kiosk, sip(f"23000{NOW}AO111001|AA{unknown}|AC|"))
    assert r.get("BL") == "N" and r.get("AE") == "" and "AE" in r.fields  # trap 9
    assert "등록되지 않은 회원입니다." in r.all("AF")
    r = ask(kiosk, sip(f"23000{NOW}AO111001|AA12345|"))
    assert r.get("BL") == "N" and r.all("AF")
    r = ask(kiosk, sip(f"23000{NOW}AO111001|"))  # no AA at all
    assert r.code == "24" and r.get("BL") == "N"


def test_patron_password_gives_cq(kiosk, member):  # noqa: ANN001
    assert ask(kiosk, sip(f"23000{NOW}AO111001|AA{member}|ADmember-pass-1|")).get("CQ") == "Y"
    assert ask(kiosk, sip(f"23000{NOW}AO111001|AA{member}|ADnope|")).get("CQ") == "N"


def test_patron_name_is_masked_for_a_library_the_member_never_joined(server, info):  # noqa: ANN001
    busan_member = info["members"][2]["number"]  # 박솔, 121001
    with connect(server) as c:
        ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        r = ask(c, sip(f"23000{NOW}AO111001|AA{busan_member}|"))
        assert r.get("AE") == "박*"


def test_patron_information_lists_with_bp_bq(hub, clock, kiosk, member):  # noqa: ANN001
    for n in range(1, 6):
        assert checkout(kiosk, member, f"$111001EM000000000{n}", n % 10).fixed["ok"] == "1"
    r = ask(kiosk, sip(f"63000{NOW}  Y       AO111001|AA{member}|BP2|BQ4|"))
    assert r.code == "64" and r.fixed["charged_items_count"] == "0005"
    assert r.all("AU") == [loan["item"] for loan in
                           hub.members.loans(SYSTEM, member)][1:4]
    assert r.get("CB") == "0020"
    r = ask(kiosk, sip(f"63000{NOW}          AO111001|AA{member}|"))
    assert "AU" not in r.fields  # no summary flag: no list
    clock.advance(days=20)  # everything overdue now
    r = ask(kiosk, sip(f"63000{NOW} Y        AO111001|AA{member}|"))
    assert r.fixed["overdue_items_count"] == "0005" and len(r.all("AT")) == 5
    assert r.fixed["patron_status"][0] == "Y" and r.fixed["patron_status"][6] == "Y"
    assert any("연체" in m for m in r.all("AF"))


# --- 11/12 checkout, 09/10 checkin, 29/30 renew, 65/66 renew all ---------------------------


def test_checkout_auto_joins_and_uses_the_library_calendar(hub, clock, server, member):  # noqa: ANN001
    clock.set(datetime(2026, 3, 2, 1, 0))  # Monday 10:00 Seoul; +14 days is a Monday
    with connect(server) as c:
        ask(c, sip("9300CNkiosk-111003|COkiosk-pass-111003|"))
        r = ask(c, sip(f"11YN{NOW}{BLANK}AO111003|AA{member}|AB$111003EM0000000001|", 1))
    assert r.fixed["ok"] == "1" and r.get("AJ")
    assert r.get("AH") == "20260317    235959"  # closed Mondays: moved to Tuesday
    assert "책이음 회원으로 이 도서관에 자동 가입되었습니다." in r.all("AF")
    libs = {j["library_code"]: j["how"] for j in hub.members.get(SYSTEM, member)["libraries"]}
    assert libs["111003"] == "auto"


def test_checkout_refusals_carry_title_and_korean_reason(kiosk, member):  # noqa: ANN001
    r = checkout(kiosk, member, "$111001EM0000000012")  # not loanable
    assert r.fixed["ok"] == "0" and r.get("AJ") and "AH" in r.fields  # trap 10
    assert "대출할 수 없는 자료입니다." in r.all("AF")
    r = checkout(kiosk, member, "$111001EM0000009999")
    assert r.fixed["ok"] == "0" and r.get("AJ") == "" and "등록되지 않은 자료입니다." in r.all("AF")
    r = checkout(kiosk, member, "garbage!")
    assert r.fixed["ok"] == "0" and r.all("AF")


def test_institution_mismatch_is_refused(hub, kiosk, member):  # noqa: ANN001
    r = checkout(kiosk, member, "$111001EM0000000001", ao="111002")
    assert r.fixed["ok"] == "0" and r.get("AO") == "111001"
    assert any("전용" in m for m in r.all("AF"))
    assert active_loans(hub) == 0
    r = ask(kiosk, sip(f"11YN{NOW}{BLANK}AA{member}|AB$111001EM0000000001|", 2))  # AO absent
    assert r.fixed["ok"] == "1"


def test_plain_registration_number_and_barcode_without_dollar(kiosk, member):  # noqa: ANN001
    assert checkout(kiosk, member, "EM0000000004").fixed["ok"] == "1"
    assert checkout(kiosk, member, "111001EM0000000005", 2).fixed["ok"] == "1"
    r = checkin(kiosk, "  $111001EM0000000004  ")  # trap 14: spaces around barcodes
    assert r.fixed["ok"] == "1"


def test_checkout_of_held_item_is_a_renewal(clock, kiosk, member):  # noqa: ANN001 - trap 7
    first = checkout(kiosk, member, "$111001EM0000000001")
    clock.advance(days=1)
    r = checkout(kiosk, member, "$111001EM0000000001", 2,
                 when="20260305    100000")
    assert r.fixed["ok"] == "1" and r.fixed["renewal_ok"] == "Y"
    assert r.get("AH") > first.get("AH")


def test_renew_then_limit_and_renew_all(hub, clock, kiosk, member):  # noqa: ANN001
    checkout(kiosk, member, "$111001EM0000000001", 1)
    checkout(kiosk, member, "$111001EM0000000002", 2)
    lend_at_its_owner(hub, member, "$111002EM0000000001")  # another library's copy
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000001|", 4))
    assert r.code == "30" and r.fixed["ok"] == "0"
    assert "대출 당일에는 반납연기할 수 없습니다." in r.all("AF") and r.get("AH")
    clock.advance(days=1)
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000001|", 5))
    assert r.fixed["ok"] == "1" and r.fixed["renewal_ok"] == "Y"
    assert r.get("AH") == "20260325    235959"  # 18th + 7 days
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA{member}|AB$111001EM0000000001|", 6))
    assert r.fixed["ok"] == "0" and "반납연기 횟수를 모두 사용했습니다." in r.all("AF")
    r = ask(kiosk, sip(f"65{NOW}AO111001|AA{member}|", 7))
    assert r.code == "66" and r.fixed["ok"] == "1"
    assert r.all("BM") == ["$111001EM0000000002"]
    assert sorted(r.all("BN")) == ["$111001EM0000000001", "$111002EM0000000001"]
    assert r.fixed["renewed_count"] == "0001" and r.fixed["unrenewed_count"] == "0002"
    assert "소장 도서관에서만 반납연기할 수 있습니다. (소장 도서관 111002)" in r.all("AF")


def test_renew_all_without_transaction_date_and_no_patron(kiosk, member):  # noqa: ANN001
    r = ask(kiosk, sip(f"65{BLANK}AO111001|AA{member}|"))  # trap 5
    assert r.code == "66" and r.fixed["ok"] == "1" and r.fixed["renewed_count"] == "0000"
    r = ask(kiosk, sip(f"65{NOW}AO111001|"))
    assert r.code == "66" and r.fixed["ok"] == "0"


def test_cross_return_creates_a_transit(hub, kiosk, member):  # noqa: ANN001
    lend_at_its_owner(hub, member, "$111002EM0000000001")
    r = checkin(kiosk, "$111002EM0000000001")
    assert r.fixed["ok"] == "1" and r.fixed["alert"] == "Y"
    assert r.get("AQ") == "111002" and r.get("CT") == "111002" and r.get("CV") == "04"
    assert any("중랑구립정보도서관(111002)" in m for m in r.all("AF"))
    with hub.db.read() as conn:
        row = conn.execute(select(transits)).one()
    assert (row.from_library, row.to_library, row.state) == ("111001", "111002", "received")
    r = ask(kiosk, sip(f"17{NOW}AO111001|AB$111002EM0000000001|"))
    assert r.fixed["circulation_status"] == "10" and r.get("CT") == "111002"


def test_return_outside_the_region_is_refused(server, info):  # noqa: ANN001
    busan = info["members"][2]["number"]
    with connect(server) as c:
        ask(c, sip("9300CNkiosk-121001|COkiosk-pass-121001|"))
        assert ask(c, sip(f"11YN{NOW}{BLANK}AA{busan}|AB$121001EM0000000001|", 1)
                   ).fixed["ok"] == "1"
    with connect(server) as c:
        ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        r = ask(c, sip(f"09N{NOW}{NOW}AB$121001EM0000000001|", 2))
        assert r.fixed["ok"] == "0" and any("타관반납 불가" in m for m in r.all("AF"))
        assert r.get("AJ")


def test_checkin_not_on_loan(kiosk):  # noqa: ANN001
    r = checkin(kiosk, "$111001EM0000000001")
    assert r.code == "10" and r.fixed["ok"] == "0" and "AQ" in r.fields
    assert "대출 중인 자료가 아닙니다." in r.all("AF")


def test_late_return_suspends_network_wide(hub, clock, server, member):  # noqa: ANN001
    with connect(server) as c:
        ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        checkout(c, member, "$111001EM0000000001")
        clock.advance(days=20)
        r = checkin(c, "$111001EM0000000001")
        assert r.fixed["ok"] == "1" and any("대출이 정지됩니다" in m for m in r.all("AF"))
    with connect(server) as c:  # another library, same region
        ask(c, sip("9300CNkiosk-111002|COkiosk-pass-111002|"))
        r = ask(c, sip(f"23000{NOW}AO111002|AA{member}|"))
        assert r.fixed["patron_status"][0] == "Y" and r.fixed["patron_status"][1] == "Y"
        assert any(m.startswith("대출정지 중인 회원입니다. (") for m in r.all("AF"))
        r = ask(c, sip(f"11YN{NOW}{BLANK}AO111002|AA{member}|AB$111002EM0000000001|", 3))
        assert r.fixed["ok"] == "0" and any("대출정지" in m for m in r.all("AF"))


def test_shared_limit_across_libraries(hub, server, member):  # noqa: ANN001
    codes = ["111001", "111002", "111003"]
    n = 0
    for code in codes:
        with connect(server) as c:
            ask(c, sip(f"9300CNkiosk-{code}|COkiosk-pass-{code}|"))
            for reg in range(1, 12):
                if n == 20:
                    break
                r = ask(c, sip(f"11YN{NOW}{BLANK}AA{member}|AB${code}EM{reg:010d}|", reg % 10))
                n += r.fixed["ok"] == "1"
    assert n == 20
    with connect(server) as c:
        ask(c, sip("9300CNkiosk-111003|COkiosk-pass-111003|"))
        r = ask(c, sip(f"11YN{NOW}{BLANK}AA{member}|AB$111003EM0000000020|", 1))
        assert r.fixed["ok"] == "0"
        assert "전체 도서관 통합 대출 한도를 초과합니다. (한도 20권, 대출 중 20권)" in r.all("AF")
        r = ask(c, sip(f"23000{NOW}AA{member}|"))
        assert r.fixed["patron_status"][0] == "Y" and r.fixed["patron_status"][5] == "Y"


# --- offline replays (no block = Y) -----------------------------------------------------------


def test_offline_replay_recorded_never_refused_idempotent(hub, kiosk, member):  # noqa: ANN001
    hub.members.report_card_lost(SYSTEM, member)  # would refuse an online checkout
    when, due = "20260303    151500", "20260320    000000"
    frame = sip(f"11YY{when}{due}AO111001|AA{member}|AB$111001EM0000000012|AC|", 1)
    r = ask(kiosk, frame)
    assert r.fixed["ok"] == "1" and r.get("AH") == "20260320    235959"
    assert any(m.startswith("오프라인 처리 내역이 기록되었으며") for m in r.all("AF"))
    r2 = ask(kiosk, sip(f"11YY{when}{due}AO111001|AA{member}|AB$111001EM0000000012|AC|", 4))
    assert r2.fixed["ok"] == "1"  # different AY, same transaction: not applied twice
    with hub.db.read() as conn:
        rows = conn.execute(select(loans)).all()
        exc = conn.execute(select(circulation_exceptions)).all()
    assert len(rows) == 1 and rows[0].offline and rows[0].due_on.isoformat() == "2026-03-20"
    assert rows[0].loaned_at == datetime(2026, 3, 3, 6, 15)  # 15:15 Seoul in UTC
    assert len(exc) == 1
    codes = {x["code"] for x in exc[0].reasons}
    assert {"CARD_LOST", "COPY_NOT_LOANABLE"} <= codes
    r = checkin(kiosk, "$111001EM0000000012", 5, no_block="Y", when="20260303    170000")
    assert r.fixed["ok"] == "1"


def test_offline_checkout_with_blank_due_date(kiosk, member):  # noqa: ANN001 - trap 5
    r = checkout(kiosk, member, "$111001EM0000000001", no_block="Y", when="20260303    090000")
    assert r.fixed["ok"] == "1" and r.get("AH") == "20260317    235959"


# --- a kiosk with a stuck clock; resends after a reconnect ---------------------------------


def test_stuck_clock_checkout_checkin_twice_is_two_loans_both_returned(any_hub, member):  # noqa: ANN001
    """A kiosk with a dead clock battery sends one transaction date on every message:
    checkout -> checkin -> checkout -> checkin of one item by one patron is two loans,
    both returned (the second checkout is not answered with the first one's reply)."""
    item = "$111001EM0000000001"
    with BackgroundServer(HubBackend(any_hub)) as srv, connect(srv) as c:
        assert ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|", 0)).fixed["ok"] == "1"
        for _ in range(2):  # the sequence number stays 0 too (trap 3)
            out = checkout(c, member, item, 0)
            assert out.fixed["ok"] == "1" and out.fixed["renewal_ok"] == "N"
            assert out.get("AH") == "20260318    235959"
            back = checkin(c, item, 0)
            assert back.fixed["ok"] == "1" and back.get("AA") == member
    with any_hub.db.read() as conn:
        rows = conn.execute(select(loans.c.state, loans.c.return_library)).all()
    assert sorted(rows) == [("returned", "111001"), ("returned", "111001")]
    assert len(any_hub.members.loans(SYSTEM, member, include_returned=True)) == 2


def test_genuine_resend_after_a_reconnect_is_applied_once(hub, server, member):  # noqa: ANN001
    """The kiosk lost each reply, reconnected and sent the same transaction again, as it
    was and renumbered: one loan, one return. A later checkout at the same kiosk time is
    a new loan again."""
    item = "$111001EM0000000002"

    def again(frame_for) -> list:  # noqa: ANN001
        replies = []
        for seq in (4, 4, 7):  # the same frame, then renumbered
            with connect(server) as c:
                assert ask(c, sip("9300CNkiosk-111001|COkiosk-pass-111001|")).fixed["ok"] == "1"
                replies.append(frame_for(c, seq))
        return replies

    outs = again(lambda c, seq: checkout(c, member, item, seq))
    assert [r.fixed["ok"] for r in outs] == ["1", "1", "1"]
    assert {r.get("AH") for r in outs} == {"20260318    235959"}
    assert active_loans(hub) == 1
    backs = again(lambda c, seq: checkin(c, item, seq))
    assert [r.fixed["ok"] for r in backs] == ["1", "1", "1"]
    with hub.db.read() as conn:
        assert conn.execute(select(loans.c.state)).all() == [("returned",)]
        returns = conn.scalar(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == "loan.checkin"))
    assert returns == 1
    outs = again(lambda c, seq: checkout(c, member, item, seq))  # a new loan, then resent
    assert [r.fixed["ok"] for r in outs] == ["1", "1", "1"]
    with hub.db.read() as conn:
        assert sorted(conn.execute(select(loans.c.state)).all()) == [("active",),
                                                                       ("returned",)]


def test_renew_all_checks_the_patron_password(clock, kiosk, member):  # noqa: ANN001
    checkout(kiosk, member, "$111001EM0000000001", 1)
    clock.advance(days=1)
    for seq, password in ((2, "nope"), (3, " ")):
        r = ask(kiosk, sip(f"65{NOW}AO111001|AA{member}|AD{password}|", seq))
        assert r.code == "66" and r.fixed["ok"] == "0"
        assert r.fixed["renewed_count"] == "0000" and "BM" not in r.fields
        assert r.all("AF") == ["인증 정보가 올바르지 않습니다."]
    r = ask(kiosk, sip(f"63000{NOW}          AO111001|AA{member}|ADnope|", 4))
    assert r.get("CQ") == "N"  # the same check as patron information
    r = ask(kiosk, sip(f"65{NOW}AO111001|AA{member}|ADmember-pass-1|", 5))
    assert r.fixed["ok"] == "1" and r.all("BM") == ["$111001EM0000000001"]


def test_unknown_items_have_unknown_magnetic_media(kiosk, member):  # noqa: ANN001
    unknown = "$111001EM0000009999"
    assert checkout(kiosk, member, unknown).fixed["magnetic_media"] == "U"
    assert checkin(kiosk, unknown).fixed["magnetic_media"] == "U"
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA{member}|AB{unknown}|", 3))
    assert r.code == "30" and r.fixed["ok"] == "0" and r.fixed["magnetic_media"] == "U"
    assert checkout(kiosk, member, "garbage!", 4).fixed["magnetic_media"] == "U"
    # a copy the hub knows is a book: N, refused or not
    assert checkout(kiosk, member, "$111001EM0000000012", 5).fixed["magnetic_media"] == "N"
    assert checkout(kiosk, member, "$111001EM0000000001", 6).fixed["magnetic_media"] == "N"
    r = ask(kiosk, sip(f"11YN{NOW}{BLANK}AO111002|AA{member}|AB{unknown}|", 7))  # refusal
    assert r.fixed["ok"] == "0" and r.fixed["magnetic_media"] == "U"


def test_renewal_for_an_invalid_patron_names_the_patron(kiosk, member):  # noqa: ANN001
    from chaekieum.domain.numbering import check_digit
    unknown = member[:8] + "99999"
    unknown += str(check_digit(unknown))
    checkout(kiosk, member, "$111001EM0000000001", 1)
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA{unknown}|AB$111001EM0000000001|", 2))
    assert r.code == "30" and r.fixed["ok"] == "0" and r.get("AJ")
    assert r.all("AF") == ["등록되지 않은 회원입니다."]  # not only "not on loan"
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA{unknown}|AB$111001EM0000000002|", 3))
    assert r.all("AF") == ["등록되지 않은 회원입니다.", "대출 중인 자료가 아닙니다."]
    r = ask(kiosk, sip(f"29NN{NOW}{BLANK}AO111001|AA12345|AB$111001EM0000000001|", 4))
    assert r.fixed["ok"] == "0" and r.all("AF") and "대출 중인" not in " ".join(r.all("AF"))


# --- 17/18, 35/36, 37/38, 01/24 --------------------------------------------------------------


def test_item_information(kiosk, member):  # noqa: ANN001
    r = ask(kiosk, sip(f"17{NOW}AO111001|AB$111001EM0000000001|"))
    assert r.code == "18" and r.fixed["circulation_status"] == "03" and r.get("AJ")
    checkout(kiosk, member, "$111001EM0000000001")
    r = ask(kiosk, sip(f"17{NOW}AO111001|AB$111001EM0000000001|", 3))
    assert r.fixed["circulation_status"] == "04" and r.get("AH") == "20260318    235959"
    r = ask(kiosk, sip(f"17{NOW}AO111001|AB$999999EM0000000001|"))  # trap 10
    assert r.code == "18" and r.fixed["circulation_status"] == "01" and r.get("AJ") == ""
    r = ask(kiosk, sip(f"17{NOW}AO111001|"))
    assert r.code == "18" and "AB" in r.fields


def test_end_session_and_fee_paid(kiosk, member):  # noqa: ANN001
    r = ask(kiosk, sip(f"35{NOW}AO111001|AA{member}|"))
    assert r.code == "36" and r.fixed["end_session"] == "Y" and r.get("AA") == member
    r = ask(kiosk, sip(f"37{NOW}0100KRWBV1,500|AO111001|AA{member}|BKtx-1|"))
    assert r.code == "38" and r.fixed["payment_accepted"] == "N" and r.get("BK") == "tx-1"
    assert any("대출정지" in m for m in r.all("AF"))


def test_block_patron_marks_card_lost_and_is_audited(hub, kiosk, member):  # noqa: ANN001
    r = ask(kiosk, sip(f"01Y{NOW}AO111001|ALcard retained at kiosk|AA{member}|AC|"))
    assert r.code == "24" and r.fixed["patron_status"][4] == "Y"
    assert "분실 신고된 이용증입니다." in r.all("AF")
    assert hub.members.get(SYSTEM, member)["card_lost"] is True
    with hub.db.read() as conn:
        actions = {(a.action, a.actor) for a in conn.execute(select(audit_log))}
    assert ("member.card_lost", "sip2:kiosk-111001") in actions
    assert ("sip2.block_patron", "sip2:kiosk-111001") in actions
    r = checkout(kiosk, member, "$111001EM0000000001", 2)
    assert r.fixed["ok"] == "0" and "분실 신고된 이용증입니다." in r.all("AF")


# --- text: terminators, encodings, field sanitising ---------------------------------------------


@pytest.mark.parametrize("terminator", [b"\r", b"\r\n", b"\n", b"\r\n\r\n", b"\n\n\r"])
def test_any_terminator_and_blank_lines(kiosk, terminator):  # noqa: ANN001 - trap 1
    kiosk.send_raw(b"\r\n\n" + sip("9900302.00", 1)[:-1] + terminator)
    assert kiosk.read_line().startswith(b"98")


@pytest.mark.parametrize("encoding", ["euc-kr", "cp949", "cp850", "utf-8"])
def test_terminal_encodings(hub, server, encoding):  # noqa: ANN001 - trap 12
    login = f"kiosk-{encoding}"
    hub.credentials.create_terminal(SYSTEM, "111001", login, "pw", encoding=encoding,
                                    terminator="CRLF")
    name = "Müller" if encoding == "cp850" else "김하늘"
    number = hub.members.get(SYSTEM, demo.info(hub)["members"][0]["number"])["number"]
    if encoding == "cp850":
        hub.members.update(SYSTEM, number, {"name": name})
    with connect(server, encoding=encoding) as c:
        c.send_raw(sip(f"9300CN{login}|COpw|"))
        c._buf = b""
        raw = c.sock.recv(100)
        assert raw.endswith(b"\r\n") and raw.startswith(b"941")
        c.send_raw(sip(f"23000{NOW}AA{number}|", 1, encoding))
        line = c.read_line()
        assert verify_checksum(line)  # over the encoded bytes
        r = decode_response(line, encoding)
        assert r.get("AE") == name
        assert name.encode(encoding) in line


def test_long_fields_are_truncated_and_pipes_never_leak(hub, kiosk, member):  # noqa: ANN001 - trap 11
    from chaekieum.store.tables import copies
    with hub.db.write() as conn:
        conn.execute(copies.update().where(copies.c.reg_no == "EM0000000001",
                                           copies.c.library_code == "111001")
                     .values(title="A|B\r\nC" + "가" * 290))
    r = checkout(kiosk, member, "$111001EM0000000001")
    title = r.get("AJ")
    assert len(title) == 255 and title.startswith("A/B C가")
    r = ask(kiosk, sip(f"17{NOW}AB{'X' * 300}|", 2))  # a 300-character barcode
    assert r.code == "18" and len(r.get("AB")) == 255


def test_frames_over_4kb(kiosk, member):  # noqa: ANN001 - trap 2
    frame = sip(f"63000{NOW}  Y       AO111001|AA{member}|{'ZZ' + 'x' * 5000}|")
    assert len(frame) > 4096
    r = ask(kiosk, frame)
    assert r.code == "64"


def test_split_and_merged_packets(kiosk, member):  # noqa: ANN001 - trap 2
    import time
    merged = sip("9900302.00", 1) + sip(f"23000{NOW}AA{member}|", 2) + sip("9900302.00", 3)
    kiosk.send_raw(merged)
    assert [kiosk.read_line()[:2] for _ in range(3)] == [b"98", b"24", b"98"]
    frame = sip(f"17{NOW}AB$111001EM0000000001|", 4)
    for i in range(0, len(frame), 3):
        kiosk.send_raw(frame[i:i + 3])
        time.sleep(0.002)
    assert kiosk.read_line().startswith(b"18")


def test_log_lines_mask_member_numbers(kiosk, member, caplog):  # noqa: ANN001
    import logging
    caplog.set_level(logging.DEBUG, logger="chaekieum.sip2")
    checkout(kiosk, member, "$111001EM0000000001")
    ask(kiosk, sip(f"23000{NOW}AA{member}|"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "checkout" in text and member[:8] + "****" in text
    assert member not in text and "김하늘" not in text


def test_a_revoked_kiosk_is_cut_off_in_its_open_session(hub, kiosk, member):  # noqa: ANN001
    assert checkout(kiosk, member, "$111001EM0000000001").fixed["ok"] == "1"
    hub.credentials.revoke_terminal(SYSTEM, "kiosk-111001")
    refused = checkout(kiosk, member, "$111001EM0000000002", seq=3)
    assert refused.fixed["ok"] == "0" and active_loans(hub) == 1
    # and it cannot log in again
    r = ask(kiosk, sip("9300CNkiosk-111001|COkiosk-pass-111001|CPentrance|", 4))
    assert r.code == "94" and r.fixed["ok"] == "0"
