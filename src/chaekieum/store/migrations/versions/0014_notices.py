"""Notices (docs/notices.md): onboarding contacts, members' channel choices, the notice
outbox, and an index on loans by state and due date for the scheduler.

Revision ID: notices_1
Revises: bulk_import_1
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "notices_1"
down_revision = "bulk_import_1"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_index("ix_loans_state_due", "loans", ["state", "due_on"])
    op.create_table(
        "onboarding_contacts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("library_code", sa.String(length=6), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["library_code"], ["libraries.code"],
                                name=op.f("fk_onboarding_contacts_library_code_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_contacts")),
        sa.UniqueConstraint("library_code", "party", "email",
                            name="uq_onboarding_contacts_email"),
    )
    op.create_table(
        "member_notice_prefs",
        sa.Column("member_id", Id, nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("kakao", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_member_notice_prefs_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_notice_prefs")),
    )
    op.create_table(
        "notices",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("member_id", Id, nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("library_code", sa.String(length=6), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.String(length=300), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_notices_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_notices_key")),
    )
    op.create_index("ix_notices_status_due", "notices", ["status", "not_before"])
    op.create_index("ix_notices_member", "notices", ["member_id"])
    op.create_index("ix_notices_library", "notices", ["library_code", "created_at"])


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("member_notice_prefs")
    op.drop_table("onboarding_contacts")
    op.drop_index("ix_loans_state_due", table_name="loans")
