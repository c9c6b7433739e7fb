"""Reusable input types: text without control characters, bounded times and birth dates.

Everything that comes into the records service as text (JSON bodies and query values) goes
through `Text` (one line) or `MultilineText` (free text: narratives, summaries, diary
entries, reasons, notes), so a NUL or another control character is a 422 at the schema and
never reaches the database driver (PostgreSQL `text` cannot hold NUL; SQLite would store it).

Time bounds (422 outside them):
- times of events (`EventTime`: occurred/reported times, diary entries): from 1900-01-01
  UTC to one day after now (a day of slack for clocks and time zones);
- query filters (`FilterTime`): from 1900-01-01 to 2100-01-01 UTC;
- a date of birth (`BirthDate`): from 1900-01-01 to today (UTC).
A timezone-aware time whose offset would carry it past year 1 or 9999 is refused the same
way (datetime.astimezone raises OverflowError there, which is not a validation error).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FILTER_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
EARLIEST_BIRTH = date(1900, 1, 1)

_MULTILINE_ALLOWED = frozenset("\t\n\r")


def _bad_character(value: str, allowed: frozenset[str]) -> str | None:
    for char in value:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        # Cc: C0/C1 controls incl. NUL and DEL; Cs: lone surrogates (not encodable as UTF-8).
        if category in ("Cc", "Cs"):
            return char
    return None


def refuse_control_characters(value: str) -> str:
    """One-line text: no control characters at all (tabs and line breaks included)."""
    char = _bad_character(value, frozenset())
    if char is not None:
        raise ValueError(f"contains a control character (U+{ord(char):04X})")
    return value


def refuse_control_characters_multiline(value: str) -> str:
    """Free text: no control characters except tab, line feed and carriage return."""
    char = _bad_character(value, _MULTILINE_ALLOWED)
    if char is not None:
        raise ValueError(f"contains a control character (U+{ord(char):04X})")
    return value


Text = Annotated[str, AfterValidator(refuse_control_characters)]
MultilineText = Annotated[str, AfterValidator(refuse_control_characters_multiline)]


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; ValueError (a 422) where the conversion leaves years 1-9999."""
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc


def event_time(value: datetime) -> datetime:
    """An aware time of an event: UTC, not before 1900, not more than a day ahead."""
    moment = to_utc(value)
    if moment < EARLIEST:
        raise ValueError("is before 1900-01-01")
    if moment > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError("is in the future")
    return moment


def filter_time(value: datetime) -> datetime:
    """A time given as a filter: naive values pass through (the route refuses them with its own
    message); aware ones become UTC within 1900-01-01 .. 2100-01-01."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value
    moment = to_utc(value)
    if not EARLIEST <= moment <= FILTER_LATEST:
        raise ValueError("is out of range (1900-01-01 to 2100-01-01)")
    return moment


def birth_date(value: date) -> date:
    """A date of birth: from 1900-01-01 to today (UTC)."""
    if value < EARLIEST_BIRTH:
        raise ValueError("is before 1900-01-01")
    if value > datetime.now(UTC).date():
        raise ValueError("is in the future")
    return value


EventTime = Annotated[AwareDatetime, AfterValidator(event_time)]
FilterTime = Annotated[datetime, AfterValidator(filter_time)]
BirthDate = Annotated[date, AfterValidator(birth_date)]
