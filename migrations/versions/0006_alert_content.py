"""what each alert says; resends

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:34:52.512426
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill rows written before this revision.
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=24), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('urgency', sa.String(length=16), nullable=False, server_default='medium'))
        batch_op.add_column(sa.Column('child_involved', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('function', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('resent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('maybe_sent', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_involved', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_column('child_involved')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('maybe_sent')
        batch_op.drop_column('resent')
        batch_op.drop_column('function')
        batch_op.drop_column('child_involved')
        batch_op.drop_column('urgency')
        batch_op.drop_column('reference')

