"""Complaint payloads: what a citizen sends, what an officer decides, what each may read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from records_service.incidents.schemas import Category, Latitude, Longitude, UtcDatetime
from records_service.validation import MultilineText, Text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ComplaintCreate(_Strict):
    """What happened, when and where (optional coordinates, category guess and contact)."""

    description: Annotated[MultilineText, Field(min_length=10, max_length=20_000)]
    occurred_from: UtcDatetime
    occurred_to: UtcDatetime | None = None
    location_text: Annotated[Text, Field(min_length=3, max_length=500)]
    lat: Latitude | None = None
    lon: Longitude | None = None
    category_hint: Category | None = None
    contact: Annotated[Text, Field(max_length=300)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon are both set or both empty")
        if self.occurred_to is not None and self.occurred_to < self.occurred_from:
            raise ValueError("occurred_to is before occurred_from")
        return self


class ComplaintTriage(_Strict):
    """Turn a complaint into an incident (draft) of this category and station."""

    category: Category
    station_id: Annotated[Text, Field(min_length=1, max_length=64)] | None = None
    area: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    premises_type: Annotated[Text, Field(max_length=100)] | None = None


class ComplaintClose(_Strict):
    """Close without an incident; the citizen reads the reason."""

    reason: Annotated[MultilineText, Field(min_length=3, max_length=1000)]


class AttachmentPublic(BaseModel):
    id: str
    filename: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime


class ComplaintPublic(BaseModel):
    id: str
    reference: str
    status: str
    closing_reason: str | None
    crime_id: str | None
    description: str
    occurred_from: datetime
    occurred_to: datetime | None
    location_text: str
    lat: float | None
    lon: float | None
    category_hint: str | None
    contact: str | None
    attachments: list[AttachmentPublic]
    version: int
    created_at: datetime
    updated_at: datetime


class ComplaintStaffView(ComplaintPublic):
    """What officers see besides: who filed it, who triaged it, the incident."""

    citizen_subject: str
    incident_id: str | None
    triaged_by: str | None
    triaged_at: datetime | None


class ComplaintPage(BaseModel):
    items: list[ComplaintPublic | ComplaintStaffView]
    next_cursor: str | None = None
