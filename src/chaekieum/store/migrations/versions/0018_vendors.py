"""Vendors (사업자): a registered entity by 사업자등록번호, and the vendor a library selected
(`libraries.vendor_brn`). Vendor staff sign in as `staff_accounts` rows with role
`vendor` and vendor API keys are `api_keys` rows with scope `vendor` (scope_code: the
사업자등록번호), so neither table changes.

Revision ID: vendors_1
Revises: sandbox_credentials_1
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "vendors_1"
down_revision = "sandbox_credentials_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vendors",
        sa.Column("brn", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("contact_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("contact_email", sa.String(200), nullable=False, server_default=""),
        sa.Column("contact_phone", sa.String(20), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("brn", name="pk_vendors"),
    )
    op.add_column("libraries", sa.Column("vendor_brn", sa.String(10), nullable=True))
    op.create_index("ix_libraries_vendor", "libraries", ["vendor_brn"])


def downgrade() -> None:
    op.drop_index("ix_libraries_vendor", table_name="libraries")
    op.drop_column("libraries", "vendor_brn")  # SQLite 3.35+ drops a column in place
    op.drop_table("vendors")
