"""Bulk import (docs/import.md): catalogue columns on copies, import batches with their
problems, and the old-to-new member number mapping of a member conversion.

Revision ID: bulk_import_1
Revises: member_status_1
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "bulk_import_1"
down_revision = "member_status_1"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COPY_COLUMNS = [
    sa.Column("author", sa.String(length=300), server_default="", nullable=False),
    sa.Column("call_number", sa.String(length=100), server_default="", nullable=False),
    sa.Column("shelf_mark", sa.String(length=20), server_default="", nullable=False),
    sa.Column("bib_id", sa.String(length=40), server_default="", nullable=False),
    sa.Column("import_batch_id", Id, nullable=True),
    sa.Column("import_record", sa.Integer(), nullable=True),
]


def upgrade() -> None:
    for column in COPY_COLUMNS:
        op.add_column("copies", column)
    op.create_index("ix_copies_import_batch_id", "copies", ["import_batch_id"])
    op.create_table(
        "import_batches",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("library_code", sa.String(length=6), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["library_code"], ["libraries.code"],
                                name=op.f("fk_import_batches_library_code_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    op.create_index("ix_import_batches_library", "import_batches",
                    ["library_code", "kind", "file_sha256"])
    op.create_table(
        "import_problems",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("batch_id", Id, nullable=False),
        sa.Column("record_no", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), server_default="", nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=200), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batches.id"],
                                name=op.f("fk_import_problems_batch_id_import_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_problems")),
    )
    op.create_index("ix_import_problems_batch", "import_problems", ["batch_id", "record_no"])
    op.create_table(
        "member_imports",
        sa.Column("library_code", sa.String(length=6), nullable=False),
        sa.Column("local_number", sa.String(length=40), nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("batch_id", Id, nullable=False),
        sa.Column("record_no", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["library_code"], ["libraries.code"],
                                name=op.f("fk_member_imports_library_code_libraries")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_member_imports_member_id_members")),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batches.id"],
                                name=op.f("fk_member_imports_batch_id_import_batches")),
        sa.PrimaryKeyConstraint("library_code", "local_number", name=op.f("pk_member_imports")),
        sa.UniqueConstraint("member_id", name=op.f("uq_member_imports_member_id")),
    )
    op.create_index("ix_member_imports_batch", "member_imports", ["batch_id"])


def downgrade() -> None:
    op.drop_table("member_imports")
    op.drop_table("import_problems")
    op.drop_table("import_batches")
    op.drop_index("ix_copies_import_batch_id", table_name="copies")
    for column in reversed(COPY_COLUMNS):
        op.drop_column("copies", column.name)
