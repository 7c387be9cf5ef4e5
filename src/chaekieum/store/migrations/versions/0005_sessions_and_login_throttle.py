"""Server-side web sessions, login throttling instead of account locks, kiosk lockout.

- web_sessions: one row per signed-in browser; logout, a password change and a disabled
  account delete rows, so a replayed cookie is refused at once.
- login_failures: failed sign-ins per account and per source in a sliding window. It
  replaces the per-account lock (failed_logins / locked_until on members and staff
  accounts) that anyone could trigger to lock a real user out.
- sip2_terminals.locked_until: a kiosk account locked after repeated failed logins
  across connections (an admin can unlock it).

Revision ID: trust_sessions_1
Revises: 0004
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "trust_sessions_1"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("account", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_account", "web_sessions", ["kind", "account"])
    op.create_table(
        "login_failures",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_account", "login_failures", ["kind", "account", "at"])
    op.create_index("ix_login_failures_source", "login_failures", ["kind", "source", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])
    op.add_column("sip2_terminals", sa.Column("locked_until", sa.DateTime(), nullable=True))
    for table in ("members", "staff_accounts"):
        for column in ("locked_until", "failed_logins"):
            _drop_column(table, column)


def _drop_column(table: str, column: str) -> None:
    """In place on both databases. On SQLite (3.35+) a batch copy of `members` would
    have to drop the table, which the loans/memberships foreign keys refuse once there
    are members; a plain ALTER TABLE ... DROP COLUMN needs no copy (neither column is
    indexed or constrained)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    for table in ("members", "staff_accounts"):
        op.add_column(table, sa.Column("failed_logins", sa.Integer(), server_default="0",
                                       nullable=False))
        op.add_column(table, sa.Column("locked_until", sa.DateTime(), nullable=True))
    _drop_column("sip2_terminals", "locked_until")
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_index("ix_login_failures_source", table_name="login_failures")
    op.drop_index("ix_login_failures_account", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_web_sessions_account", table_name="web_sessions")
    op.drop_table("web_sessions")
