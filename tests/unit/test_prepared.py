"""store/prepared.py: a statement compiled once runs like `Connection.execute` would: the
same rows (typed by the result processors), driver errors wrapped as SQLAlchemy's, the
before_cursor_execute event fired; statements whose SQL depends on parameters refused."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import bindparam, event, insert, select

from chaekieum.store.prepared import Prepared

meta = sa.MetaData()
things = sa.Table("things", meta, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.String(20), unique=True), sa.Column("day", sa.Date),
                  sa.Column("at", sa.DateTime), sa.Column("ok", sa.Boolean),
                  sa.Column("data", sa.JSON))

_INSERT = Prepared(insert(things).values(
    name=bindparam("n"), day=bindparam("d", type_=sa.Date), at=bindparam("a", type_=sa.DateTime),
    ok=bindparam("ok", type_=sa.Boolean), data=bindparam("j", type_=sa.JSON),
).returning(things.c.id))
_BY_NAME = Prepared(select(things.c.id, things.c.day, things.c.at, things.c.ok, things.c.data)
                    .where(things.c.name == bindparam("n"), things.c.id > 0))


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
    row = {"n": "a", "d": date(2026, 3, 4), "a": datetime(2026, 3, 4, 1, 2, 3), "ok": True,
           "j": {"k": [1, "둘"]}}
    new_id = _INSERT.scalar(conn, row)
    _INSERT.many(conn, [{**row, "n": "b"}, {**row, "n": "c"}])
    got = _BY_NAME.first(conn, {"n": "a"})
    assert (got.id, got.day, got.at, got.ok, got.data) == (
        new_id, date(2026, 3, 4), datetime(2026, 3, 4, 1, 2, 3), True, {"k": [1, "둘"]})
    assert got == tuple(conn.execute(_BY_NAME.statement, {"n": "a"}).one())
    assert _BY_NAME.first(conn, {"n": "nobody"}) is None
    assert len(seen) == 5 and seen[0].startswith("INSERT INTO things")  # 4 + the check


def test_driver_errors_are_sqlalchemys(conn) -> None:  # noqa: ANN001
    row = {"n": "a", "d": None, "a": None, "ok": None, "j": None}
    _INSERT.scalar(conn, row)
    with pytest.raises(sa.exc.IntegrityError):
        _INSERT.scalar(conn, row)


def test_sql_that_depends_on_parameters_is_refused(conn) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="must not depend"):
        Prepared(select(things.c.id).where(things.c.name.in_(["a", "b"]))).rows(conn, {})
