"""Sandbox-only SIP2 terminals: `sip2_terminals.environment` (live | sandbox).

API keys have had an environment since the first schema; kiosk logins get one too, so
the sandbox credentials issued at registration (a key and a kiosk login) reach only the
library's sandbox data, forever (domain/sandbox.py).

Revision ID: sandbox_credentials_1
Revises: oidc_1
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "sandbox_credentials_1"
down_revision = "oidc_1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sip2_terminals", sa.Column("environment", sa.String(8), nullable=False,
                                              server_default="live"))


def downgrade() -> None:
    op.drop_column("sip2_terminals", "environment")  # SQLite 3.35+ drops a column in place
