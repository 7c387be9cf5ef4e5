"""A checkin racing a reservation of the same copy, on PostgreSQL (issue #13).

A checkin locks member, loan and copy in one statement and learns whether anyone waits
for the copy from its write statement, which starts after the locks are granted (under
READ COMMITTED a statement sees what committed before it started). A reservation placed
while the checkin waits for the copy's row must therefore be seen and the copy set aside
for it; one placed after the return sees the copy on the shelf and is refused. Never a
waiting reservation on a copy that sits on the shelf."""

from __future__ import annotations

import threading
import time

import pytest

from chaekieum.domain.errors import DomainError
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import Actor, Role

from ..conftest import make_hub

pytestmark = pytest.mark.postgres

ITEM = "$111001EM0000000001"
DESK = Actor(Role.LIBRARIAN, "staff:lib-111001", "desk", "111001")


@pytest.fixture
def pg_hub(pg_url):  # noqa: ANN001, ANN201
    hub = make_hub(pg_url)
    yield hub
    hub.close()


def _in_thread(work) -> tuple[threading.Thread, dict]:  # noqa: ANN001
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = work()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_a_reservation_placed_while_the_checkin_waits_is_set_aside(pg_hub) -> None:  # noqa: ANN001
    borrower, reserver = (m["number"] for m in demo.info(pg_hub)["members"][:2])
    pg_hub.circulation.checkout(DESK, CheckoutRequest(borrower, ITEM))
    with pg_hub.db.write() as conn:  # the placement holds the copy's row lock ...
        placed = pg_hub.reservations.place(DESK, reserver, ITEM, conn=conn)
        checkin, out = _in_thread(lambda: pg_hub.circulation.checkin(DESK, CheckinRequest(ITEM)))
        time.sleep(0.5)
        assert checkin.is_alive()  # ... so the checkin waits for it
    checkin.join(30)
    assert "error" not in out, out
    held = out["value"].extra["reservation"]
    assert held is not None and held["id"] == placed["id"]
    assert (held["state"], held["member_number"]) == ("ready", reserver)


def test_a_reservation_placed_while_the_checkin_holds_the_copy_sees_it_returned(
        pg_hub) -> None:  # noqa: ANN001
    borrower, reserver = (m["number"] for m in demo.info(pg_hub)["members"][:2])
    pg_hub.circulation.checkout(DESK, CheckoutRequest(borrower, ITEM))
    with pg_hub.db.write() as conn:  # the checkin holds member, loan and copy ...
        back = pg_hub.circulation.checkin(DESK, CheckinRequest(ITEM), conn=conn)
        place, out = _in_thread(lambda: pg_hub.reservations.place(DESK, reserver, ITEM))
        time.sleep(0.5)
        assert place.is_alive()  # ... so the placement waits for it
    place.join(30)
    assert back.extra["reservation"] is None
    assert isinstance(out.get("error"), DomainError), out
    assert [str(r.code) for r in out["error"].reasons] == ["RESERVATION_COPY_AVAILABLE"]
