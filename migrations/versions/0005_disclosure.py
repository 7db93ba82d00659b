"""disclosures; longer alert provider ids (e-mail Message-IDs)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:32:00.184449
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import routing.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tip_id', sa.Integer(), nullable=False),
    sa.Column('dispatch_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('basis', sa.String(length=64), nullable=False),
    sa.Column('at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatch.id'], name=op.f('fk_disclosure_dispatch_id_dispatch')),
    sa.ForeignKeyConstraint(['tip_id'], ['tip.id'], name=op.f('fk_disclosure_tip_id_tip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure'))
    )
    with op.batch_alter_table('disclosure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosure_tip_id'), ['tip_id'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.alter_column('provider_id',
               existing_type=sa.VARCHAR(length=64),
               type_=sa.String(length=200),
               existing_nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.alter_column('provider_id',
               existing_type=sa.String(length=200),
               type_=sa.VARCHAR(length=64),
               existing_nullable=True)

    with op.batch_alter_table('disclosure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosure_tip_id'))

    op.drop_table('disclosure')
