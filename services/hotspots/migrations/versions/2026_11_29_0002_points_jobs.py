"""Incident points, sync state, analysis jobs and area indicators.

Revision ID: hotspots_0002
Revises: hotspots_0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "hotspots_0002"
down_revision: str | None = "hotspots_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_points",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("crime_id", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("area", sa.String(length=200), nullable=True),
        sa.Column("premises_type", sa.String(length=100), nullable=True),
        sa.Column("station_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_points")),
    )
    op.create_index(op.f("ix_incident_points_category"), "incident_points", ["category"])
    op.create_index(op.f("ix_incident_points_occurred_at"), "incident_points", ["occurred_at"])
    op.create_table(
        "sync_state",
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=1024), nullable=True),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("applied_total", sa.Integer(), nullable=False),
        sa.Column("deleted_total", sa.Integer(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "analysis_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_jobs")),
    )
    op.create_index(op.f("ix_analysis_jobs_kind"), "analysis_jobs", ["kind"])
    op.create_index(op.f("ix_analysis_jobs_input_hash"), "analysis_jobs", ["input_hash"])
    op.create_index(op.f("ix_analysis_jobs_status"), "analysis_jobs", ["status"])
    op.create_table(
        "area_indicators",
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("area", "indicator", name=op.f("pk_area_indicators")),
    )


def downgrade() -> None:
    op.drop_table("area_indicators")
    op.drop_table("analysis_jobs")
    op.drop_table("sync_state")
    op.drop_table("incident_points")
