"""`--read-database-url`: read-only pages (dashboards, statistics, the audit viewer) read
the standby; everything a user must see right after their own write reads the primary.

Two SQLite files stand in for a primary and a standby that has not caught up yet: the
standby is a copy taken before a checkout on the primary."""

from __future__ import annotations

import shutil
from pathlib import Path

from chaekieum.services import demo
from chaekieum.services.circulation import CheckoutRequest
from chaekieum.services.context import SYSTEM, Actor, Role
from chaekieum.services.hub import Hub
from chaekieum.services.statistics import Statistics

from ..conftest import SECRET

LIB = "111001"


def test_read_only_pages_read_the_standby(hub: Hub, clock, tmp_path: Path) -> None:  # noqa: ANN001
    primary = hub.db.url.removeprefix("sqlite:///")
    hub.db.engine.dispose()
    standby = tmp_path / "standby.db"
    shutil.copy(primary, standby)
    both = Hub(hub.db.url, secret=SECRET, clock=clock, read_database_url=f"sqlite:///{standby}")
    try:
        info = demo.info(both)
        lib = next(x for x in info["libraries"] if x["code"] == LIB)
        member = next(m["number"] for m in info["members"] if m["home_library"] == LIB)
        desk = Actor(Role.LIBRARIAN, f"staff:lib-{LIB}", "desk", LIB)
        loan = both.circulation.checkout(desk, CheckoutRequest(member, lib["loanable_items"][0]))
        today = clock.today()

        # what the librarian just did is there at once (the primary) ...
        loans = both.members.loans(desk, member)
        assert [x["id"] for x in loans] == [loan.loan["id"]]
        # ... the dashboard and the audit viewer show the standby, which has not caught up
        assert Statistics(both.db, clock).dashboard(today, today)["totals"]["loans"] == 0
        assert not [a for a in both.audit.search(SYSTEM) if a["action"] == "loan.checkout"]
        # without a read URL they read the primary
        assert Statistics(hub.db, clock).dashboard(today, today)["totals"]["loans"] == 1
        assert [a for a in hub.audit.search(SYSTEM) if a["action"] == "loan.checkout"]
    finally:
        both.close()
