"""Document payloads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from records_service.validation import Text


class DocumentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Annotated[Text, Field(min_length=1, max_length=300)] | None = None


class DocumentPublic(BaseModel):
    id: str
    owner_type: str
    owner_id: str
    station_id: str
    title: str | None
    original_filename: str
    media_type: str
    size_bytes: int
    sha256: str
    deleted: bool
    version: int
    uploaded_by: str
    created_at: datetime
    updated_at: datetime


class DocumentPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None
