"""Sandbox marks on members and copies, for the conformance kit's test fixtures.

A library running the conformance kit (docs/conformance.md) gets test members and
copies marked `sandbox_of` = its 도서관부호: they lend only to each other, never count
in the daily statistics, and are deleted with everything that hangs off them when the
run ends. NULL = real data.

Revision ID: sandbox_1
Revises: suspension_fold_1
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "sandbox_1"
down_revision = "suspension_fold_1"
branch_labels = None
depends_on = None

TABLES = ("members", "copies")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("sandbox_of", sa.String(6), nullable=True))
        op.create_index(f"ix_{table}_sandbox_of", table, ["sandbox_of"],
                        sqlite_where=sa.text("sandbox_of IS NOT NULL"),
                        postgresql_where=sa.text("sandbox_of IS NOT NULL"))


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_sandbox_of", table_name=table)
        op.drop_column(table, "sandbox_of")  # SQLite 3.35+ drops a column in place
