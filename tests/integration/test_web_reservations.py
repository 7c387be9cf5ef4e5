"""예약 in the web UI (in-process): the desk's reserve action, the set-aside return
message, the holds shelf, and the member portal's lookup, reserve and cancel."""

from __future__ import annotations

import html

from chaekieum.services.circulation import CheckoutRequest

from .test_web_security import app, new_web, people  # noqa: F401  (fixtures)
from .test_web_security import librarian as desk_actor

ITEM = "$111001EM0000000001"


def page(web, path: str) -> str:  # noqa: ANN001
    return html.unescape(web.c.get(path).text)


def test_desk_reserves_and_says_where_a_returned_copy_goes(hub, new_web, people):  # noqa: ANN001, F811
    borrower, reserver = people["김하늘"]["number"], people["이바다"]["number"]
    hub.circulation.checkout(desk_actor("111001"), CheckoutRequest(borrower, ITEM))
    web = new_web().staff("lib-111001")
    assert web.post("/desk/scan", {"scan": reserver}, "/desk").status_code == 303
    assert web.post("/desk/reserve", {"item": ITEM}, "/desk").status_code == 303
    text = page(web, "/desk")
    assert "예약되었습니다" in text and 'id="member-reservations"' in text
    # a copy on the shelf cannot be reserved: the reason is shown
    web.post("/desk/reserve", {"item": "$111001EM0000000002"}, "/desk")
    assert "대출 가능한 자료는 예약할 수 없습니다" in page(web, "/desk")

    web.post("/desk/close", {}, "/desk")
    web.post("/desk/scan", {"scan": ITEM}, "/desk")  # no member open: a return
    text = page(web, "/desk")
    assert "반납되었습니다" in text and "예약 도서: 예약자 보관 서가로" in text

    shelf = page(web, "/desk/holds")
    assert 'id="holds-ready"' in shelf and ITEM in shelf
    assert reserver not in shelf  # masked
    rid = hub.reservations.for_library(desk_actor("111001"), state="ready")[0]["id"]
    r = web.post("/desk/reservations/cancel", {"reservation_id": str(rid), "back": "holds"},
                 "/desk/holds")
    assert r.status_code == 303 and r.headers["location"] == "/desk/holds"
    text = page(web, "/desk/holds")
    assert "예약을 취소했습니다" in text and "서가로 돌려놓으세요" in text
    # another library's librarian cannot cancel it (nor see it)
    other = new_web().staff("lib-111002")
    other.post("/desk/reservations/cancel", {"reservation_id": str(rid)}, "/desk")
    assert "예약 내역을 찾을 수 없습니다" in page(other, "/desk")


def test_portal_lookup_reserve_and_cancel(hub, new_web, people):  # noqa: ANN001, F811
    borrower, reserver = people["김하늘"]["number"], people["이바다"]["number"]
    hub.circulation.checkout(desk_actor("111001"), CheckoutRequest(borrower, ITEM))
    web = new_web().member(reserver, "member-pass-2")
    text = page(web, "/my?library=111001&item=EM0000000001")
    assert 'id="reserve-button"' in text and "대출 중" in text
    r = web.post("/my/reserve", {"item": ITEM, "library": "111001"}, "/my")
    assert r.status_code == 303
    text = page(web, "/my")
    assert "예약되었습니다" in text and 'id="portal-reservations"' in text
    assert "대기 순번: 1" in text
    # a library the member never joined: no lookup, no reservation
    assert "이 도서관에 가입한 회원만" in page(web, "/my?library=121001&item=EM0000000001")
    web.post("/my/reserve", {"item": "$121001EM0000000001", "library": "121001"}, "/my")
    assert "예약할 수 없습니다" in page(web, "/my")
    # cancel: only one's own
    rid = hub.reservations.for_member(desk_actor("111001"), reserver)[0]["id"]
    intruder = new_web().member(borrower, "member-pass-1")
    intruder.post("/my/reservations/cancel", {"reservation_id": str(rid)}, "/my")
    assert hub.reservations.get(desk_actor("111001"), rid)["state"] == "waiting"
    web.post("/my/reservations/cancel", {"reservation_id": str(rid)}, "/my")
    text = page(web, "/my")
    assert "예약을 취소했습니다" in text and 'id="portal-reservations"' not in text
