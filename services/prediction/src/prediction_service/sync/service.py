"""Incremental copy of incidents from the records export feed (NDJSON, resumable by cursor).

The client gets a client-credentials token from auth, asks the feed for what follows the stored
cursor, and applies each page in one transaction together with the new cursor. The cursor is
advanced with a compare-and-set, so two replicas syncing at once cannot move it backwards;
applying a line is an idempotent upsert or delete, so a page applied twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from prediction_service.config import Settings
from prediction_service.sync.models import Incident, SyncState
from prediction_service.timeutil import parse_instant, utcnow
from servicekit.db import Database
from servicekit.errors import Conflict, ServiceUnavailable
from servicekit.feed import ExportFeedClient, FeedMalformed
from servicekit.logging import get_logger

log = get_logger(__name__)

FEED_NAME = "incidents"


class SyncNotConfigured(ServiceUnavailable):
    type_slug, title = "sync-not-configured", "Incident sync is not configured"


@dataclass
class SyncResult:
    upserted: int = 0
    deleted: int = 0
    pages: int = 0
    cursor: str | None = None


def _record_of(line: dict[str, Any]) -> dict[str, Any]:
    lat, lon = line.get("lat"), line.get("lon")
    return {
        "id": str(line["id"]),
        "crime_id": line.get("crime_id"),
        "category": str(line["category"]),
        "source_code": line.get("source_code"),
        "occurred_from": parse_instant(line["occurred_from"]),
        "occurred_to": parse_instant(line.get("occurred_to")),
        "reported_at": parse_instant(line.get("reported_at")),
        "lat": float(lat) if lat is not None else None,
        "lon": float(lon) if lon is not None else None,
        "area": line.get("area"),
        "premises_type": line.get("premises_type"),
        "station_id": None if line.get("station_id") is None else str(line["station_id"]),
        "status": line.get("status"),
        "updated_at": parse_instant(line.get("updated_at")),
    }


def check_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate a page's live lines before anything is written; one bad line fails the page."""
    for number, line in enumerate(lines, start=1):
        if line.get("deleted"):
            continue
        try:
            _record_of(line)
        except (ValueError, KeyError, TypeError) as exc:
            raise FeedMalformed(f"line {number} of the feed is not valid: {exc}") from exc
    return lines


def load_state(session: Session) -> SyncState:
    state = session.get(SyncState, FEED_NAME)
    if state is None:
        state = SyncState(name=FEED_NAME, cursor=None, upserted_total=0, deleted_total=0, version=1)
        session.add(state)
        session.flush()
    return state


def apply_page(
    session: Session, *, lines: list[dict[str, Any]], expected_cursor: str | None
) -> tuple[int, int]:
    """Apply one page and move the cursor, or apply nothing if another replica moved it first."""
    state = load_state(session)
    moved = session.execute(
        update(SyncState)
        .where(SyncState.name == FEED_NAME, SyncState.version == state.version)
        .where(
            SyncState.cursor.is_(None)
            if expected_cursor is None
            else SyncState.cursor == expected_cursor
        )
        .values(
            cursor=lines[-1]["cursor"],
            version=SyncState.version + 1,
            last_success_at=utcnow(),
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", moved).rowcount != 1:
        raise Conflict("another replica advanced the sync cursor first")
    now = utcnow()
    upserted = deleted = 0
    for line in lines:
        incident_id = str(line["id"])
        if line.get("deleted"):
            deleted += (
                cast(
                    "CursorResult[Any]",
                    session.execute(delete(Incident).where(Incident.id == incident_id)),
                ).rowcount
                or 0
            )
            continue
        values = _record_of(line)
        existing = session.get(Incident, incident_id)
        if existing is None:
            session.add(Incident(**values, synced_at=now))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
            existing.synced_at = now
        upserted += 1
        session.flush()
    session.execute(
        update(SyncState)
        .where(SyncState.name == FEED_NAME)
        .values(
            upserted_total=SyncState.upserted_total + upserted,
            deleted_total=SyncState.deleted_total + deleted,
        )
        .execution_options(synchronize_session=False)
    )
    return upserted, deleted


class IncidentSync:
    """Pulls the records export feed into the local incident copy."""

    def __init__(self, *, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self._feed: ExportFeedClient | None = None  # kept, so its token is reused across runs

    def close(self) -> None:
        if self._feed is not None:
            self._feed.close()
            self._feed = None

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.records_url and s.auth_url and s.client_secret)

    async def run(self, *, max_pages: int | None = None) -> SyncResult:
        """Fetch and apply pages until the feed is caught up (an empty page)."""
        from starlette.concurrency import run_in_threadpool

        if not self.configured:
            raise SyncNotConfigured(
                "Set PREDICTION_RECORDS_URL, PREDICTION_AUTH_URL and PREDICTION_CLIENT_SECRET."
            )
        s = self.settings
        assert s.records_url
        assert s.auth_url
        assert s.client_secret
        result = SyncResult()
        if self._feed is None:
            self._feed = ExportFeedClient(
                auth_url=s.auth_url,
                records_url=s.records_url,
                client_id=s.client_id,
                client_secret=s.client_secret,
                page_size=s.sync_page_size,
            )
        feed = self._feed
        cursor = await run_in_threadpool(self._cursor)
        while max_pages is None or result.pages < max_pages:
            lines = check_lines(await run_in_threadpool(feed.fetch_page, cursor))
            if not lines:
                break
            upserted, deleted = await run_in_threadpool(self._apply, lines, cursor)
            result.upserted += upserted
            result.deleted += deleted
            result.pages += 1
            cursor = lines[-1]["cursor"]
        result.cursor = cursor
        log.info(
            "sync.finished", upserted=result.upserted, deleted=result.deleted, pages=result.pages
        )
        return result

    def _cursor(self) -> str | None:
        with self.database.session() as session:
            state = load_state(session)
            state.last_run_at = utcnow()
            return state.cursor

    def _apply(self, lines: list[dict[str, Any]], cursor: str | None) -> tuple[int, int]:
        with self.database.session() as session:
            return apply_page(session, lines=lines, expected_cursor=cursor)

    def record_error(self, error: str) -> None:
        with self.database.session() as session:
            state = load_state(session)
            state.last_error = error[:2000]


def incident_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Incident)) or 0)
