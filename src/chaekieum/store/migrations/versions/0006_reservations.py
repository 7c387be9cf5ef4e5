"""Reservations (예약): a queue per copy replaces the unused copies.reserved_for column.

A copy marked reserved_for a member becomes that member's waiting reservation, so
nothing reserved before is lost (the head of a queue is the only member the copy may
be lent to).

Revision ID: reservations_1
Revises: trust_sessions_1
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = "reservations_1"
down_revision = "trust_sessions_1"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = "state IN ('waiting', 'ready')"


def _rebuild_copies_without_reserved_for() -> None:
    """SQLite cannot drop a column named in a FOREIGN KEY clause, and the usual batch
    copy would drop the table that loans, transits and reservations reference. So, with
    foreign-key checks deferred to the commit: keep the rows aside, drop and recreate
    the table, and put the rows back; re-inserting the parent rows settles the deferred
    checks of the rows that reference them."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute("CREATE TEMP TABLE copies_keep AS SELECT id, library_code, reg_no, title,"
               " loanable, updated_at FROM copies")
    op.drop_table("copies")
    op.create_table(
        "copies",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("library_code", sa.String(length=6), nullable=False),
        sa.Column("reg_no", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=300), server_default="", nullable=False),
        sa.Column("loanable", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["library_code"], ["libraries.code"],
                                name=op.f("fk_copies_library_code_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_copies")),
        sa.UniqueConstraint("library_code", "reg_no", name="uq_copies_library_reg_no"),
    )
    op.execute("INSERT INTO copies (id, library_code, reg_no, title, loanable, updated_at)"
               " SELECT id, library_code, reg_no, title, loanable, updated_at"
               " FROM copies_keep")
    op.execute("DROP TABLE copies_keep")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # what the old column said, kept to become waiting reservations
    op.execute("CREATE TEMP TABLE reserved_keep AS SELECT id, reserved_for, library_code,"
               " updated_at FROM copies WHERE reserved_for IS NOT NULL")
    if sqlite:
        _rebuild_copies_without_reserved_for()
    else:
        op.drop_constraint("fk_copies_reserved_for_members", "copies", type_="foreignkey")
        op.drop_column("copies", "reserved_for")
    op.create_table(
        "reservations",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("copy_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("library_code", sa.String(6), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("placed_by", sa.String(80), nullable=False),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.Column("pickup_by", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=True),
        sa.Column("loan_id", Id, nullable=True),
        sa.ForeignKeyConstraint(["copy_id"], ["copies.id"],
                                name=op.f("fk_reservations_copy_id_copies")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_reservations_member_id_members")),
        sa.ForeignKeyConstraint(["library_code"], ["libraries.code"],
                                name=op.f("fk_reservations_library_code_libraries")),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"],
                                name=op.f("fk_reservations_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    op.create_index("ix_reservations_copy_state", "reservations", ["copy_id", "state"])
    op.create_index("ix_reservations_member_state", "reservations", ["member_id", "state"])
    op.create_index("ix_reservations_library_state", "reservations",
                    ["library_code", "state"])
    op.create_index("uq_reservations_active_member_copy", "reservations",
                    ["copy_id", "member_id"], unique=True,
                    postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))
    op.create_index("uq_reservations_ready_copy", "reservations", ["copy_id"], unique=True,
                    postgresql_where=sa.text("state = 'ready'"),
                    sqlite_where=sa.text("state = 'ready'"))
    op.execute(
        "INSERT INTO reservations (copy_id, member_id, library_code, state, channel,"
        " placed_at, placed_by)"
        " SELECT id, reserved_for, library_code, 'waiting', 'migration', updated_at,"
        " 'migration' FROM reserved_keep")
    op.execute("DROP TABLE reserved_keep")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE copies ADD COLUMN reserved_for INTEGER"
                   " CONSTRAINT fk_copies_reserved_for_members REFERENCES members (id)")
    else:
        op.add_column("copies", sa.Column("reserved_for", Id, nullable=True))
        op.create_foreign_key("fk_copies_reserved_for_members", "copies", "members",
                              ["reserved_for"], ["id"])
    # the head of each queue is what the old column could say
    op.execute(
        "UPDATE copies SET reserved_for = (SELECT r.member_id FROM reservations r"
        " WHERE r.copy_id = copies.id AND r.state IN ('waiting', 'ready')"
        " ORDER BY CASE WHEN r.state = 'ready' THEN 0 ELSE 1 END, r.id LIMIT 1)")
    op.drop_table("reservations")
