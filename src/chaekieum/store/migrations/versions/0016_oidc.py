"""OpenID Connect provider (docs/oidc.md): registered clients (library homepages and
apps), members' grants, authorization codes, tokens and the signing keys.

Revision ID: oidc_1
Revises: onboarding_docs_1
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "oidc_1"
down_revision = "onboarding_docs_1"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("library_code", sa.String(length=6), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["library_code"], ["libraries.code"],
                                name=op.f("fk_oauth_clients_library_code_libraries")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
    )
    op.create_index("ix_oauth_clients_library", "oauth_clients", ["library_code"])
    op.create_table(
        "oauth_grants",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("member_number", sa.String(length=14), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"],
                                name=op.f("fk_oauth_grants_client_id_oauth_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_grants")),
    )
    op.create_index("ix_oauth_grants_member", "oauth_grants", ["member_number", "client_id"])
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", Id, nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("member_number", sa.String(length=14), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=200), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=False),
        sa.Column("auth_time", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grants.id"],
                                name=op.f("fk_oauth_codes_grant_id_oauth_grants")),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_oauth_codes")),
    )
    op.create_index("ix_oauth_codes_grant", "oauth_codes", ["grant_id"])
    op.create_table(
        "oauth_tokens",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("grant_id", Id, nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("member_number", sa.String(length=14), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("access_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_hash", sa.String(length=64), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["oauth_grants.id"],
                                name=op.f("fk_oauth_tokens_grant_id_oauth_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_tokens")),
        sa.UniqueConstraint("access_hash", name=op.f("uq_oauth_tokens_access_hash")),
        sa.UniqueConstraint("refresh_hash", name=op.f("uq_oauth_tokens_refresh_hash")),
    )
    op.create_index("ix_oauth_tokens_grant", "oauth_tokens", ["grant_id"])
    op.create_index("ix_oauth_tokens_code", "oauth_tokens", ["code_hash"])
    op.create_table(
        "oidc_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_oidc_keys")),
    )


def downgrade() -> None:
    op.drop_table("oidc_keys")
    op.drop_index("ix_oauth_tokens_code", table_name="oauth_tokens")
    op.drop_index("ix_oauth_tokens_grant", table_name="oauth_tokens")
    op.drop_table("oauth_tokens")
    op.drop_index("ix_oauth_codes_grant", table_name="oauth_codes")
    op.drop_table("oauth_codes")
    op.drop_index("ix_oauth_grants_member", table_name="oauth_grants")
    op.drop_table("oauth_grants")
    op.drop_index("ix_oauth_clients_library", table_name="oauth_clients")
    op.drop_table("oauth_clients")
