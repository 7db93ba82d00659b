"""dispatches, alerts, escalation policies

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:21:13.618200
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import routing.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('escalation_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('updated_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=True),
    sa.CheckConstraint("urgency IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_escalation_policy_urgency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_policy')),
    sa.UniqueConstraint('urgency', name=op.f('uq_escalation_policy_urgency'))
    )
    op.create_table('dispatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('function', sa.String(length=16), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('office_name', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('next_due_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('acknowledged_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=254), nullable=True),
    sa.Column('acknowledged_via', sa.String(length=16), nullable=True),
    sa.Column('closed_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('cancelled_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=254), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('declined', sa.Boolean(), nullable=False),
    sa.CheckConstraint("function IN ('police', 'consular', 'border', 'victim_support')", name=op.f('ck_dispatch_function')),
    sa.CheckConstraint("state IN ('pending', 'acknowledged', 'closed', 'cancelled')", name=op.f('ck_dispatch_state')),
    sa.CheckConstraint("urgency IN ('low', 'medium', 'high', 'critical')", name=op.f('ck_dispatch_urgency')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_dispatch_office_id_office')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_dispatch_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch')),
    sa.UniqueConstraint('tip_id', 'function', 'office_id', name=op.f('uq_dispatch_tip_id_function_office_id'))
    )
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_next_due_at'), ['next_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_office_id'), ['office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_tip_id'), ['tip_id'], unique=False)

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=True),
    sa.Column('tip_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('recipient_role', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_at', routing.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'call', 'email', 'webhook')", name=op.f('ck_alert_channel')),
    sa.CheckConstraint("kind IN ('alert', 'escalation', 'supervisor_unclaimed', 'test_alert', 'reminder_outcome')", name=op.f('ck_alert_kind')),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'undelivered', 'cancelled')", name=op.f('ck_alert_status')),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], name=op.f('fk_alert_dispatch_id_dispatch')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_alert_person_id_person')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_alert_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_alert_idempotency_key'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_dispatch_id'), ['dispatch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_tip_id'), ['tip_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_tip_id'))
        batch_op.drop_index(batch_op.f('ix_alert_provider_id'))
        batch_op.drop_index(batch_op.f('ix_alert_person_id'))
        batch_op.drop_index(batch_op.f('ix_alert_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_alert_dispatch_id'))

    op.drop_table('alert')
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_tip_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_office_id'))
        batch_op.drop_index(batch_op.f('ix_dispatch_next_due_at'))

    op.drop_table('dispatch')
    op.drop_table('escalation_policy')
