"""Case payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from records_service.validation import EventTime, MultilineText, Text

Title = Annotated[Text, Field(min_length=1, max_length=300)]
IncidentId = Annotated[Text, Field(min_length=1, max_length=36)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CaseCreate(_Strict):
    title: Title
    summary: Annotated[MultilineText, Field(max_length=20_000)] | None = None
    incident_ids: Annotated[list[IncidentId], Field(min_length=1, max_length=100)]
    # Supervisors and admins assign anyone; an officer's case is assigned to themselves.
    assigned_officer: Annotated[Text, Field(min_length=1, max_length=128)] | None = None


class CaseUpdate(_Strict):
    title: Title | None = None
    summary: Annotated[MultilineText, Field(max_length=20_000)] | None = None


class CaseAssign(_Strict):
    assigned_officer: Annotated[Text, Field(min_length=1, max_length=128)]


class CaseIncidentLink(_Strict):
    incident_id: IncidentId


class CaseStatusChange(_Strict):
    status: Literal["open", "active", "suspended", "closed"]


class DiaryEntryCreate(_Strict):
    entry_at: EventTime
    text: Annotated[MultilineText, Field(min_length=1, max_length=50_000)]


class CasePublic(BaseModel):
    id: str
    case_number: str
    title: str
    summary: str | None
    station_id: str
    assigned_officer: str | None
    status: str
    incident_ids: list[str]
    closed_at: datetime | None
    deleted: bool
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class DiaryPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class CasePage(BaseModel):
    """A page of cases; for analysts the masked fields are absent from each item."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None
