"""Incremental copy of incident points from the records export feed (client credentials)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspots_service.config import Settings
from hotspots_service.models import IncidentPoint, SyncState
from servicekit.db import Database
from servicekit.feed import ExportFeedClient, FeedMalformed, FeedUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

FEED = "records.incidents"


def _parse_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _coordinate(value: Any, limit: float) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not -limit <= number <= limit:
        raise ValueError(f"coordinate out of range: {number}")
    return number


def records_feed(settings: Settings) -> ExportFeedClient | None:
    """The feed client, or None when the service account is not configured."""
    if not (settings.auth_url and settings.records_url and settings.client_secret):
        return None
    return ExportFeedClient(
        auth_url=settings.auth_url,
        records_url=settings.records_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        page_size=settings.sync_page_size,
    )


@dataclass
class SyncReport:
    pages: int = 0
    upserted: int = 0
    deleted: int = 0
    cursor: str | None = None
    data_version: int = 0


def _state(session: Session) -> SyncState:
    state = session.get(SyncState, FEED)
    if state is None:
        state = SyncState(feed=FEED, cursor=None, data_version=0, applied_total=0, deleted_total=0)
        session.add(state)
        session.flush()
    return state


def apply_lines(session: Session, lines: list[dict[str, Any]]) -> tuple[int, int]:
    """Upsert live lines and delete tombstoned ids, in feed order; returns (upserted, deleted)."""
    ids = list({str(line["id"]) for line in lines})
    known = {
        point.id: point
        for point in session.scalars(select(IncidentPoint).where(IncidentPoint.id.in_(ids)))
    }
    upserted = deleted = 0
    for number, line in enumerate(lines, start=1):
        incident_id = str(line["id"])
        try:
            if line.get("deleted"):
                point = known.pop(incident_id, None)
                if point is not None:
                    if point in session.new:
                        session.expunge(point)
                    else:
                        session.delete(point)
                deleted += 1
                continue
            occurred = _parse_time(line.get("occurred_from")) or _parse_time(
                line.get("reported_at")
            )
            if occurred is None:
                raise ValueError("no occurred_from or reported_at")
            values = {
                "crime_id": line.get("crime_id"),
                "category": str(line["category"])[:32],
                "occurred_at": occurred,
                "lat": _coordinate(line.get("lat"), 90.0),
                "lon": _coordinate(line.get("lon"), 180.0),
                "area": (str(line["area"])[:200] if line.get("area") else None),
                "premises_type": (
                    str(line["premises_type"])[:100] if line.get("premises_type") else None
                ),
                "station_id": (str(line["station_id"]) if line.get("station_id") else None),
                "updated_at": _parse_time(line.get("updated_at")),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise FeedMalformed(f"line {number} of the page cannot be applied: {exc}") from exc
        point = known.get(incident_id)
        if point is None:
            point = IncidentPoint(id=incident_id, **values)
            session.add(point)
            known[incident_id] = point
        else:
            for key, value in values.items():
                setattr(point, key, value)
        upserted += 1
    session.flush()
    return upserted, deleted


_sync_lock = threading.Lock()


def sync_once(
    database: Database, feed: ExportFeedClient, *, max_pages: int | None = None
) -> SyncReport:
    """Apply feed pages until caught up; each page and its cursor commit together."""
    report = SyncReport()
    with _sync_lock:
        while max_pages is None or report.pages < max_pages:
            with database.session() as session:
                cursor = _state(session).cursor
            try:
                lines = feed.fetch_page(cursor)
            except (FeedUnavailable, FeedMalformed) as exc:
                with database.session() as session:
                    _state(session).last_error = exc.detail
                log.warning("sync.failed", error=exc.detail)
                raise
            with database.session() as session:
                state = _state(session)
                if state.cursor != cursor:  # another replica moved on; start from there
                    continue
                state.last_synced_at = datetime.now(UTC)
                state.last_error = None
                if not lines:
                    report.cursor = state.cursor
                    report.data_version = state.data_version
                    break
                upserted, deleted = apply_lines(session, lines)
                state.cursor = str(lines[-1]["cursor"])
                state.data_version += 1
                state.applied_total += upserted
                state.deleted_total += deleted
                report.pages += 1
                report.upserted += upserted
                report.deleted += deleted
                report.cursor = state.cursor
                report.data_version = state.data_version
        log.info("sync.done", pages=report.pages, upserted=report.upserted, deleted=report.deleted)
    return report


def data_version(session: Session) -> int:
    state = session.get(SyncState, FEED)
    return state.data_version if state else 0
