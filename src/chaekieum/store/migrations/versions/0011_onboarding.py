"""Onboarding workflow: checklists, linked-system inventory, stored conformance reports,
planned dates per stage, and the announced launch date of a library.

Revision ID: onboarding_1
Revises: withdrawal_erasure_1
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "onboarding_1"
down_revision = "withdrawal_erasure_1"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("libraries", sa.Column("launch_date", sa.Date, nullable=True))
    op.add_column("libraries", sa.Column("launch_announced_on", sa.Date, nullable=True))
    op.create_table(
        "onboarding_checks",
        sa.Column("library_code", sa.String(6), sa.ForeignKey("libraries.code"),
                  primary_key=True),
        sa.Column("item", sa.String(40), primary_key=True),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
    )
    op.create_table(
        "onboarding_systems",
        sa.Column("library_code", sa.String(6), sa.ForeignKey("libraries.code"),
                  primary_key=True),
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("integrated", sa.Boolean, nullable=False),
        sa.Column("tested", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
    )
    op.create_table(
        "onboarding_reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("library_code", sa.String(6), sa.ForeignKey("libraries.code"),
                  nullable=False),
        sa.Column("schema", sa.String(40), nullable=False),
        sa.Column("result", sa.String(12), nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("uploaded_at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
    )
    op.create_index("ix_onboarding_reports_library", "onboarding_reports",
                    ["library_code", "finished_at"])
    op.create_table(
        "onboarding_plan",
        sa.Column("library_code", sa.String(6), sa.ForeignKey("libraries.code"),
                  primary_key=True),
        sa.Column("stage", sa.String(24), primary_key=True),
        sa.Column("planned_on", sa.Date, nullable=False),
    )


def downgrade() -> None:
    for table in ("onboarding_plan", "onboarding_reports", "onboarding_systems",
                  "onboarding_checks"):
        op.drop_table(table)
    op.drop_column("libraries", "launch_announced_on")
    op.drop_column("libraries", "launch_date")
