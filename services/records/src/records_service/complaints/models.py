"""Citizens' complaints: filed online, triaged by an officer into an incident or closed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records_service.db import Base, UTCDateTime, new_id, utcnow


class ComplaintStatus(StrEnum):
    SUBMITTED = "submitted"
    TRIAGED = "triaged"  # an incident was created from it
    CLOSED = "closed"  # closed with a reason the citizen reads


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    # The citizen's `sub`: the only caller (besides staff) who may see this complaint.
    citizen_subject: Mapped[str] = mapped_column(String(128), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    category_hint: Mapped[str | None] = mapped_column(String(32))
    occurred_from: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    occurred_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location_text: Mapped[str] = mapped_column(String(500), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    contact: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, default=ComplaintStatus.SUBMITTED.value, index=True
    )
    closing_reason: Mapped[str | None] = mapped_column(String(1000))
    incident_id: Mapped[str | None] = mapped_column(String(36))
    crime_id: Mapped[str | None] = mapped_column(String(32))
    triaged_by: Mapped[str | None] = mapped_column(String(128))
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ComplaintAttachment(Base):
    """A file a citizen attached, stored by content hash (SHA-256) under the documents dir."""

    __tablename__ = "complaint_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    complaint_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    media_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
