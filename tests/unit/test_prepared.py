"""store/prepared.py: a statement compiled once runs like `Connection.execute` would: the
same rows (typed by the result processors), driver errors wrapped as SQLAlchemy's, the
before_cursor_execute event fired; statements whose SQL depends on parameters refused."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, event, select

from chaekieum.store.prepared import Prepared

from ..things import BY_NAME, INSERT, meta, row, things


@pytest.fixture
def conn():  # noqa: ANN201
    engine = sa.create_engine("sqlite://")
    meta.create_all(engine)
    with engine.connect() as c, c.begin():
        yield c


def test_rows_round_trip_with_types_and_events(conn) -> None:  # noqa: ANN001
    seen: list[str] = []
    event.listen(conn.engine, "before_cursor_execute",
                 lambda c, cur, statement, *rest: seen.append(statement))
    new_id = INSERT.scalar(conn, row("a"))
    INSERT.many(conn, [row("b"), row("c")])
    got = BY_NAME.first(conn, {"n": "a"})
    assert (got.id, got.day, got.at, got.ok, got.data) == (
        new_id, date(2026, 3, 4), datetime(2026, 3, 4, 1, 2, 3), True, {"k": [1, "둘"]})
    assert got == tuple(conn.execute(BY_NAME.statement, {"n": "a"}).one())
    assert BY_NAME.first(conn, {"n": "nobody"}) is None
    assert len(seen) == 5 and seen[0].startswith("INSERT INTO things")  # 4 + the check


def test_driver_errors_are_sqlalchemys(conn) -> None:  # noqa: ANN001
    empty = {"n": "a", "d": None, "a": None, "ok": None, "j": None}
    INSERT.scalar(conn, empty)
    with pytest.raises(sa.exc.IntegrityError):
        INSERT.scalar(conn, empty)


def test_sql_that_depends_on_parameters_is_refused(conn) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="must not depend"):
        Prepared(select(things.c.id).where(
            things.c.name.in_(bindparam("names", expanding=True)))).rows(conn, {"names": ["a"]})


def test_constants_are_written_into_the_sql(conn) -> None:  # noqa: ANN001
    """The statement's own literals (a state, LIMIT 1, an UPDATE's fixed value) are in
    its SQL, not parameters: a bound constant compared with a column of a partial index
    made SQLite plan the statement again on every execution. The caller's parameters stay
    parameters, and a constant with a percent sign stays one too (driver escaping)."""
    INSERT.scalar(conn, row("a"))
    INSERT.scalar(conn, row("50%"))
    query = Prepared(select(things.c.id).where(things.c.name == bindparam("n"),
                                               things.c.ok == sa.true(),
                                               things.c.day >= date(2026, 1, 1))
                     .order_by(things.c.id).limit(1))
    compiled = query._compiled(conn.dialect)  # noqa: SLF001
    assert "LIMIT 1" in compiled.sql and "'2026-01-01'" in compiled.sql
    # the caller's parameter; SQLite's compiler adds OFFSET 0 as a parameter of its own
    assert [name for name in compiled.order if name not in compiled.constants] == ["n"]
    assert query.scalar(conn, {"n": "a"}) == 1
    rename = Prepared(sa.update(things).where(things.c.name == bindparam("n"))
                      .values(name="renamed"))
    assert "'renamed'" in rename._compiled(conn.dialect).sql  # noqa: SLF001
    rename.rows(conn, {"n": "a"})
    percent = Prepared(select(things.c.id).where(things.c.name == "50%"))
    assert "50%" not in percent._compiled(conn.dialect).sql  # noqa: SLF001
    assert percent.scalar(conn, {}) == 2
    assert conn.scalar(select(things.c.name).where(things.c.id == 1)) == "renamed"
    listed = Prepared(select(things.c.id).where(things.c.name.in_(["renamed", "x"])))
    assert "IN ('renamed', 'x')" in listed._compiled(conn.dialect).sql  # noqa: SLF001
    assert listed.scalar(conn, {}) == 1
