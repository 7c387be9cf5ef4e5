"""Per-library daily circulation counters (dashboards), backfilled from the ledger.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_circulation",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("library_code", sa.String(length=6), nullable=False),
        sa.Column("loans", sa.Integer(), server_default="0", nullable=False),
        sa.Column("returns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("loans_elsewhere", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "library_code", name=op.f("pk_daily_circulation")),
        sqlite_with_rowid=False,
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    return_day = ("date(returned_at, '+9 hours')" if sqlite
                  else "CAST(returned_at + interval '9 hours' AS date)")
    op.execute(f"""
        INSERT INTO daily_circulation (library_code, day, loans, returns, loans_elsewhere)
        SELECT library_code, day, SUM(l), SUM(r), SUM(e) FROM (
            SELECT loans.library_code AS library_code, loaned_on AS day, 1 AS l, 0 AS r,
                   CASE WHEN members.issuing_library <> loans.library_code THEN 1 ELSE 0 END
                   AS e
            FROM loans JOIN members ON members.id = loans.member_id
            WHERE loans.state <> 'undone'
            UNION ALL
            SELECT return_library, {return_day}, 0, 1, 0
            FROM loans WHERE state = 'returned' AND return_library IS NOT NULL
        ) AS t GROUP BY library_code, day
    """)


def downgrade() -> None:
    op.drop_table("daily_circulation")
