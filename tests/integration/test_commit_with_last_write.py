"""A checkout or checkin that opened its own transaction commits it with its last write
(one round trip on PostgreSQL); one run inside a caller's transaction never does: the
caller's later failure takes the loan or the return back with everything else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from chaekieum.services import demo
from chaekieum.services.circulation import CheckinRequest, CheckoutRequest
from chaekieum.services.context import Actor, Role
from chaekieum.services.tx import owns, transactional
from chaekieum.store.tables import loans


def _setting(hub):  # noqa: ANN001, ANN202
    info = demo.info(hub)
    lib = info["libraries"][0]
    return (Actor(Role.LIBRARY_SYSTEM, f"key:test{lib['code']}", "api", lib["code"]),
            info["members"][0]["number"], lib["loanable_items"][0])


def _active(hub) -> int:  # noqa: ANN001
    with hub.db.read() as conn:
        return conn.scalar(select(func.count()).select_from(loans).where(
            loans.c.state == "active"))


class _Failed(Exception):
    pass


def test_in_a_callers_transaction_the_write_waits_for_the_callers_commit(any_hub) -> None:  # noqa: ANN001
    actor, member, item = _setting(any_hub)
    before = _active(any_hub)
    with pytest.raises(_Failed), any_hub.db.write() as conn:
        any_hub.circulation.checkout(actor, CheckoutRequest(member, item), conn=conn)
        raise _Failed  # e.g. the idempotency record could not be written
    assert _active(any_hub) == before
    any_hub.circulation.checkout(actor, CheckoutRequest(member, item))  # its own: commits
    assert _active(any_hub) == before + 1
    with pytest.raises(_Failed), any_hub.db.write() as conn:
        any_hub.circulation.checkin(actor, CheckinRequest(item), conn=conn)
        raise _Failed
    assert _active(any_hub) == before + 1
    any_hub.circulation.checkin(actor, CheckinRequest(item))
    assert _active(any_hub) == before


def test_a_use_case_owns_only_the_transaction_it_opened(any_hub) -> None:  # noqa: ANN001
    seen: list[tuple[str, bool]] = []

    class UseCase:
        db = any_hub.db

        @transactional
        def outer(self, conn) -> None:  # noqa: ANN001
            seen.append(("outer", owns(conn)))
            self.inner(conn=conn)
            seen.append(("outer after inner", owns(conn)))

        @transactional
        def inner(self, conn) -> None:  # noqa: ANN001
            seen.append(("inner", owns(conn)))

    UseCase().outer()
    UseCase().inner()
    assert seen == [("outer", True), ("inner", False), ("outer after inner", True),
                    ("inner", True)]
