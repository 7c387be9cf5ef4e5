"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=24), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('scope_code', sa.String(length=16), server_default='', nullable=False),
    sa.Column('environment', sa.String(length=8), server_default='live', nullable=False),
    sa.Column('label', sa.String(length=100), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_api_keys_key_id'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.String(length=40), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=True),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('position', name=op.f('uq_events_position'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_library_position', ['library_code', 'position'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('principal', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('principal', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('member_number_counters',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_member_number_counters'))
    )
    op.create_table('policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('scope', sa.String(length=16), server_default='', nullable=False),
    sa.Column('member_class', sa.String(length=10), server_default='', nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies')),
    sa.UniqueConstraint('level', 'scope', 'member_class', name='uq_policies_scope')
    )
    op.create_table('regions',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions'))
    )
    op.create_table('staff_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('scope_code', sa.String(length=16), server_default='', nullable=False),
    sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('disabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_accounts_username'))
    )
    op.create_table('withdrawal_stats',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=False),
    sa.Column('issuing_library', sa.String(length=6), nullable=False),
    sa.Column('birth_decade', sa.Integer(), nullable=True),
    sa.Column('member_class', sa.String(length=10), nullable=False),
    sa.Column('total_loans', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawal_stats'))
    )
    op.create_table('regional_centers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('host_library', sa.String(length=60), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_regional_centers_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regional_centers')),
    sa.UniqueConstraint('name', name=op.f('uq_regional_centers_name'))
    )
    op.create_table('libraries',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=16), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('closed_weekdays', sa.String(length=20), server_default='', nullable=False),
    sa.Column('ils', sa.String(length=40), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('live_since', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['center_id'], ['regional_centers.id'], name=op.f('fk_libraries_center_id_regional_centers')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_libraries_region_code_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_libraries'))
    )
    with op.batch_alter_table('libraries', schema=None) as batch_op:
        batch_op.create_index('ix_libraries_region', ['region_code'], unique=False)

    op.create_table('library_closed_dates',
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=100), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_library_closed_dates_library_code_libraries')),
    sa.PrimaryKeyConstraint('library_code', 'day', name=op.f('pk_library_closed_dates'))
    )
    op.create_table('library_stage_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_library_stage_log_library_code_libraries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_library_stage_log'))
    )
    op.create_table('members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=14), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('ci_hash', sa.String(length=64), nullable=True),
    sa.Column('issuing_library', sa.String(length=6), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('member_class', sa.String(length=10), nullable=False),
    sa.Column('card_lost', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('card_uid', sa.String(length=64), nullable=True),
    sa.Column('suspended_until', sa.Date(), nullable=True),
    sa.Column('guardian_name', sa.String(length=100), nullable=True),
    sa.Column('guardian_phone', sa.String(length=30), nullable=True),
    sa.Column('consents', sa.JSON(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['issuing_library'], ['libraries.code'], name=op.f('fk_members_issuing_library_libraries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('card_uid', name=op.f('uq_members_card_uid')),
    sa.UniqueConstraint('ci_hash', name=op.f('uq_members_ci_hash')),
    sa.UniqueConstraint('number', name=op.f('uq_members_number'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_name', ['name'], unique=False)

    op.create_table('sip2_terminals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=60), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('label', sa.String(length=100), server_default='', nullable=False),
    sa.Column('encoding', sa.String(length=12), server_default='utf-8', nullable=False),
    sa.Column('terminator', sa.String(length=4), server_default='CR', nullable=False),
    sa.Column('error_detection', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_sip2_terminals_library_code_libraries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sip2_terminals')),
    sa.UniqueConstraint('login', name=op.f('uq_sip2_terminals_login'))
    )
    op.create_table('copies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('reg_no', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=300), server_default='', nullable=False),
    sa.Column('loanable', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('reserved_for', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_copies_library_code_libraries')),
    sa.ForeignKeyConstraint(['reserved_for'], ['members.id'], name=op.f('fk_copies_reserved_for_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copies')),
    sa.UniqueConstraint('library_code', 'reg_no', name='uq_copies_library_reg_no')
    )
    op.create_table('memberships',
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('how', sa.String(length=10), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='active', nullable=False),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_memberships_library_code_libraries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_memberships_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'library_code', name=op.f('pk_memberships'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('ix_memberships_library', ['library_code'], unique=False)

    op.create_table('suspensions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('loan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('previous_end', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_suspensions_library_code_libraries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_suspensions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspensions'))
    )
    with op.batch_alter_table('suspensions', schema=None) as batch_op:
        batch_op.create_index('ix_suspensions_member', ['member_id'], unique=False)

    op.create_table('loans',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('copy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('owner_library', sa.String(length=6), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('loaned_at', sa.DateTime(), nullable=False),
    sa.Column('loaned_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('renewals', sa.Integer(), server_default='0', nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('return_library', sa.String(length=6), nullable=True),
    sa.Column('return_txn_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('client_txn_id', sa.String(length=64), nullable=True),
    sa.Column('offline', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('history_hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['copy_id'], ['copies.id'], name=op.f('fk_loans_copy_id_copies')),
    sa.ForeignKeyConstraint(['library_code'], ['libraries.code'], name=op.f('fk_loans_library_code_libraries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_loans_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
    sa.UniqueConstraint('library_code', 'client_txn_id', name='uq_loans_client_txn'),
    sa.UniqueConstraint('return_library', 'return_txn_id', name='uq_loans_return_txn')
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index('ix_loans_library_loaned', ['library_code', 'loaned_on'], unique=False)
        batch_op.create_index('ix_loans_member_state', ['member_id', 'state'], unique=False)
        batch_op.create_index('uq_loans_active_copy', ['copy_id'], unique=True, postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"))

    op.create_table('circulation_exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('library_code', sa.String(length=6), nullable=False),
    sa.Column('loan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_circulation_exceptions_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circulation_exceptions'))
    )
    with op.batch_alter_table('circulation_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_circulation_exceptions_library', ['library_code', 'resolved_at'], unique=False)

    op.create_table('transits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('copy_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('loan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_library', sa.String(length=6), nullable=False),
    sa.Column('to_library', sa.String(length=6), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('courier_fee', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('arrived_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['copy_id'], ['copies.id'], name=op.f('fk_transits_copy_id_copies')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_transits_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transits'))
    )
    with op.batch_alter_table('transits', schema=None) as batch_op:
        batch_op.create_index('ix_transits_from_state', ['from_library', 'state'], unique=False)
        batch_op.create_index('ix_transits_to_state', ['to_library', 'state'], unique=False)
        batch_op.create_index('uq_transits_open_copy', ['copy_id'], unique=True, postgresql_where=sa.text("state <> 'home'"), sqlite_where=sa.text("state <> 'home'"))



def downgrade() -> None:
    with op.batch_alter_table('transits', schema=None) as batch_op:
        batch_op.drop_index('uq_transits_open_copy', postgresql_where=sa.text("state <> 'home'"), sqlite_where=sa.text("state <> 'home'"))
        batch_op.drop_index('ix_transits_to_state')
        batch_op.drop_index('ix_transits_from_state')

    op.drop_table('transits')
    with op.batch_alter_table('circulation_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_circulation_exceptions_library')

    op.drop_table('circulation_exceptions')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index('uq_loans_active_copy', postgresql_where=sa.text("state = 'active'"), sqlite_where=sa.text("state = 'active'"))
        batch_op.drop_index('ix_loans_member_state')
        batch_op.drop_index('ix_loans_library_loaned')

    op.drop_table('loans')
    with op.batch_alter_table('suspensions', schema=None) as batch_op:
        batch_op.drop_index('ix_suspensions_member')

    op.drop_table('suspensions')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_library')

    op.drop_table('memberships')
    op.drop_table('copies')
    op.drop_table('sip2_terminals')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_name')

    op.drop_table('members')
    op.drop_table('library_stage_log')
    op.drop_table('library_closed_dates')
    with op.batch_alter_table('libraries', schema=None) as batch_op:
        batch_op.drop_index('ix_libraries_region')

    op.drop_table('libraries')
    op.drop_table('regional_centers')
    op.drop_table('withdrawal_stats')
    op.drop_table('staff_accounts')
    op.drop_table('regions')
    op.drop_table('policies')
    op.drop_table('member_number_counters')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_library_position')

    op.drop_table('events')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entity')
        batch_op.drop_index('ix_audit_at')

    op.drop_table('audit_log')
    op.drop_table('api_keys')
