"""The incident export feed: every change since a cursor, in change order.

Order and resumption come from `incidents.change_seq`. Writers take that number from a counter
row that stays locked until they commit (see records_service.sequences), so transactions commit
in the order of their numbers and a reader never sees number N+1 before N is committed or gone:
a consumer that stores the cursor of the last line it applied can never skip a change.

Deleted incidents are sent as tombstones. Sealed incidents are sent as tombstones too: the feed
goes to other services and integrators, and a sealed record must not leave records; when it is
unsealed, its next change number sends it again as a live line. (Statistics still count sealed
incidents, deleted ones not; see records_service.statistics.)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from records_service.incidents.models import Incident
from servicekit.db import Database
from servicekit.errors import BadRequest
from servicekit.pagination import decode_cursor, encode_cursor

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
CHUNK = 500

LIVE_FIELDS = (
    "cursor", "id", "crime_id", "deleted", "category", "source_code", "occurred_from",
    "occurred_to", "reported_at", "lat", "lon", "area", "premises_type", "station_id", "status",
    "updated_at",
)  # fmt: skip

_COLUMNS = (
    Incident.change_seq,
    Incident.id,
    Incident.crime_id,
    Incident.deleted_at,
    Incident.sealed,
    Incident.category,
    Incident.source_code,
    Incident.occurred_from,
    Incident.occurred_to,
    Incident.reported_at,
    Incident.lat,
    Incident.lon,
    Incident.area,
    Incident.premises_type,
    Incident.station_id,
    Incident.status,
    Incident.updated_at,
)


def parse_cursor(cursor: str | None) -> int:
    """The change number a cursor stands for (0 = from the beginning); 400 when not ours."""
    if not cursor:
        return 0
    position = decode_cursor(cursor)
    if len(position) != 2 or position[0] != "x" or not isinstance(position[1], int):
        raise BadRequest("The cursor is not valid; start again without it.")
    if position[1] < 0:
        raise BadRequest("The cursor is not valid; start again without it.")
    return position[1]


def make_cursor(change_seq: int) -> str:
    return encode_cursor(["x", change_seq])


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def feed_line(row: Any) -> dict[str, Any]:
    """One line of the feed for one incident row."""
    cursor = make_cursor(row.change_seq)
    if row.deleted_at is not None or row.sealed:
        return {
            "cursor": cursor,
            "id": row.id,
            "crime_id": row.crime_id,
            "deleted": True,
            "updated_at": _iso(row.updated_at),
        }
    return {
        "cursor": cursor,
        "id": row.id,
        "crime_id": row.crime_id,
        "deleted": False,
        "category": row.category,
        "source_code": row.source_code,
        "occurred_from": _iso(row.occurred_from),
        "occurred_to": _iso(row.occurred_to),
        "reported_at": _iso(row.reported_at),
        "lat": row.lat,
        "lon": row.lon,
        "area": row.area,
        "premises_type": row.premises_type,
        "station_id": row.station_id,
        "status": row.status,
        "updated_at": _iso(row.updated_at),
    }


def changes_after(database: Database, *, after: int, limit: int) -> Iterator[dict[str, Any]]:
    """Up to `limit` feed lines after change number `after`, read in chunks."""
    remaining = limit
    position = after
    while remaining > 0:
        size = min(CHUNK, remaining)
        with database.session(write=False) as session:
            rows = session.execute(
                select(*_COLUMNS)
                .where(Incident.change_seq > position)
                .order_by(Incident.change_seq)
                .limit(size)
            ).all()
        for row in rows:
            yield feed_line(row)
        if len(rows) < size:
            return
        position = rows[-1].change_seq
        remaining -= len(rows)


def ndjson_lines(lines: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for line in lines:
        yield json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def csv_lines(lines: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """CSV for people: a header, then one row per line (tombstones leave live fields empty)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LIVE_FIELDS, extrasaction="ignore")
    writer.writeheader()
    yield buffer.getvalue().encode()
    for line in lines:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow({key: "" if value is None else value for key, value in line.items()})
        yield buffer.getvalue().encode()
