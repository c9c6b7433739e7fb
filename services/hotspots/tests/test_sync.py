"""The feed sync pulls the records export over real HTTP with a client-credentials token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotspots_service.config import Settings
from hotspots_service.main import create_app
from hotspots_service.models import IncidentPoint
from servicekit.db import Database
from servicekit.testing import TokenFactory, clear_tables


class FakeRecords:
    """A contract-shaped export feed and token endpoint served by a real HTTP server."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.cursors_seen: list[str | None] = []
        self.corrupt_after: int | None = None

    def add(self, line: dict[str, Any]) -> None:
        line = {"cursor": f"c{len(self.lines) + 1:06d}", **line}
        self.lines.append(line)

    def page(self, cursor: str | None, limit: int) -> str:
        start = 0
        if cursor:
            start = next(i for i, line in enumerate(self.lines) if line["cursor"] == cursor) + 1
        chunk = self.lines[start : start + limit]
        body = "".join(json.dumps(line) + "\n" for line in chunk)
        if self.corrupt_after is not None and start >= self.corrupt_after and chunk:
            body = body + "{not json\n"
        return body


def _handler(state: FakeRecords) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            if (
                self.path != "/api/v1/auth/token"
                or form.get("grant_type") != ["client_credentials"]
                or form.get("client_id") != ["hotspots"]
                or form.get("client_secret") != ["s3cret-value"]
            ):
                self._send(401, '{"title":"bad client"}', "application/problem+json")
                return
            state.tokens_issued += 1
            token = f"token-{state.tokens_issued}"
            state.valid_tokens.add(token)
            body = {"access_token": token, "token_type": "Bearer", "expires_in": 900}
            self._send(200, json.dumps(body), "application/json")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/api/v1/records/export/incidents":
                self._send(404, "{}", "application/problem+json")
                return
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in state.valid_tokens:
                self._send(401, "{}", "application/problem+json")
                return
            query = parse_qs(url.query)
            cursor = query.get("cursor", [None])[0]
            state.cursors_seen.append(cursor)
            limit = int(query.get("limit", ["1000"])[0])
            self._send(200, state.page(cursor, limit), "application/x-ndjson")

    return Handler


@pytest.fixture
def records() -> Iterator[tuple[FakeRecords, str]]:
    state = FakeRecords()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def synced_client(
    records: tuple[FakeRecords, str], database_url: str, token_factory: TokenFactory
) -> Iterator[TestClient]:
    _, url = records
    settings = Settings(
        database_url=database_url,
        auth_url=url,
        records_url=url,
        client_id="hotspots",
        client_secret="s3cret-value",
        sync_page_size=2,
        sync_interval_seconds=0,
    )
    app = create_app(settings, verifier=token_factory.verifier())
    with TestClient(app) as client:
        yield client
    from hotspots_service.models import Base

    clear_tables(database_url, Base.metadata)


def _incident(n: int, **overrides: Any) -> dict[str, Any]:
    line = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "crime_id": f"CR-2026-{n:06d}",
        "deleted": False,
        "category": "burglary",
        "source_code": "Break and Enter",
        "occurred_from": "2026-03-01T10:00:00Z",
        "occurred_to": None,
        "reported_at": "2026-03-01T12:00:00+00:00",
        "lat": 43.65 + n / 1000,
        "lon": -79.38,
        "area": "Downtown",
        "premises_type": "House",
        "station_id": "ST-1",
        "status": "reported",
        "updated_at": "2026-03-01T12:00:00Z",
    }
    line.update(overrides)
    return line


def _points(database_url: str) -> dict[str, IncidentPoint]:
    database = Database(database_url)
    try:
        with database.session(write=False) as session:
            return {p.id: p for p in session.scalars(select(IncidentPoint))}
    finally:
        database.dispose()


