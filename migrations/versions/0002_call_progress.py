"""call progress: queue, answer, recordings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:55:38.428244
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import routing.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The call table is altered first: SQLite's batch mode copies it, which must not
    # happen while another table refers to it.
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_result', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('queue_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', routing.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('operator_call_sid', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_call_operator_call_sid'), ['operator_call_sid'], unique=False)
        batch_op.drop_column('recording_encrypted')  # now the recording table's
        batch_op.create_check_constraint(
            op.f('ck_call_status'),
            "status IN ('queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', "
            "'failed', 'no-answer', 'canceled')")

    op.create_table('recording',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('recording_sid', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('url_encrypted', sa.Text(), nullable=True),
    sa.Column('created_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('voicemail', 'conversation')", name=op.f('ck_recording_kind')),
    sa.CheckConstraint("status IN ('in-progress', 'completed', 'absent', 'failed')", name=op.f('ck_recording_status')),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_recording_call_id_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording')),
    sa.UniqueConstraint('recording_sid', name=op.f('uq_recording_recording_sid'))
    )
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_call_id'), ['call_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_call_id'))

    op.drop_table('recording')

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_call_status'), type_='check')
        batch_op.add_column(sa.Column('recording_encrypted', sa.Text(), nullable=True))
        batch_op.drop_index(batch_op.f('ix_call_operator_call_sid'))
        batch_op.drop_column('operator_call_sid')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('queue_seconds')
        batch_op.drop_column('queue_result')

