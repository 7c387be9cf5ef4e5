"""The hub's offline snapshot for library connectors (services/snapshot.py), on SQLite
and PostgreSQL: who is in a full pass and a delta, and with which loan counts."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.store import tables

LIB = "111001"


def connector(code: str) -> Actor:
    return Actor(Role.LIBRARY_SYSTEM, f"key:{code}", "api", code)


def full_pass(hub, actor: Actor, page: int = 1, own_only: bool = False) -> dict[str, dict]:  # noqa: ANN001
    """Every member of a full pass, paged as a connector pages it."""
    seen: dict[str, dict] = {}
    after = 0
    while True:
        out = hub.snapshot.page(actor, None, after, page, own_only)
        assert out["scope"] == ("own" if own_only else "all")
        seen.update((m["number"], m) for m in out["members"])
        if not out["has_more"]:
            return seen
        assert out["next_after"] > after
        after = out["next_after"]


def test_full_pass_and_delta(any_hub, clock) -> None:  # noqa: ANN001
    info = demo.info(any_hub)
    own = [m["number"] for m in info["members"] if m["home_library"] == LIB]
    other = [m["number"] for m in info["members"] if m["home_library"] != LIB]
    items = next(lib["loanable_items"] for lib in info["libraries"] if lib["code"] == LIB)
    actor = connector(LIB)
    any_hub.circulation.checkout(actor, CheckoutRequest(own[0], items[0]))
    any_hub.circulation.checkout(actor, CheckoutRequest(own[0], items[1]))
    blocked = other[0]
    home = next(m["home_library"] for m in info["members"] if m["number"] == blocked)
    any_hub.members.report_card_lost(connector(home), blocked)

    first = any_hub.snapshot.page(actor, None, 0, 1)
    assert first["library"]["code"] == LIB and first["full"] is True
    members = full_pass(any_hub, actor)
    # own members with their network-wide loan counts; a blocked member of another
    # library with its block and no loan counts; unblocked members of others absent
    with any_hub.db.read() as conn:
        joined = set(conn.scalars(select(tables.members.c.number).join(tables.memberships).where(
            tables.memberships.c.library_code == LIB)))
    assert set(own) <= joined
    assert {n for n, m in members.items() if m["own"]} == joined
    assert (members[own[0]]["own"], members[own[0]]["on_loan"], members[own[0]]["here"],
            members[own[0]]["overdue"]) == (True, 2, 2, 0)
    assert (members[blocked]["blocked"], members[blocked]["own"],
            members[blocked]["on_loan"]) == ("CARD_LOST", False, None)
    assert set(members) == joined | {blocked}
    assert all(m["on_loan"] == 0 for n, m in members.items() if n in joined - {own[0]})
    # a pass of own members only: the same own rows, no other library's blocked member
    assert full_pass(any_hub, actor, 2, own_only=True) == {
        n: m for n, m in members.items() if n in joined}

    # a delta carries only the members changed since: the card found again
    since = clock.now().replace(tzinfo=UTC)  # the hub's clock is UTC
    clock.advance(minutes=5)
    assert any_hub.snapshot.page(actor, since + timedelta(minutes=3), 0, 100)["members"] == []
    any_hub.members.lift_card_lost(SYSTEM, blocked)
    delta = any_hub.snapshot.page(actor, since + timedelta(minutes=3), 0, 100)
    assert delta["full"] is False
    assert [(m["number"], m["blocked"]) for m in delta["members"]] == [(blocked, None)]
