"""directory of focal points

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:17:09.917511
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import routing.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_agency_dates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency')),
    sa.UniqueConstraint('code', name=op.f('uq_agency_code'))
    )
    op.create_table('directory_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('imported_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=254), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_version'))
    )
    op.create_table('office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('webhook_url', sa.String(length=500), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint("(scope IN ('national', 'sea')) = (area IS NULL)", name=op.f('ck_office_area')),
    sa.CheckConstraint("scope IN ('national', 'province', 'commune', 'country', 'sea')", name=op.f('ck_office_scope')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_office_dates')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_office_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office')),
    sa.UniqueConstraint('code', name=op.f('uq_office_code'))
    )
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_agency_id'), ['agency_id'], unique=False)

    op.create_table('office_function',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('function', sa.String(length=16), nullable=False),
    sa.Column('children_only', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.CheckConstraint("function IN ('police', 'consular', 'border', 'victim_support')", name=op.f('ck_office_function_function')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_office_function_dates')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_office_function_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_function')),
    sa.UniqueConstraint('office_id', 'function', 'valid_from', name=op.f('uq_office_function_office_id_function_valid_from'))
    )
    with op.batch_alter_table('office_function', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_function_office_id'), ['office_id'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('user_email', sa.String(length=254), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.CheckConstraint("role IN ('primary', 'backup', 'head', 'supervisor')", name=op.f('ck_person_role')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_person_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('code', name=op.f('uq_person_code'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_office_id'), ['office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_user_email'), ['user_email'], unique=False)

    op.create_table('absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delegate_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_absence_times')),
    sa.ForeignKeyConstraint(['delegate_id'], ['person.id'], name=op.f('fk_absence_delegate_id_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_absence_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absence'))
    )
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absence_person_id'), ['person_id'], unique=False)

    op.create_table('duty_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', routing.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_duty_shift_times')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_duty_shift_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift'))
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shift_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_shift_starts_at'), ['starts_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_shift_starts_at'))
        batch_op.drop_index(batch_op.f('ix_duty_shift_person_id'))

    op.drop_table('duty_shift')
    with op.batch_alter_table('absence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_absence_person_id'))

    op.drop_table('absence')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_user_email'))
        batch_op.drop_index(batch_op.f('ix_person_office_id'))

    op.drop_table('person')
    with op.batch_alter_table('office_function', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_function_office_id'))

    op.drop_table('office_function')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_agency_id'))

    op.drop_table('office')
    op.drop_table('directory_version')
    op.drop_table('agency')
