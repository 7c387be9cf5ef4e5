"""Sandbox flag on members and copies, for the conformance kit's test fixtures.

A library running the conformance kit (docs/conformance.md) gets test members and
copies marked `sandbox`: they lend only to each other, never count in the daily
statistics, and are deleted with everything that hangs off them when the run ends.

Revision ID: sandbox_1
Revises: connector_1
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "sandbox_1"
down_revision = "connector_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("members", "copies"):
        op.add_column(table, sa.Column("sandbox", sa.Boolean(), nullable=False,
                                       server_default=sa.text("false")))
    op.create_index("ix_members_sandbox", "members", ["issuing_library"],
                    sqlite_where=sa.text("sandbox"), postgresql_where=sa.text("sandbox"))
    op.create_index("ix_copies_sandbox", "copies", ["library_code"],
                    sqlite_where=sa.text("sandbox"), postgresql_where=sa.text("sandbox"))


def downgrade() -> None:
    op.drop_index("ix_copies_sandbox", table_name="copies")
    op.drop_index("ix_members_sandbox", table_name="members")
    for table in ("copies", "members"):  # SQLite 3.35+ drops a column in place
        op.drop_column(table, "sandbox")
