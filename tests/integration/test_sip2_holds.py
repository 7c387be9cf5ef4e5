"""SIP2 15 Hold -> 16 over a real socket: place, a resend applied once, refusals, the
set-aside return (10), holds in 63 and 17, a refused checkout (12), cancel."""

from __future__ import annotations

from sqlalchemy import func, select

from chaekieum.sip2.client import raw_frame as sip
from chaekieum.store.tables import events, reservations

from .test_sip2_messages import (  # noqa: F401  (fixtures)
    NOW,
    ask,
    checkin,
    checkout,
    connect,
    info,
    kiosk,
    member,
    server,
)

ITEM = "$111001EM0000000001"
LATER, LATER2 = "20260304    100500", "20260304    100600"  # later kiosk times


def hold(c, mode: str, patron: str, item: str, seq: int, extra: str = ""):  # noqa: ANN001, ANN201
    return ask(c, sip(f"15{mode}{NOW}AO111001|AA{patron}|AB{item}|{extra}", seq))


def count(hub, table, *where) -> int:  # noqa: ANN001
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def test_hold_place_resend_set_aside_and_cancel(hub, server, kiosk, info):  # noqa: ANN001, F811
    borrower, reserver = info["members"][0]["number"], info["members"][1]["number"]
    assert checkout(kiosk, borrower, ITEM).fixed["ok"] == "1"

    r = hold(kiosk, "+", reserver, ITEM, 3)
    assert r.code == "16" and r.fixed["ok"] == "1" and r.fixed["available"] == "N"
    assert r.get("BR") == "1" and r.get("BS") == "111001" and r.sequence == 3
    assert any("예약되었습니다" in m for m in r.all("AF"))
    # the kiosk reconnects and resends the hold with a new sequence number: applied once
    with connect(server) as again:
        ask(again, sip("9300CNkiosk-111001|COkiosk-pass-111001|"))
        r = hold(again, "+", reserver, ITEM, 7)
        assert r.fixed["ok"] == "1" and r.get("BR") == "1"
    assert count(hub, reservations) == 1
    assert count(hub, events, events.c.kind == "reservation.placed") == 1

    # refusals: a copy on the shelf, a wrong patron password, a change request
    r = hold(kiosk, "+", reserver, "$111001EM0000000002", 4)
    assert r.fixed["ok"] == "0" and any("대출 가능한 자료" in m for m in r.all("AF"))
    r = hold(kiosk, "+", info["members"][4]["number"], ITEM, 5, "ADwrong-password|")
    assert r.fixed["ok"] == "0" and any("인증" in m for m in r.all("AF"))
    r = hold(kiosk, "*", reserver, ITEM, 6)
    assert r.code == "16" and r.fixed["ok"] == "0"

    # the return sets it aside: the kiosk/sorter is told to put it on the holds shelf
    r = checkin(kiosk, ITEM, 7)
    assert r.fixed["ok"] == "1" and r.fixed["alert"] == "Y" and r.get("CV") == "02"
    assert any("예약 도서: 예약자 보관 서가로" in m for m in r.all("AF"))
    assert r.get("CY") and r.get("CY") != reserver  # masked
    r = ask(kiosk, sip(f"17{NOW}AO111001|AB{ITEM}|", 8))
    assert r.fixed["circulation_status"] == "08" and r.get("CF") == "1"
    r = ask(kiosk, sip(f"63000{NOW}Y         AO111001|AA{reserver}|", 9))
    assert r.fixed["hold_items_count"] == "0001" and r.all("AS") == [ITEM]
    assert r.get("BZ") == "0005"
    r = hold(kiosk, "+", reserver, ITEM, 0)  # asking again says it is ready
    assert r.fixed["available"] == "Y" and r.get("BW")

    # someone else cannot borrow it
    r = checkout(kiosk, borrower, ITEM, 1, when=LATER)
    assert r.fixed["ok"] == "0" and any("다른 회원이 예약한" in m for m in r.all("AF"))

    # cancel; again: nothing to cancel
    r = hold(kiosk, "-", reserver, ITEM, 2)
    assert r.fixed["ok"] == "1" and any("취소" in m for m in r.all("AF"))
    r = hold(kiosk, "-", reserver, ITEM, 3)
    assert r.fixed["ok"] == "0" and any("예약 내역을 찾을 수 없습니다" in m for m in r.all("AF"))
    assert checkout(kiosk, borrower, ITEM, 4, when=LATER2).fixed["ok"] == "1"
    assert count(hub, events, events.c.kind == "reservation.cancelled") == 1


def test_hold_with_missing_fields_and_unknown_patron(kiosk):  # noqa: ANN001, F811
    r = ask(kiosk, sip(f"15+{NOW}AO111001|AB{ITEM}|", 1))
    assert r.code == "16" and r.fixed["ok"] == "0"
    r = hold(kiosk, "+", "11100126999998", ITEM, 2)
    assert r.code == "16" and r.fixed["ok"] == "0" and r.all("AF")
