"""Issue #8, items 3, 11 and 14, on SQLite and PostgreSQL:

- 3: a library lends a copy only where it is: its own, or one the hub records as being
  there; anything else is refused (COPY_NOT_HERE) by the one checkout decision, so the
  desk's dry run, REST and SIP2 all say so;
- 11: the shared loan limit (대출책수제한공유) is one national number: refused below the
  national policy, a stored lower-level value ignored, the 21st loan refused whatever
  the library sets;
- 14: an unknown member with an unknown copy gets every reason that can be known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from chaekieum.domain.errors import Code, DomainError, message
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.store import tables

from .apiclient import LibraryClient
from .kiosk import kiosk_at

SEOUL, JUNGNANG, BUSAN = "111001", "111002", "121001"
ADMIN = Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk")
UNKNOWN_MEMBER = "99999926000010"  # well-formed, never issued
NOW = "20260304    100000"


def librarian(code: str) -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


def item(library: str, n: int) -> str:
    return f"${library}EM{n:010d}"


def codes(reasons) -> list[str]:  # noqa: ANN001
    return [str(r.code) if hasattr(r, "code") else r["code"] for r in reasons]


@pytest.fixture
def number(any_hub: Hub) -> str:
    return demo.info(any_hub)["members"][0]["number"]  # 김하늘, issued at 111001


def loans(hub: Hub) -> int:
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(tables.loans))


# -- item 3: COPY_NOT_HERE ----------------------------------------------------------------
@pytest.mark.parametrize("lender", [JUNGNANG, BUSAN])  # same region, another region
def test_another_librarys_copy_is_refused_by_checkout_and_the_dry_run(any_hub, number,
                                                                      lender) -> None:  # noqa: ANN001
    request = CheckoutRequest(number, item(SEOUL, 1))
    check = any_hub.circulation.check_checkout(librarian(lender), request)
    assert codes(check.decision.reasons) == ["COPY_NOT_HERE"]
    assert check.decision.reasons[0].details == {"owner": SEOUL}
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(librarian(lender), request)
    assert codes(refused.value.reasons) == codes(check.decision.reasons)
    assert loans(any_hub) == 0
    # the owner lends it
    any_hub.circulation.checkout(librarian(SEOUL), request)
    assert loans(any_hub) == 1


def test_a_copy_received_here_is_here_but_in_transit_home(any_hub, number) -> None:  # noqa: ANN001
    """A 타관반납 places the copy at the receiving library (it is not COPY_NOT_HERE
    there) but it travels home first; a third library is told both."""
    any_hub.circulation.checkout(librarian(SEOUL), CheckoutRequest(number, item(SEOUL, 1)))
    any_hub.circulation.checkin(librarian(JUNGNANG), CheckinRequest(item(SEOUL, 1)))
    other = demo.info(any_hub)["members"][1]["number"]
    at_receiver = any_hub.circulation.check_checkout(librarian(JUNGNANG),
                                                     CheckoutRequest(other, item(SEOUL, 1)))
    assert codes(at_receiver.decision.reasons) == ["COPY_IN_TRANSIT"]
    elsewhere = any_hub.circulation.check_checkout(librarian("111003"),
                                                   CheckoutRequest(other, item(SEOUL, 1)))
    assert codes(elsewhere.decision.reasons) == ["COPY_NOT_HERE", "COPY_IN_TRANSIT"]
    # the owner lends it when it is back (a checkout scan there ends the transit)
    out = any_hub.circulation.checkout(librarian(SEOUL), CheckoutRequest(other, item(SEOUL, 1)))
    assert out.loan["library_code"] == SEOUL


def test_an_offline_replay_of_another_librarys_copy_is_kept_and_flagged(any_hub, number) -> None:  # noqa: ANN001
    """A connector's offline loan is a fact: recorded, with COPY_NOT_HERE for follow-up."""
    out = any_hub.circulation.checkout(librarian(JUNGNANG), CheckoutRequest(
        number, item(SEOUL, 3), offline=True, client_txn_id="offline-1"))
    assert codes(out.exceptions) == ["COPY_NOT_HERE"]
    assert loans(any_hub) == 1


def test_rest_checkout_of_another_librarys_copy_is_refused(any_hub, number) -> None:  # noqa: ANN001
    with TestClient(create_app(any_hub, with_web=False), raise_server_exceptions=False) as c:
        r = LibraryClient(c, BUSAN).checkout(number, item(SEOUL, 1))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "COPY_NOT_HERE" and body["message"] == message(Code.COPY_NOT_HERE)
    assert body["details"] == {"owner": SEOUL}
    assert loans(any_hub) == 0


@pytest.fixture
def kiosk(hub: Hub) -> Iterator[Callable[[str], object]]:
    with kiosk_at(hub, JUNGNANG) as send:
        yield send


def test_sip2_checkout_of_another_librarys_copy_says_why(hub, kiosk) -> None:  # noqa: ANN001
    number = demo.info(hub)["members"][0]["number"]
    reply = kiosk(f"11NN{NOW}{' ' * 18}AO{JUNGNANG}|AA{number}|AB{item(SEOUL, 1)}|AC|")
    assert reply.code == "12" and reply.fixed["ok"] == "0"
    assert f"{message(Code.COPY_NOT_HERE)} (소장 도서관 {SEOUL})" in reply.all("AF")
    assert loans(hub) == 0


