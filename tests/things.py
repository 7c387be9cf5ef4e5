"""A small table of every column type the hot path uses, and two statements on it, for
the tests of store/prepared.py (SQLite in tests/unit, PostgreSQL in tests/integration)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import bindparam, insert, select

from chaekieum.store.prepared import Prepared

meta = sa.MetaData()
things = sa.Table("things", meta, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.String(20), unique=True), sa.Column("day", sa.Date),
                  sa.Column("at", sa.DateTime), sa.Column("ok", sa.Boolean),
                  sa.Column("data", sa.JSON))

INSERT = Prepared(insert(things).values(
    name=bindparam("n"), day=bindparam("d", type_=sa.Date), at=bindparam("a", type_=sa.DateTime),
    ok=bindparam("ok", type_=sa.Boolean), data=bindparam("j", type_=sa.JSON),
).returning(things.c.id))
BY_NAME = Prepared(select(things.c.id, things.c.day, things.c.at, things.c.ok, things.c.data)
                   .where(things.c.name == bindparam("n"), things.c.id > 0))


def row(name: str) -> dict:
    """INSERT's parameters: a thing of every type."""
    return {"n": name, "d": date(2026, 3, 4), "a": datetime(2026, 3, 4, 1, 2, 3), "ok": True,
            "j": {"k": [1, "둘"]}}
