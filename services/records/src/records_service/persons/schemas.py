"""Person payloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from records_service.validation import BirthDate, MultilineText, Text

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Name = Annotated[Text, Field(min_length=1, max_length=200)]


class Identifier(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: Annotated[Text, Field(min_length=1, max_length=50)]
    value: Annotated[Text, Field(min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonFields(_Strict):
    given_name: Name | None = None
    family_name: Name | None = None
    aliases: Annotated[list[Name], Field(max_length=20)] | None = None
    date_of_birth: BirthDate | None = None
    identifiers: Annotated[list[Identifier], Field(max_length=20)] | None = None
    phone: Annotated[Text, Field(max_length=64)] | None = None
    email: Annotated[Text, Field(max_length=320, pattern=EMAIL_PATTERN)] | None = None
    address: Annotated[Text, Field(max_length=500)] | None = None


class PersonCreate(PersonFields):
    given_name: Name
    family_name: Name
    # Set after looking at the candidates of a 409: "this really is somebody else".
    confirm_new: bool = False


class PersonUpdate(PersonFields):
    """Only the fields sent are changed (PATCH)."""


class PersonPublic(BaseModel):
    id: str
    given_name: str
    family_name: str
    aliases: list[str]
    date_of_birth: date | None
    birth_year: int | None
    identifiers: list[dict[str, str]]
    phone: str | None
    email: str | None
    address: str | None
    station_id: str
    deleted: bool
    version: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class PersonPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class PersonIncidentPage(BaseModel):
    """A person's roles in incidents: each item is the incident as the incident list shows it
    (masked the same way for analysts) plus "role" and "link_id"."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None


class PersonLinkCreate(_Strict):
    person_id: Annotated[Text, Field(min_length=1, max_length=36)]
    role: Literal["suspect", "accused", "victim", "witness", "complainant"]
    notes: Annotated[MultilineText, Field(max_length=1000)] | None = None


class DeleteRequest(_Strict):
    reason: Annotated[MultilineText, Field(min_length=3, max_length=500)]
