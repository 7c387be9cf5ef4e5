"""Onboarding documents: the files a joining library uploads (참여신청서, 수요조사서, 공문,
세부일정 ...), with their content hash and server-made storage name.

Revision ID: onboarding_docs_1
Revises: notices_1
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "onboarding_docs_1"
down_revision = "notices_1"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "onboarding_documents",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("library_code", sa.String(6), sa.ForeignKey(
            "libraries.code", name="fk_onboarding_documents_library_code_libraries"),
            nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item", sa.String(40), nullable=True),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("file_type", sa.String(8), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_as", sa.String(80), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("uploaded_at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_onboarding_documents"),
        sa.UniqueConstraint("stored_as", name="uq_onboarding_documents_stored_as"),
    )
    op.create_index("ix_onboarding_documents_library", "onboarding_documents",
                    ["library_code", "uploaded_at"])


def downgrade() -> None:
    op.drop_table("onboarding_documents")
