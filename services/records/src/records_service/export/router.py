"""GET /api/v1/records/export/incidents: the change feed for prediction, hotspots and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from records_service.export.service import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    changes_after,
    csv_lines,
    ndjson_lines,
    parse_cursor,
)
from records_service.validation import Text
from servicekit.db import DatabaseDep
from servicekit.security import ROLE_ADMIN, ROLE_SERVICE, Principal, require_roles

router = APIRouter(prefix="/api/v1/records/export", tags=["export"])

NDJSON = "application/x-ndjson"
CSV = "text/csv"


@router.get(
    "/incidents",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}, CSV: {}}}},
)
def export_incidents(
    request: Request,
    database: DatabaseDep,
    _principal: Annotated[Principal, Depends(require_roles(ROLE_SERVICE, ROLE_ADMIN))],
    cursor: Annotated[
        Text | None, Query(max_length=200, description="cursor of the last line applied")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> StreamingResponse:
    """Incidents changed after `cursor`, oldest change first; an empty body means caught up."""
    after = parse_cursor(cursor)
    lines = changes_after(database, after=after, limit=limit)
    accept = request.headers.get("accept", "")
    if CSV in accept and NDJSON not in accept:
        return StreamingResponse(
            csv_lines(lines),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="incidents.csv"'},
        )
    return StreamingResponse(ndjson_lines(lines), media_type=NDJSON)
