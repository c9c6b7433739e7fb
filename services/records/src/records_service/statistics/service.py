"""Incident counts for any time frame, grouped and filtered, with the previous equal period.

What counts: every incident not soft-deleted, by its occurrence start (`occurred_from`), in the
half-open frame [from, to). Sealed incidents count (a number reveals nothing about the record);
deleted ones do not. Time buckets are computed in SQL and are UTC: `hour`, `day`, `week` (ISO
weeks starting Monday), `month`, `year` and `hour_of_week` (0 = Monday 00:00-01:00 UTC ... 167).
The same query gives the same numbers on SQLite and PostgreSQL: only the bucket expression differs
by dialect, and its labels are normalised in Python.

Public aggregates (citizens, anonymous callers) suppress every cell below a threshold (default 5)
and report as total only the sum of the cells shown, so a suppressed cell cannot be recovered by
subtracting the others from the total.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    extract,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from records_service.incidents.models import Incident

PUBLIC_MIN_CELL = 5


class Dimension(StrEnum):
    CATEGORY = "category"
    AREA = "area"
    STATION = "station_id"
    PREMISES = "premises_type"
    STATUS = "status"


class Bucket(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    HOUR_OF_WEEK = "hour_of_week"


DIMENSION_COLUMNS: dict[Dimension, Any] = {
    Dimension.CATEGORY: Incident.category,
    Dimension.AREA: Incident.area,
    Dimension.STATION: Incident.station_id,
    Dimension.PREMISES: Incident.premises_type,
    Dimension.STATUS: Incident.status,
}


@dataclass(frozen=True)
class StatisticsQuery:
    """A frame [start, end), what to group by, and filters (each a set of allowed values)."""

    start: datetime
    end: datetime
    group_by: tuple[Dimension, ...] = ()
    bucket: Bucket | None = None
    filters: dict[Dimension, tuple[str, ...]] = field(default_factory=dict)

    @property
    def previous(self) -> StatisticsQuery:
        """The equal period just before this one."""
        length = self.end - self.start
        return StatisticsQuery(
            start=self.start - length,
            end=self.start,
            group_by=self.group_by,
            bucket=self.bucket,
            filters=self.filters,
        )


@dataclass
class CountRow:
    keys: dict[str, Any]
    count: int


def bucket_expression(bucket: Bucket, dialect: str) -> ColumnElement[Any]:
    """SQL for the UTC time bucket of occurred_from in this dialect."""
    column = Incident.__table__.c.occurred_from
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        if bucket is Bucket.HOUR_OF_WEEK:
            return (cast(extract("isodow", utc), Integer) - 1) * 24 + cast(
                extract("hour", utc), Integer
            )
        return func.date_trunc(bucket.value, utc)
    # SQLite stores UTC as text 'YYYY-MM-DD HH:MM:SS.ffffff' (records_service.db.UTCDateTime).
    if bucket is Bucket.HOUR:
        return func.substr(column, 1, 13)
    if bucket is Bucket.DAY:
        return func.substr(column, 1, 10)
    if bucket is Bucket.WEEK:
        return func.date(column, "weekday 0", "-6 days")
    if bucket is Bucket.MONTH:
        return func.substr(column, 1, 7)
    if bucket is Bucket.YEAR:
        return func.substr(column, 1, 4)
    weekday = (cast(func.strftime("%w", column), Integer) + 6) % 7
    return weekday * 24 + cast(func.substr(column, 12, 2), Integer)


def bucket_label(bucket: Bucket, value: Any) -> str | int:
    """The same label for a bucket on either dialect."""
    if bucket is Bucket.HOUR_OF_WEEK:
        return int(value)
    text = value.strftime("%Y-%m-%d %H") if isinstance(value, datetime) else str(value)
    if bucket is Bucket.HOUR:
        return f"{text[:10]}T{text[11:13]}:00:00Z"
    if bucket is Bucket.DAY or bucket is Bucket.WEEK:
        return text[:10]
    if bucket is Bucket.MONTH:
        return text[:7]
    return text[:4]


def _where(query: StatisticsQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Incident.occurred_from >= query.start,
        Incident.occurred_from < query.end,
        Incident.deleted_at.is_(None),
    ]
    for dimension, values in query.filters.items():
        if values:
            conditions.append(DIMENSION_COLUMNS[dimension].in_(values))
    return conditions


def _grouped(query: StatisticsQuery, dialect: str) -> Select[Any]:
    columns: list[Any] = []
    if query.bucket is not None:
        columns.append(bucket_expression(query.bucket, dialect).label("bucket"))
    columns.extend(DIMENSION_COLUMNS[d].label(d.value) for d in query.group_by)
    statement = select(*columns, func.count().label("n")).where(and_(*_where(query)))
    if columns:
        positions: list[ColumnElement[Any]] = [
            literal_column(str(i + 1)) for i in range(len(columns))
        ]
        statement = statement.group_by(*positions)
    return statement


def count_rows(session: Session, query: StatisticsQuery) -> list[CountRow]:
    """Counts per group (and bucket), ordered by bucket then group values."""
    dialect = session.get_bind().dialect.name
    rows = session.execute(_grouped(query, dialect)).all()
    result: list[CountRow] = []
    for row in rows:
        keys: dict[str, Any] = {}
        if query.bucket is not None:
            keys["bucket"] = bucket_label(query.bucket, row.bucket)
        for dimension in query.group_by:
            keys[dimension.value] = getattr(row, dimension.value)
        result.append(CountRow(keys=keys, count=int(row.n)))
    result.sort(
        key=lambda r: tuple((v is None, v if v is not None else "") for v in r.keys.values())
    )
    return result


def total(session: Session, query: StatisticsQuery) -> int:
    statement = select(func.count()).select_from(Incident).where(and_(*_where(query)))
    return int(session.execute(statement).scalar_one())


def change(current: int, previous: int) -> dict[str, Any]:
    """Absolute and relative change versus the previous period (percent null when it had 0)."""
    return {
        "previous": previous,
        "absolute": current - previous,
        "percent": round((current - previous) * 100.0 / previous, 2) if previous else None,
    }


RowCounter = Callable[[StatisticsQuery], list[CountRow]]


def sql_counter(session: Session) -> RowCounter:
    """Counting by GROUP BY in the database."""
    return lambda query: count_rows(session, query)


def counts(rows_for: RowCounter, query: StatisticsQuery, *, compare: bool) -> dict[str, Any]:
    """The counts answer for staff: rows, total, and the change versus the previous period."""
    rows = rows_for(query)
    # Every counted incident falls in exactly one row (a missing value is a row of its own).
    answer_total = sum(r.count for r in rows)
    answer: dict[str, Any] = {
        "from": _iso(query.start),
        "to": _iso(query.end),
        "bucket": query.bucket.value if query.bucket else None,
        "group_by": [d.value for d in query.group_by],
        "total": answer_total,
        "rows": [r.keys | {"count": r.count} for r in rows],
    }
    if compare:
        previous_query = query.previous
        answer["previous_period"] = {
            "from": _iso(previous_query.start),
            "to": _iso(previous_query.end),
        }
        if query.bucket is None and query.group_by:
            before_rows = rows_for(previous_query)
            before = {tuple(r.keys.values()): r.count for r in before_rows}
            for row in answer["rows"]:
                key = tuple(row[d.value] for d in query.group_by)
                row["change"] = change(row["count"], before.get(key, 0))
            previous_total = sum(r.count for r in before_rows)
        else:
            plain = StatisticsQuery(
                start=previous_query.start, end=previous_query.end, filters=query.filters
            )
            previous_total = sum(r.count for r in rows_for(plain))
        answer["change"] = change(answer_total, previous_total)
    return answer


def top_areas(rows_for: RowCounter, query: StatisticsQuery, *, limit: int) -> list[dict[str, Any]]:
    """The areas with most incidents in the frame, with their previous-period change."""
    area_query = StatisticsQuery(
        start=query.start, end=query.end, group_by=(Dimension.AREA,), filters=query.filters
    )
    current = [r for r in rows_for(area_query) if r.keys["area"] is not None]
    current.sort(key=lambda r: (-r.count, r.keys["area"]))
    current = current[:limit]
    previous: dict[str, int] = {}
    if current:
        previous = {r.keys["area"]: r.count for r in rows_for(area_query.previous)}
    return [
        {
            "area": r.keys["area"],
            "count": r.count,
            "change": change(r.count, previous.get(r.keys["area"], 0)),
        }
        for r in current
    ]


def suppress(answer: dict[str, Any], *, threshold: int) -> dict[str, Any]:
    """Public version of a counts answer: small cells withheld, total = sum of cells shown."""
    shown = 0
    rows = []
    for row in answer["rows"]:
        public_row = {key: value for key, value in row.items() if key != "change"}
        if row["count"] < threshold:
            public_row["count"] = None
            public_row["suppressed"] = True
        else:
            shown += row["count"]
            public_row["suppressed"] = False
        rows.append(public_row)
    public: dict[str, Any] = {key: answer[key] for key in ("from", "to", "bucket", "group_by")}
    if answer["group_by"] or answer["bucket"]:
        public["total_shown"] = shown
    else:
        public["total_shown"] = answer["total"] if answer["total"] >= threshold else None
    public["rows"] = rows
    public["min_cell"] = threshold
    if "change" in answer:
        previous = answer["change"]["previous"]
        current = answer["total"]
        public["previous_period"] = answer["previous_period"]
        # Both totals are shown only when neither is a small number.
        public["change"] = (
            change(current, previous) if current >= threshold and previous >= threshold else None
        )
    return public


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_filters(
    values: dict[Dimension, Sequence[str] | None],
) -> dict[Dimension, tuple[str, ...]]:
    return {dimension: tuple(v) for dimension, v in values.items() if v}


__all__ = [
    "PUBLIC_MIN_CELL",
    "Bucket",
    "CountRow",
    "Dimension",
    "StatisticsQuery",
    "count_rows",
    "counts",
    "suppress",
    "top_areas",
    "total",
]
