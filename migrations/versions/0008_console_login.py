"""console login: lockout and second factor

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 13:05:01.999118
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import routing.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', routing.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_secret_encrypted', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('last_login_at', routing.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('totp_secret_encrypted')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')

