"""Conformance reports keep their count of scenarios that do not apply to the library
(`onboarding_reports.not_applicable`, report schema chaekieum-conformance/2), so the
onboarding page lists passed, failed, skipped and not applicable. Reports uploaded before
take the count from their stored JSON.

Revision ID: report_not_applicable_1
Revises: vendors_1
Create Date: 2026-12-06
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "report_not_applicable_1"
down_revision = "vendors_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("onboarding_reports", sa.Column("not_applicable", sa.Integer(),
                                                  nullable=False, server_default="0"))
    reports = sa.table("onboarding_reports", sa.column("id", sa.Integer()),
                       sa.column("report", sa.Text()),
                       sa.column("not_applicable", sa.Integer()))
    conn = op.get_bind()
    for row in conn.execute(sa.select(reports.c.id, reports.c.report)).all():
        try:
            count = int(json.loads(row.report).get("summary", {}).get("not_applicable", 0))
        except (ValueError, TypeError, AttributeError):
            continue  # stored as uploaded and validated then: leave 0 if it cannot be read
        if count:
            conn.execute(sa.update(reports).where(reports.c.id == row.id)
                         .values(not_applicable=count))


def downgrade() -> None:
    op.drop_column("onboarding_reports", "not_applicable")
