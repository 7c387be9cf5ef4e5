"""Withdrawal erases the link between a member and their reading: loans, suspensions and
reservations may have no member (member_id NULL), so only anonymous rows (for the
statistics) remain once a member has withdrawn (services/erasure.py).

SQLite cannot drop a NOT NULL constraint in place: each table is rebuilt from its own
stored CREATE statement minus the constraint (the procedure of SQLite's ALTER TABLE
documentation), with its indexes recreated from their stored statements, so partial
indexes and foreign keys stay exactly as they were. Foreign-key checks are deferred to
the commit: loans is referenced by transits, reservations and circulation exceptions.

Revision ID: withdrawal_erasure_1
Revises: sandbox_1
Create Date: 2026-12-05
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "withdrawal_erasure_1"
down_revision = "sandbox_1"
branch_labels = None
depends_on = None

TABLES = ("loans", "suspensions", "reservations")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _sqlite_rebuild(table: str, nullable: bool) -> None:
    conn = op.get_bind()
    create = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    indexes = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        " AND sql IS NOT NULL", (table,)).scalars().all()
    column = re.compile(r"(\bmember_id\s+\w+)( NOT NULL)?")
    found = column.search(create)
    assert found is not None, f"{table}.member_id not found in {create!r}"
    changed = create[:found.start()] + found.group(1) + ("" if nullable else " NOT NULL") \
        + create[found.end():]
    name = re.compile(r'^CREATE TABLE\s+"?' + table + r'"?')
    assert name.match(changed), changed
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(name.sub(f"CREATE TABLE {table}_rebuilt", changed, count=1))
    op.execute(f"INSERT INTO {table}_rebuilt SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {table}_rebuilt RENAME TO {table}")
    for statement in indexes:
        op.execute(statement)


def upgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "sqlite":
            _sqlite_rebuild(table, nullable=True)
        else:
            op.alter_column(table, "member_id", existing_type=Id, nullable=True)


def downgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        erased = conn.exec_driver_sql(
            f"SELECT count(*) FROM {table} WHERE member_id IS NULL").scalar()
        if erased:
            raise RuntimeError(f"{erased} {table} rows belong to withdrawn members (erased); "
                               "they cannot be given a member again")
    for table in TABLES:
        if conn.dialect.name == "sqlite":
            _sqlite_rebuild(table, nullable=False)
        else:
            op.alter_column(table, "member_id", existing_type=Id, nullable=False)
