"""UTC helpers: SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """The same instant as an aware UTC datetime (naive values are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_instant(text: str | None) -> datetime | None:
    """ISO 8601 text -> aware UTC datetime; a value without offset is taken as UTC."""
    if not text:
        return None
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