# -- item 14: every reason that can be known ------------------------------------------------
def test_unknown_member_and_unknown_copy_give_both_reasons(any_hub) -> None:  # noqa: ANN001
    request = CheckoutRequest(UNKNOWN_MEMBER, item(SEOUL, 99))
    check = any_hub.circulation.check_checkout(librarian(SEOUL), request)
    assert codes(check.decision.reasons) == ["MEMBER_UNKNOWN", "COPY_UNKNOWN"]
    assert not check.joins
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(librarian(SEOUL), request)
    assert codes(refused.value.reasons) == ["MEMBER_UNKNOWN", "COPY_UNKNOWN"]
    # and with a copy that is known: its own reasons (on loan, not here) too
    number = demo.info(any_hub)["members"][0]["number"]
    any_hub.circulation.checkout(librarian(SEOUL), CheckoutRequest(number, item(SEOUL, 1)))
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(librarian(BUSAN),
                                     CheckoutRequest(UNKNOWN_MEMBER, item(SEOUL, 1)))
    assert codes(refused.value.reasons) == ["MEMBER_UNKNOWN", "COPY_NOT_HERE", "COPY_ON_LOAN"]
    # an unknown member is never accepted, not even as an offline replay
    with pytest.raises(DomainError) as refused:
        any_hub.circulation.checkout(librarian(SEOUL), CheckoutRequest(
            UNKNOWN_MEMBER, item(SEOUL, 2), offline=True, client_txn_id="offline-2"))
    assert codes(refused.value.reasons) == ["MEMBER_UNKNOWN"]
    assert loans(any_hub) == 1


def test_rest_unknown_member_and_unknown_copy_give_both_reasons(any_hub) -> None:  # noqa: ANN001
    with TestClient(create_app(any_hub, with_web=False), raise_server_exceptions=False) as c:
        r = LibraryClient(c, SEOUL).checkout(UNKNOWN_MEMBER, item(SEOUL, 99))
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "MEMBER_UNKNOWN"
    assert [x["code"] for x in r.json()["reasons"]] == ["MEMBER_UNKNOWN", "COPY_UNKNOWN"]


# -- item 11: the shared limit is national only ---------------------------------------------
def test_the_21st_network_wide_loan_is_refused_whatever_the_library_sets(any_hub,
                                                                        number) -> None:  # noqa: ANN001
    # the API refuses the shared limit below the national policy...
    for level, scope, member_class in (("library", SEOUL, ""), ("library", SEOUL, "정회원"),
                                       ("region", "seoul", ""), ("national", "", "정회원")):
        with pytest.raises(DomainError) as refused:
            any_hub.network.set_policy(ADMIN, level, scope, member_class,
                                       {"shared_loan_limit": 30, "library_loan_limit": 30})
        assert refused.value.code == Code.POLICY_NATIONAL_ONLY
    # ...and a value stored before the rule existed is ignored
    with any_hub.db.write() as conn:
        for scope in (SEOUL, JUNGNANG, "111003"):
            conn.execute(insert(tables.policies).values(
                level="library", scope=scope, member_class="",
                settings={"shared_loan_limit": 30, "library_loan_limit": 30},
                updated_at=any_hub.clock.now()))
    any_hub.registry.invalidate()
    assert any_hub.registry.policy(SEOUL).shared_loan_limit == 20
    assert any_hub.registry.policy(SEOUL).library_loan_limit == 30  # its own limit holds
    lent = 0
    for lib in (SEOUL, JUNGNANG, "111003"):
        for n in range(1, 9):
            if n % 12 and lent < 20:
                any_hub.circulation.checkout(librarian(lib), CheckoutRequest(number, item(lib, n)))
                lent += 1
    assert lent == 20
    for lib in (SEOUL, "111003"):
        request = CheckoutRequest(number, item(lib, 10))
        check = any_hub.circulation.check_checkout(librarian(lib), request)
        assert codes(check.decision.reasons) == ["SHARED_LIMIT_REACHED"]
        assert check.decision.reasons[0].details == {"limit": 20, "on_loan": 20}
        with pytest.raises(DomainError) as refused:
            any_hub.circulation.checkout(librarian(lib), request)
        assert codes(refused.value.reasons) == ["SHARED_LIMIT_REACHED"]
    # only the national policy moves the shared limit
    any_hub.network.set_policy(ADMIN, "national", "", "", {"shared_loan_limit": 21})
    any_hub.circulation.checkout(librarian(SEOUL), CheckoutRequest(number, item(SEOUL, 10)))


def test_rest_policy_endpoints_refuse_the_shared_limit_below_national(any_hub) -> None:  # noqa: ANN001
    from chaekieum.services.context import SYSTEM

    key = any_hub.credentials.create_api_key(SYSTEM, "national", "", "test admin")["api_key"]
    with TestClient(create_app(any_hub, with_web=False), raise_server_exceptions=False) as c:
        lib = LibraryClient(c, SEOUL)
        lib.headers = {"Authorization": f"Bearer {key}"}
        r = c.put("/api/v1/policies/library", params={"scope": SEOUL},
                  json={"settings": {"shared_loan_limit": 30}}, headers=lib.headers)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "POLICY_NATIONAL_ONLY"
        assert r.json()["details"]["key"] == "shared_loan_limit"
        r = c.put("/api/v1/policies/library", params={"scope": SEOUL},
                  json={"settings": {"library_loan_limit": 10}}, headers=lib.headers)
        assert r.status_code == 200, r.text
        effective = c.get(f"/api/v1/libraries/{SEOUL}/policy", headers=lib.headers).json()
        assert (effective["shared_loan_limit"], effective["library_loan_limit"]) == (20, 10)
