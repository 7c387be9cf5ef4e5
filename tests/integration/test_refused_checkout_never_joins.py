"""A refused loan never joins the member, on every channel (issue #8, item 2); and the
desk's dry run (`Circulation.check_checkout`) decides exactly as `checkout` does,
writing nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from chaekieum.domain.errors import DomainError
from chaekieum.server import create_app
from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.store import tables

from .apiclient import LibraryClient
from .kiosk import kiosk_at

HOME, OTHER = "111001", "111002"
ADMIN = Actor(Role.NATIONAL_ADMIN, "staff:admin", "desk")
NOW = "20260304    100000"


def librarian(code: str) -> Actor:
    return Actor(Role.LIBRARIAN, f"staff:lib-{code}", "desk", code)


def item(library: str, n: int) -> str:
    return f"${library}EM{n:010d}"


def counts(hub: Hub) -> dict[str, int]:
    """Rows of every table a checkout writes."""
    with hub.db.read() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in (
            tables.memberships, tables.loans, tables.audit_log, tables.events, tables.copies)}


def suspend(hub: Hub, number: str) -> None:
    with hub.db.write() as conn:
        conn.execute(update(tables.members).where(tables.members.c.number == number)
                     .values(suspended_until=date(2026, 3, 20)))


def fill_to_the_shared_limit(hub: Hub, number: str) -> None:
    hub.network.set_policy(ADMIN, "national", "", "", {"shared_loan_limit": 1})
    hub.circulation.checkout(librarian(HOME), CheckoutRequest(number, item(HOME, 1)))


CASES = {"suspended": ("이바다", suspend, "MEMBER_SUSPENDED"),
         "shared_limit": ("김하늘", fill_to_the_shared_limit, "SHARED_LIMIT_REACHED")}


@pytest.fixture(params=sorted(CASES))
def refused(request, any_hub: Hub) -> tuple[str, str]:  # noqa: ANN001
    """(member number, expected refusal code) of a member OTHER must refuse."""
    name, prepare, code = CASES[request.param]
    number = next(m["number"] for m in demo.info(any_hub)["members"] if m["name"] == name)
    prepare(any_hub, number)
    return number, code


def test_the_dry_run_refuses_like_checkout_and_writes_nothing(any_hub, refused) -> None:  # noqa: ANN001
    number, code = refused
    before = counts(any_hub)
    check = any_hub.circulation.check_checkout(librarian(OTHER),
                                               CheckoutRequest(number, item(OTHER, 2)))
    assert not check.decision.allowed and code in {str(r.code) for r in check.decision.reasons}
    assert counts(any_hub) == before
    with pytest.raises(DomainError) as refusal:
        any_hub.circulation.checkout(librarian(OTHER), CheckoutRequest(number, item(OTHER, 2)))
    assert [r.code for r in refusal.value.reasons] == [r.code for r in check.decision.reasons]
    assert counts(any_hub) == before  # the refused checkout joined nothing either


def test_the_dry_run_of_an_allowed_loan_says_it_would_join(any_hub) -> None:  # noqa: ANN001
    number = demo.info(any_hub)["members"][0]["number"]  # joined at HOME only
    before = counts(any_hub)
    check = any_hub.circulation.check_checkout(librarian(OTHER),
                                               CheckoutRequest(number, item(OTHER, 2)))
    assert check.decision.allowed and check.joins and check.action == "checkout"
    assert not any_hub.circulation.check_checkout(
        librarian(HOME), CheckoutRequest(number, item(HOME, 2))).joins
    assert counts(any_hub) == before
    out = any_hub.circulation.checkout(librarian(OTHER), CheckoutRequest(number, item(OTHER, 2)))
    assert out.extra["auto_joined"]
    # the member now holds it: scanning it again is a renewal, which joins nothing
    again = any_hub.circulation.check_checkout(librarian(OTHER),
                                               CheckoutRequest(number, item(OTHER, 2)))
    assert again.action == "renew" and not again.joins
    assert not again.decision.allowed  # never on the loan day
    # unknown members and bad barcodes refuse as checkout does
    with pytest.raises(DomainError):
        any_hub.circulation.check_checkout(librarian(OTHER), CheckoutRequest(number, "???"))


def test_rest_refused_checkout_never_joins(any_hub, refused) -> None:  # noqa: ANN001
    number, code = refused
    before = counts(any_hub)
    with TestClient(create_app(any_hub, with_web=False), raise_server_exceptions=False) as c:
        r = LibraryClient(c, OTHER).checkout(number, item(OTHER, 2))
    assert r.status_code in (409, 422), r.text
    assert code in {x["code"] for x in r.json()["reasons"]}
    assert counts(any_hub)["memberships"] == before["memberships"]
    assert counts(any_hub)["loans"] == before["loans"]


@pytest.fixture
def kiosk(hub: Hub) -> Iterator[Callable[[str], object]]:
    with kiosk_at(hub, OTHER) as send:
        yield send


@pytest.mark.parametrize("case", sorted(CASES))
def test_sip2_refused_checkout_never_joins(hub, kiosk, case) -> None:  # noqa: ANN001
    name, prepare, _ = CASES[case]
    number = next(m["number"] for m in demo.info(hub)["members"] if m["name"] == name)
    prepare(hub, number)
    before = counts(hub)
    reply = kiosk(f"11NN{NOW}{' ' * 18}AO{OTHER}|AA{number}|AB{item(OTHER, 2)}|AC|")
    assert reply.code == "12" and reply.fixed["ok"] == "0"
    assert counts(hub)["memberships"] == before["memberships"]
    assert counts(hub)["loans"] == before["loans"]
