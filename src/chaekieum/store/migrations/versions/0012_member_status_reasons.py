"""Expulsion (제적) and a library's own bar of a member: why, when and by whom.

`members.status` already holds `expelled`, and `memberships.status` each library's own
status of the member (now also `barred`); these columns keep the reason, time and actor
of the last change of either, for the console (every change is audited as well).

Revision ID: member_status_1
Revises: onboarding_1
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "member_status_1"
down_revision = "onboarding_1"
branch_labels = None
depends_on = None

TABLES = ("members", "memberships")
COLUMNS = ("status_reason", "status_changed_at", "status_by")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("status_reason", sa.String(length=500), nullable=True))
        op.add_column(table, sa.Column("status_changed_at", sa.DateTime(), nullable=True))
        op.add_column(table, sa.Column("status_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    """In place on both databases: a batch copy of `members` on SQLite would have to drop
    the table, which the foreign keys refuse once there are members (as in 0005)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for column in COLUMNS:
            if sqlite:
                op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
            else:
                op.drop_column(table, column)