def test_sync_copies_incidents_applies_tombstones_and_resumes_from_cursor(
    records: tuple[FakeRecords, str],
    synced_client: TestClient,
    database_url: str,
    token_factory: TokenFactory,
) -> None:
    state, _ = records
    for n in range(1, 6):
        state.add(_incident(n))
    headers = token_factory.headers(roles=["analyst"])
    first = synced_client.post("/api/v1/hotspots/sync", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["upserted"] == 5
    assert first.json()["pages"] == 3  # page size 2
    assert first.json()["cursor"] == "c000005"
    points = _points(database_url)
    assert len(points) == 5
    assert points[_incident(3)["id"]].category == "burglary"

    # a change, a tombstone and a new incident arrive; the sync resumes after c000005
    state.add(_incident(2, category="robbery", updated_at="2026-03-02T00:00:00Z"))
    state.add(
        {
            "id": _incident(4)["id"],
            "crime_id": "CR-2026-000004",
            "deleted": True,
            "updated_at": "2026-03-02T00:00:00Z",
        }
    )
    state.add(_incident(6, lat=None, lon=None))
    state.cursors_seen.clear()
    second = synced_client.post("/api/v1/hotspots/sync", headers=headers).json()
    assert state.cursors_seen[0] == "c000005"
    assert second["upserted"] == 2
    assert second["deleted"] == 1
    points = _points(database_url)
    assert set(points) == {_incident(n)["id"] for n in (1, 2, 3, 5, 6)}
    assert points[_incident(2)["id"]].category == "robbery"
    assert points[_incident(6)["id"]].lat is None
    status = synced_client.get("/api/v1/hotspots/sync", headers=headers).json()
    assert status["cursor"] == "c000008"
    assert status["incident_points"] == 5
    assert state.tokens_issued == 1  # the token is cached between pages and runs


def test_sync_renews_a_rejected_token(
    records: tuple[FakeRecords, str], synced_client: TestClient, token_factory: TokenFactory
) -> None:
    state, _ = records
    state.add(_incident(1))
    headers = token_factory.headers(roles=["admin"])
    assert synced_client.post("/api/v1/hotspots/sync", headers=headers).status_code == 200
    state.valid_tokens.clear()  # e.g. auth rotated its keys
    state.add(_incident(2))
    response = synced_client.post("/api/v1/hotspots/sync", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["upserted"] == 1
    assert state.tokens_issued == 2


def test_malformed_page_changes_nothing_and_keeps_the_cursor(
    records: tuple[FakeRecords, str],
    synced_client: TestClient,
    database_url: str,
    token_factory: TokenFactory,
) -> None:
    state, _ = records
    for n in range(1, 5):
        state.add(_incident(n))
    state.corrupt_after = 2  # the second page carries a broken line
    headers = token_factory.headers(roles=["analyst"])
    response = synced_client.post("/api/v1/hotspots/sync", headers=headers)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert len(_points(database_url)) == 2  # the first page only
    status = synced_client.get("/api/v1/hotspots/sync", headers=headers).json()
    assert status["cursor"] == "c000002"
    assert "not JSON" in status["last_error"]


def test_only_analysts_and_admins_may_trigger_a_sync(
    synced_client: TestClient, token_factory: TokenFactory
) -> None:
    response = synced_client.post(
        "/api/v1/hotspots/sync", headers=token_factory.headers(roles=["officer"])
    )
    assert response.status_code == 403


def test_background_sync_pulls_the_feed_periodically(
    records: tuple[FakeRecords, str], database_url: str, token_factory: TokenFactory
) -> None:
    import time

    from hotspots_service.models import Base

    state, url = records
    state.add(_incident(1))
    settings = Settings(
        database_url=database_url,
        auth_url=url,
        records_url=url,
        client_id="hotspots",
        client_secret="s3cret-value",
        sync_interval_seconds=0.2,
    )
    app = create_app(settings, verifier=token_factory.verifier())
    try:
        with TestClient(app):
            deadline = time.monotonic() + 10
            while len(_points(database_url)) < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(_points(database_url)) == 1
            state.add(_incident(2))
            while len(_points(database_url)) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(_points(database_url)) == 2
    finally:
        clear_tables(database_url, Base.metadata)
