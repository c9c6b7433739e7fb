"""Incidents (crime records) and the counters behind crime IDs and the change sequence.

Revision ID: records_0002
Revises: records_0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'records_0002'
down_revision: str | None = 'records_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_counters'))
    )
    op.create_table('incidents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('crime_id', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('source_code', sa.String(length=64), nullable=True),
    sa.Column('source_system', sa.String(length=64), nullable=True),
    sa.Column('source_id', sa.String(length=128), nullable=True),
    sa.Column('occurred_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('occurred_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('area', sa.String(length=200), nullable=True),
    sa.Column('premises_type', sa.String(length=100), nullable=True),
    sa.Column('narrative', sa.Text(), nullable=True),
    sa.Column('station_id', sa.String(length=64), nullable=False),
    sa.Column('reporting_officer', sa.String(length=128), nullable=True),
    sa.Column('review_status', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('sealed', sa.Boolean(), nullable=False),
    sa.Column('sealed_reason', sa.String(length=500), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sa.String(length=128), nullable=True),
    sa.Column('delete_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('change_seq', name=op.f('uq_incidents_change_seq')),
    sa.UniqueConstraint('crime_id', name=op.f('uq_incidents_crime_id')),
    sa.UniqueConstraint('source_system', 'source_id', name='uq_incidents_source')
    )
    op.create_index(op.f('ix_incidents_area'), 'incidents', ['area'], unique=False)
    op.create_index('ix_incidents_category_occurred', 'incidents', ['category', 'occurred_from'], unique=False)
    op.create_index('ix_incidents_lat_lon', 'incidents', ['lat', 'lon'], unique=False)
    op.create_index('ix_incidents_occurred_id', 'incidents', ['occurred_from', 'id'], unique=False)
    op.create_index(op.f('ix_incidents_review_status'), 'incidents', ['review_status'], unique=False)
    op.create_index('ix_incidents_station_occurred', 'incidents', ['station_id', 'occurred_from'], unique=False)
    op.create_index(op.f('ix_incidents_status'), 'incidents', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incidents_status'), table_name='incidents')
    op.drop_index('ix_incidents_station_occurred', table_name='incidents')
    op.drop_index(op.f('ix_incidents_review_status'), table_name='incidents')
    op.drop_index('ix_incidents_occurred_id', table_name='incidents')
    op.drop_index('ix_incidents_lat_lon', table_name='incidents')
    op.drop_index('ix_incidents_category_occurred', table_name='incidents')
    op.drop_index(op.f('ix_incidents_area'), table_name='incidents')

    op.drop_table('incidents')
    op.drop_table('counters')
