"""Counters kept in the database: crime ID numbers per year and the incident change sequence.

A counter row is updated in place, so the row lock (PostgreSQL) or the write lock (SQLite) is held
until the transaction commits: transactions that take numbers commit in the order of their
numbers, which is what lets the export feed hand out a cursor that never skips a change.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from records_service.db import Base

INCIDENT_CHANGE_COUNTER = "incident_change"
CRIME_ID_PREFIX = "CR"


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def take_numbers(session: Session, *, name: str, count: int = 1) -> int:
    """Reserve `count` consecutive numbers of counter `name`; returns the LAST one reserved.

    The numbers reserved are `last - count + 1 .. last`.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Counter.__table__
    statement = (
        insert(table)
        .values(name=name, value=count)
        .on_conflict_do_update(index_elements=[table.c.name], set_={"value": table.c.value + count})
        .returning(table.c.value)
    )
    # No autoflush: pending changes of the row being edited must go out in ONE update (one
    # version bump), after the caller has set every field.
    with session.no_autoflush:
        last: int = session.execute(statement).scalar_one()
    return last


def next_change_seq(session: Session, *, count: int = 1) -> int:
    """Reserve change sequence numbers for incident changes (export feed order); returns the last.

    Every insert, update, soft delete or restore of an incident sets `incident.change_seq` to a
    fresh number from here, so the feed can be read in change order with `change_seq > cursor`.
    """
    return take_numbers(session, name=INCIDENT_CHANGE_COUNTER, count=count)


def format_crime_id(year: int, number: int) -> str:
    """The public crime ID, e.g. CR-2026-000123."""
    return f"{CRIME_ID_PREFIX}-{year}-{number:06d}"


def next_crime_ids(session: Session, *, year: int, count: int = 1) -> list[str]:
    """Reserve `count` new public crime IDs of `year` (unique per deployment)."""
    last = take_numbers(session, name=f"crime_id:{year}", count=count)
    return [format_crime_id(year, number) for number in range(last - count + 1, last + 1)]
