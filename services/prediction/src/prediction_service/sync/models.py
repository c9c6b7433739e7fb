"""The prediction service's copy of incidents (from the records export feed) and its cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from prediction_service.db import Base


class Incident(Base):
    """What prediction needs of a records incident; never edited here, only synced."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    crime_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(40), index=True)
    source_code: Mapped[str | None] = mapped_column(String(100))
    occurred_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    occurred_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area: Mapped[str | None] = mapped_column(String(200))
    premises_type: Mapped[str | None] = mapped_column(String(100))
    station_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SyncState(Base):
    """Where the incremental copy stands: the cursor of the last applied feed line."""

    __tablename__ = "sync_state"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    upserted_total: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted_total: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
