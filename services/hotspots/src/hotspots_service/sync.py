"""Incremental copy of incident points from the records export feed (client credentials)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotspots_service.config import Settings
from hotspots_service.models import IncidentPoint, SyncState
from servicekit.db import Database
from servicekit.errors import ServiceUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

FEED = "records.incidents"
EXPORT_PATH = "/api/v1/records/export/incidents"
TOKEN_PATH = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)
NDJSON = "application/x-ndjson"


class FeedUnavailable(ServiceUnavailable):
    type_slug, title = "feed-unavailable", "The records export feed could not be read"


class FeedMalformed(ServiceUnavailable):
    type_slug, title = "feed-malformed", "The records export feed sent a line we cannot apply"


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


class RecordsFeed:
    """HTTP client of the export feed; fetches and caches a client-credentials token."""

    def __init__(
        self,
        *,
        auth_url: str,
        records_url: str,
        client_id: str,
        client_secret: str,
        page_size: int = 5000,
        timeout: float = 30.0,
    ) -> None:
        self.token_url = auth_url.rstrip("/")
        if not self.token_url.endswith("/token"):
            self.token_url += TOKEN_PATH
        self.export_url = records_url.rstrip("/") + EXPORT_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordsFeed | None:
        """The feed client, or None when the service account is not configured."""
        if not (settings.auth_url and settings.records_url and settings.client_secret):
            return None
        return cls(
            auth_url=settings.auth_url,
            records_url=settings.records_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            page_size=settings.sync_page_size,
        )

    def close(self) -> None:
        self._client.close()

    def _access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.monotonic() >= self._token_expires:
                try:
                    response = self._client.post(
                        self.token_url,
                        data={
                            "grant_type": "client_credentials",
                            "client_id": self.client_id,
                            "client_secret": self.client_secret,
                        },
                    )
                except httpx.HTTPError as exc:
                    raise FeedUnavailable(f"auth unreachable: {type(exc).__name__}") from exc
                if response.status_code != 200:
                    raise FeedUnavailable(
                        f"auth refused the service account (HTTP {response.status_code})"
                    )
                body = response.json()
                self._token = str(body["access_token"])
                lifetime = float(body.get("expires_in", 300))
                self._token_expires = time.monotonic() + max(5.0, lifetime - 30.0)
            return self._token

    def fetch_page(self, cursor: str | None) -> list[dict[str, Any]]:
        """One page of feed lines after `cursor` (an empty list when caught up)."""
        params: dict[str, Any] = {"limit": self.page_size}
        if cursor:
            params["cursor"] = cursor
        for attempt in range(2):
            headers = {
                "Authorization": f"Bearer {self._access_token(renew=attempt > 0)}",
                "Accept": NDJSON,
            }
            try:
                response = self._client.get(self.export_url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise FeedUnavailable(f"records unreachable: {type(exc).__name__}") from exc
            if response.status_code == 401 and attempt == 0:
                continue  # token expired or keys rotated: fetch a new one once
            if response.status_code != 200:
                raise FeedUnavailable(f"records export answered HTTP {response.status_code}")
            lines = []
            for number, raw in enumerate(response.text.splitlines(), start=1):
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise FeedMalformed(f"line {number} is not JSON") from exc
                if not isinstance(line, dict) or "cursor" not in line or "id" not in line:
                    raise FeedMalformed(f"line {number} lacks cursor or id")
                lines.append(line)
            return lines
        raise FeedUnavailable("records export refused the service token")


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


def sync_once(database: Database, feed: RecordsFeed, *, max_pages: int | None = None) -> SyncReport:
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
