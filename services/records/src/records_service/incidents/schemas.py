"""Incident payloads: one schema per direction; unknown fields are refused, never applied."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from records_service import taxonomy
from records_service.validation import EventTime, MultilineText, Text


def _known_category(value: str) -> str:
    if not taxonomy.is_category(value):
        raise ValueError(f"unknown category; one of: {', '.join(taxonomy.SLUGS)}")
    return value


Category = Annotated[Text, AfterValidator(_known_category)]
# UTC, 1900-01-01 .. now + 1 day (records_service.validation).
UtcDatetime = EventTime
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
ShortText = Annotated[Text, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    # Mass assignment: id, version, station_id, created_by, status... are not fields here, so
    # sending them is a 422 and can change nothing.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IncidentFields(_Strict):
    category: Category | None = None
    source_code: Annotated[Text, Field(max_length=64)] | None = None
    occurred_from: UtcDatetime | None = None
    occurred_to: UtcDatetime | None = None
    reported_at: UtcDatetime | None = None
    address: Annotated[Text, Field(max_length=500)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    area: ShortText | None = None
    premises_type: Annotated[Text, Field(max_length=100)] | None = None
    narrative: Annotated[MultilineText, Field(max_length=100_000)] | None = None

    @model_validator(mode="after")
    def _coordinates_together(self) -> Self:
        fields = self.model_fields_set
        if ("lat" in fields) != ("lon" in fields):
            raise ValueError("lat and lon are given together")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon are both set or both empty")
        return self


class IncidentCreate(IncidentFields):
    category: Category
    occurred_from: UtcDatetime
    # Admin and supervisor may file for any station; an officer's is always their own.
    station_id: Annotated[Text, Field(min_length=1, max_length=64)] | None = None


class IncidentUpdate(IncidentFields):
    """Only the fields sent are changed (PATCH)."""


class IncidentAmendment(_Strict):
    """A change to an approved report: the reason is kept in the audit chain."""

    reason: Annotated[MultilineText, Field(min_length=3, max_length=1000)]
    changes: IncidentUpdate


class ReviewAction(_Strict):
    action: Literal["submit", "approve", "return"]
    note: Annotated[MultilineText, Field(max_length=1000)] | None = None


class StatusChange(_Strict):
    status: Literal["reported", "under_investigation", "closed"]


class SealRequest(_Strict):
    reason: Annotated[MultilineText, Field(min_length=3, max_length=500)]


class IncidentPublic(BaseModel):
    id: str
    crime_id: str
    category: str
    category_label: str
    source_code: str | None
    occurred_from: datetime
    occurred_to: datetime | None
    reported_at: datetime
    address: str | None
    lat: float | None
    lon: float | None
    area: str | None
    premises_type: str | None
    narrative: str | None
    station_id: str
    reporting_officer: str | None
    review_status: str
    status: str
    sealed: bool
    sealed_reason: str | None
    deleted: bool
    deleted_at: datetime | None
    deleted_by: str | None
    delete_reason: str | None
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class IncidentPage(BaseModel):
    """A page of incidents; for analysts the masked fields are absent from each item."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
