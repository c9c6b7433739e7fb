"""Statistics API: /api/v1/records/statistics (staff) and .../statistics/public (anyone)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from records_service.statistics.columns import IncidentColumns
from records_service.statistics.service import (
    PUBLIC_MIN_CELL,
    Bucket,
    Dimension,
    RowCounter,
    StatisticsQuery,
    counts,
    sql_counter,
    suppress,
    top_areas,
)
from records_service.validation import FilterTime, Text
from servicekit.db import SessionDep
from servicekit.errors import UnprocessableContent
from servicekit.security import (
    ROLE_ADMIN,
    ROLE_ANALYST,
    ROLE_OFFICER,
    ROLE_SUPERVISOR,
    OptionalPrincipal,
    Principal,
    require_roles,
)

router = APIRouter(prefix="/api/v1/records/statistics", tags=["statistics"])

StaffDep = Annotated[
    Principal, Depends(require_roles(ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER, ROLE_ANALYST))
]
DEFAULT_FRAME = timedelta(days=30)
# Public answers may be grouped by these only (no station: small stations make small cells).
PUBLIC_DIMENSIONS = frozenset({Dimension.CATEGORY, Dimension.AREA, Dimension.PREMISES})


def frame_query(
    start: Annotated[
        FilterTime | None,
        Query(alias="from", description="start of the frame, inclusive (ISO 8601 with offset)"),
    ] = None,
    end: Annotated[
        FilterTime | None, Query(alias="to", description="end of the frame, exclusive")
    ] = None,
    group_by: Annotated[
        list[Dimension] | None, Query(description="dimensions to count by (repeatable)")
    ] = None,
    bucket: Annotated[Bucket | None, Query(description="time bucket (UTC)")] = None,
    category: Annotated[list[Text] | None, Query(max_length=64)] = None,
    area: Annotated[list[Text] | None, Query(max_length=200)] = None,
    station_id: Annotated[list[Text] | None, Query(max_length=64)] = None,
    premises_type: Annotated[list[Text] | None, Query(max_length=100)] = None,
    status: Annotated[list[Text] | None, Query(max_length=32)] = None,
) -> StatisticsQuery:
    """The frame (default: the last 30 days), grouping and filters of a statistics request."""
    now = datetime.now(UTC)
    end = _aware(end, "to") if end is not None else now
    start = _aware(start, "from") if start is not None else end - DEFAULT_FRAME
    if start >= end:
        raise UnprocessableContent(
            "The frame is empty.", errors=[{"field": "from", "message": "must be before to"}]
        )
    dimensions = tuple(dict.fromkeys(group_by or ()))
    filters = {
        Dimension.CATEGORY: category,
        Dimension.AREA: area,
        Dimension.STATION: station_id,
        Dimension.PREMISES: premises_type,
        Dimension.STATUS: status,
    }
    return StatisticsQuery(
        start=start,
        end=end,
        group_by=dimensions,
        bucket=bucket,
        filters={key: tuple(values) for key, values in filters.items() if values},
    )


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise UnprocessableContent(
            "Times need an offset.", errors=[{"field": name, "message": "add Z or +hh:mm"}]
        )
    return value.astimezone(UTC)


FrameDep = Annotated[StatisticsQuery, Depends(frame_query)]


_CREATE_LOCK = threading.Lock()


def incident_columns(request: Request) -> IncidentColumns:
    """This process's columnar copy of the incidents (made on first use)."""
    state = request.app.state
    with _CREATE_LOCK:
        columns: IncidentColumns | None = getattr(state, "incident_columns", None)
        if columns is None:
            columns = IncidentColumns()
            state.incident_columns = columns
    return columns


@contextmanager
def row_counter(request: Request, session: Session) -> Iterator[RowCounter]:
    """Count in memory when this process's columns are loaded, else in SQL (same numbers)."""
    columns = incident_columns(request)
    if not columns.ready:
        columns.ensure_loading(request.app.state.database, session)
    if columns.ready:
        with columns.lock:
            columns.refresh(session)
            yield columns.count_rows
    else:
        yield sql_counter(session)


@router.get("/counts")
def staff_counts(
    request: Request,
    session: SessionDep,
    _principal: StaffDep,
    query: FrameDep,
    compare: Annotated[bool, Query(description="add the change vs the previous period")] = True,
) -> dict[str, Any]:
    """Incident counts by any dimensions and time bucket, with the previous equal period."""
    with row_counter(request, session) as rows_for:
        return counts(rows_for, query, compare=compare)


@router.get("/top-areas")
def staff_top_areas(
    request: Request,
    session: SessionDep,
    _principal: StaffDep,
    query: FrameDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """The areas with most incidents in the frame, with their change vs the previous period."""
    with row_counter(request, session) as rows_for:
        areas = top_areas(rows_for, query, limit=limit)
    return {"from": query.start.isoformat(), "to": query.end.isoformat(), "areas": areas}


@router.get("/public/counts")
def public_counts(
    request: Request,
    session: SessionDep,
    _principal: OptionalPrincipal,
    query: FrameDep,
    min_cell: Annotated[
        int, Query(ge=PUBLIC_MIN_CELL, le=1000, description="suppress cells below this count")
    ] = PUBLIC_MIN_CELL,
) -> dict[str, Any]:
    """Public aggregates for citizens and anyone: cells below `min_cell` are withheld."""
    not_public = [d.value for d in query.group_by if d not in PUBLIC_DIMENSIONS]
    if not_public or Dimension.STATION in query.filters:
        raise UnprocessableContent(
            "Public statistics group by category, area and premises type only.",
            errors=[{"field": "group_by", "message": f"not public: {', '.join(not_public)}"}],
        )
    with row_counter(request, session) as rows_for:
        answer = counts(rows_for, query, compare=True)
    return suppress(answer, threshold=min_cell)
