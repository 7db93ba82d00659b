"""directory test dispatches

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:42:24.998848
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('test', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('tip_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.alter_column('tip_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('test')

