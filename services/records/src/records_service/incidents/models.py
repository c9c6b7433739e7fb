"""The incident table: a crime record / first information report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records_service.db import Base, UTCDateTime, new_id, utcnow


class ReviewStatus(StrEnum):
    """Review workflow of the report itself."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class InvestigationStatus(StrEnum):
    """Where the investigation of the incident stands."""

    REPORTED = "reported"
    UNDER_INVESTIGATION = "under_investigation"
    CLOSED = "closed"


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("source_system", "source_id", name="uq_incidents_source"),
        Index("ix_incidents_station_occurred", "station_id", "occurred_from"),
        Index("ix_incidents_category_occurred", "category", "occurred_from"),
        # List order plus the bounding box: a box filter is checked inside the index (0005).
        Index("ix_incidents_occurred_box", "occurred_from", "id", "lat", "lon"),
        Index("ix_incidents_lat_lon", "lat", "lon"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    crime_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    source_code: Mapped[str | None] = mapped_column(String(64))
    # Where an imported record came from; (source_system, source_id) is unique so re-imports
    # update instead of duplicating.
    source_system: Mapped[str | None] = mapped_column(String(64))
    source_id: Mapped[str | None] = mapped_column(String(128))
    occurred_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    occurred_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    area: Mapped[str | None] = mapped_column(String(200), index=True)
    premises_type: Mapped[str | None] = mapped_column(String(100))
    narrative: Mapped[str | None] = mapped_column(Text)
    station_id: Mapped[str] = mapped_column(String(64), nullable=False)
    reporting_officer: Mapped[str | None] = mapped_column(String(128))
    review_status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=ReviewStatus.DRAFT.value, index=True
    )
    status: Mapped[str] = mapped_column(
        String(32), nullable=False, default=InvestigationStatus.REPORTED.value, index=True
    )
    sealed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sealed_reason: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(String(128))
    delete_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # Export feed order: a fresh number from sequences.next_change_seq on every change
    # (create, update, review, seal, soft delete, restore). Unique and indexed.
    change_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)

    # Every ORM UPDATE says WHERE version = <read version>: concurrent writers cannot both win.
    __mapper_args__ = {"version_id_col": version}
