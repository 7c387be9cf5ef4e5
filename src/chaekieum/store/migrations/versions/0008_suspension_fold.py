"""Drop suspensions.previous_end: a member's suspension end is folded from the
suspensions still in force (domain/suspension.py ``ends_after``), so undoing a late
return never restores a remembered earlier end.

Revision ID: suspension_fold_1
Revises: connector_1
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "suspension_fold_1"
down_revision = "connector_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("suspensions") as batch:
        batch.drop_column("previous_end")


def downgrade() -> None:
    with op.batch_alter_table("suspensions") as batch:
        batch.add_column(sa.Column("previous_end", sa.Date(), nullable=True))
