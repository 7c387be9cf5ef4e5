"""Index members by last change, for the library connectors' snapshot deltas.

Each connector asks every 30 s for the members changed since its last pass
(GET /api/v1/connector/snapshot?since=...); with this index that is a range scan of
the few rows changed, not a walk of every member.

Revision ID: connector_1
Revises: reservations_1
Create Date: 2026-11-29
"""
from alembic import op

revision = "connector_1"
down_revision = "reservations_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_updated_at", "members", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_members_updated_at", table_name="members")
