"""users, callers, tips, threads, triage and audit

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:45:53.359837
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import routing.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('caller',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number_hash', sa.String(length=64), nullable=True),
    sa.Column('number_key', sa.String(length=16), nullable=True),
    sa.Column('number_encrypted', sa.Text(), nullable=True),
    sa.Column('number_valid', sa.Boolean(), nullable=False),
    sa.Column('number_withheld', sa.Boolean(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('safe_to_call', sa.Boolean(), nullable=False),
    sa.Column('safe_to_text', sa.Boolean(), nullable=False),
    sa.Column('safe_hours', sa.String(length=64), nullable=True),
    sa.Column('phone_shared', sa.Boolean(), nullable=False),
    sa.Column('consent_police', sa.Boolean(), nullable=False),
    sa.Column('consent_consular', sa.Boolean(), nullable=False),
    sa.Column('consent_border', sa.Boolean(), nullable=False),
    sa.Column('consent_victim_support', sa.Boolean(), nullable=False),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caller')),
    sa.UniqueConstraint('number_hash', name=op.f('uq_caller_number_hash'))
    )
    op.create_table('tip_counter',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_tip_counter'))
    )
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('office_code', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('client_identity', sa.String(length=128), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('operator', 'supervisor', 'focal_point', 'admin')", name=op.f('ck_user_account_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('client_identity', name=op.f('uq_user_account_client_identity')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email'))
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('tip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('day_number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('caller_id', sa.Integer(), nullable=True),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=True),
    sa.Column('child_involved', sa.Boolean(), nullable=True),
    sa.Column('functions', sa.JSON(), nullable=False),
    sa.Column('overridden', sa.Boolean(), nullable=False),
    sa.Column('triage', sa.JSON(), nullable=True),
    sa.Column('rules_version', sa.String(length=32), nullable=True),
    sa.Column('triage_pending_since', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('routed_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name=op.f('ck_tip_closed_has_outcome')),
    sa.CheckConstraint("channel IN ('sms', 'voice', 'walk_in', 'email', 'other_line')", name=op.f('ck_tip_channel')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('referred', 'rescued_or_supported', 'no_action', 'duplicate', 'prank')", name=op.f('ck_tip_outcome')),
    sa.CheckConstraint("status IN ('new', 'claimed', 'in_progress', 'closed')", name=op.f('ck_tip_status')),
    sa.CheckConstraint("urgency IS NULL OR urgency IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_tip_urgency')),
    sa.ForeignKeyConstraint(['caller_id'], ['caller.id'], name=op.f('fk_tip_caller_id_caller')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['user_account.id'], name=op.f('fk_tip_claimed_by_id_user_account')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_tip_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tip')),
    sa.UniqueConstraint('day', 'day_number', name=op.f('uq_tip_day_day_number')),
    sa.UniqueConstraint('reference', name=op.f('uq_tip_reference'))
    )
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.create_index('ix_tip_caller_activity', ['caller_id', 'last_activity_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tip_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_tip_open_queue', ['status', 'urgency', 'created_at'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_audit_event_tip_id_tip')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_audit_event_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_tip_id'), ['tip_id'], unique=False)

    op.create_table('call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('ivr_choice', sa.String(length=16), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('transcript_encrypted', sa.Text(), nullable=True),
    sa.Column('recording_encrypted', sa.Text(), nullable=True),
    sa.Column('started_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_call_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_call_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_call_call_sid'))
    )
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_tip_id'), ['tip_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('body_encrypted', sa.Text(), nullable=False),
    sa.Column('body_length', sa.Integer(), nullable=False),
    sa.Column('too_long', sa.Boolean(), nullable=False),
    sa.Column('received_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_message_direction')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_message_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message')),
    sa.UniqueConstraint('provider', 'provider_id', name=op.f('uq_message_provider_provider_id'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_tip_id'), ['tip_id'], unique=False)

    op.create_table('triage_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_triage_override_tip_id_tip')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_triage_override_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_override'))
    )
    with op.batch_alter_table('triage_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_override_tip_id'), ['tip_id'], unique=False)

    op.create_table('triage_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.Column('ran_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rules_version', sa.String(length=32), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('message_offsets', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_triage_run_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_run'))
    )
    with op.batch_alter_table('triage_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_run_tip_id'), ['tip_id'], unique=False)
    _make_audit_append_only()


def downgrade() -> None:
    _drop_audit_append_only()
    with op.batch_alter_table('triage_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_run_tip_id'))

    op.drop_table('triage_run')
    with op.batch_alter_table('triage_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_override_tip_id'))

    op.drop_table('triage_override')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_tip_id'))

    op.drop_table('message')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_tip_id'))

    op.drop_table('call')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_tip_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
    with op.batch_alter_table('tip', schema=None) as batch_op:
        batch_op.drop_index('ix_tip_open_queue')
        batch_op.drop_index(batch_op.f('ix_tip_created_at'))
        batch_op.drop_index('ix_tip_caller_activity')

    op.drop_table('tip')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    op.drop_table('user_account')
    op.drop_table('tip_counter')
    op.drop_table('caller')


# The audit log is append-only in the database itself, not only in the code.
_REFUSE = "audit_event is append-only"


def _make_audit_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event
                BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END""")


def _drop_audit_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute("DROP TRIGGER audit_event_no_delete")
