"""Tables of the hotspots service: incident points, sync state, jobs, area indicators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotspots_service.db import Base
from servicekit.db import UTCDateTime


class IncidentPoint(Base):
    """Our copy of one incident from the records export feed (only what analysis needs)."""

    __tablename__ = "incident_points"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    crime_id: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area: Mapped[str | None] = mapped_column(String(200))
    premises_type: Mapped[str | None] = mapped_column(String(100))
    station_id: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncState(Base):
    """Where the export feed copy stands: the cursor of the last applied line."""

    __tablename__ = "sync_state"

    feed: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(1024))
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    applied_total: Mapped[int] = mapped_column(Integer, default=0)
    deleted_total: Mapped[int] = mapped_column(Integer, default=0)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class AnalysisJob(Base):
    """A long analysis (clusters, maps, forecasts, backtests, fairness) and its cached result."""

    __tablename__ = "analysis_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AreaIndicator(Base):
    """One indicator value (e.g. population, median income) of one area, from a CSV upload."""

    __tablename__ = "area_indicators"

    area: Mapped[str] = mapped_column(String(200), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["AnalysisJob", "AreaIndicator", "Base", "IncidentPoint", "SyncState"]
