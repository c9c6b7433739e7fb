"""Incremental sync from a records export feed served over real HTTP (a test double of records
and auth that follows the contract in common.md: NDJSON lines with cursors, tombstones)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from prediction_service.config import Settings
from prediction_service.main import create_app
from prediction_service.models import Base
from prediction_service.sync.models import Incident, SyncState
from servicekit.db import normalize_url
from servicekit.testing import TokenFactory, free_port

API = "/api/v1/prediction"
SECRET = "s3cret-of-prediction"


@dataclass
class FeedServer:
    """Serves /api/v1/auth/token and /api/v1/records/export/incidents from a list of lines."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    cursors_seen: list[str | None] = field(default_factory=list)
    tokens_issued: int = 0
    url: str = ""

    def add_incident(self, incident_id: str, category: str, **overrides: Any) -> None:
        line = {
            "id": incident_id,
            "crime_id": f"CR-2026-{len(self.lines):06d}",
            "deleted": False,
            "category": category,
            "source_code": category.upper(),
            "occurred_from": "2026-01-05T21:15:00Z",
            "occurred_to": None,
            "reported_at": "2026-01-05T22:00:00+00:00",
            "lat": 43.65,
            "lon": -79.38,
            "area": "Downtown",
            "premises_type": "Commercial",
            "station_id": "ST-1",
            "status": "reported",
            "updated_at": "2026-01-05T22:00:00Z",
            **overrides,
        }
        self.lines.append(line)

    def add_tombstone(self, incident_id: str) -> None:
        self.lines.append(
            {
                "id": incident_id,
                "crime_id": None,
                "deleted": True,
                "updated_at": "2026-01-06T00:00:00Z",
            }
        )

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/auth/token")
        def token(
            grant_type: str = Form(), client_id: str = Form(), client_secret: str = Form()
        ) -> JSONResponse:
            if (
                grant_type != "client_credentials"
                or client_id != "prediction"
                or client_secret != SECRET
            ):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.tokens_issued += 1
            return JSONResponse(
                {
                    "access_token": f"tok-{self.tokens_issued}",
                    "token_type": "Bearer",
                    "expires_in": 900,
                }
            )

        @app.get("/api/v1/records/export/incidents")
        def export(
            request: Request,
            limit: int = 1000,
            cursor: str | None = None,
            authorization: str = Header(""),
        ) -> Response:
            if not authorization.startswith("Bearer tok-"):
                return JSONResponse({"status": 401}, status_code=401)
            self.cursors_seen.append(cursor)
            start = int(cursor.removeprefix("c")) + 1 if cursor else 0
            page = self.lines[start : start + limit]
            body = "".join(
                json.dumps({**line, "cursor": f"c{start + i}"}) + "\n"
                for i, line in enumerate(page)
            )
            return Response(body, media_type="application/x-ndjson")

        return app


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server_state = FeedServer()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(server_state.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    server_state.url = f"http://127.0.0.1:{port}"
    yield server_state
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def synced_client(
    database_url: str, feed: FeedServer, token_factory: TokenFactory
) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        records_url=feed.url,
        auth_url=feed.url,
        client_secret=SECRET,
        sync_interval_seconds=0,
        job_poll_seconds=0,
        sync_page_size=2,
    )
    app = create_app(settings, verifier=token_factory.verifier())
    with TestClient(app) as client:
        yield client
    from servicekit.testing import clear_tables

    clear_tables(database_url, Base.metadata)


def _incidents(database_url: str) -> dict[str, Incident]:
    engine = create_engine(normalize_url(database_url))
    with Session(engine) as session:
        rows = {i.id: i for i in session.scalars(select(Incident))}
        session.expunge_all()
    engine.dispose()
    return rows


def test_sync_copies_resumes_from_cursor_and_applies_tombstones(
    synced_client: TestClient, feed: FeedServer, database_url: str, analyst: dict[str, str]
) -> None:
    for n in range(5):
        feed.add_incident(
            f"00000000-0000-0000-0000-00000000000{n}", "theft" if n % 2 else "assault"
        )
    first = synced_client.post(f"{API}/sync", headers=analyst)
    assert first.status_code == 200, first.text
    assert first.json() | {"cursor": None} == {
        "upserted": 5,
        "deleted": 0,
        "pages": 3,
        "cursor": None,
        "incidents": 5,
    }
    assert first.json()["cursor"] == "c4"
    stored = _incidents(database_url)
    assert stored["00000000-0000-0000-0000-000000000001"].category == "theft"
    assert stored["00000000-0000-0000-0000-000000000001"].occurred_from.hour == 21
    assert feed.cursors_seen == [None, "c1", "c3", "c4"]  # pages of 2, then the empty body

    # Changes: one incident recategorised, one deleted, one new.
    feed.add_incident("00000000-0000-0000-0000-000000000001", "robbery", lat=None, lon=None)
    feed.add_tombstone("00000000-0000-0000-0000-000000000002")
    feed.add_incident("00000000-0000-0000-0000-000000000009", "burglary")
    feed.cursors_seen.clear()
    second = synced_client.post(f"{API}/sync", headers=analyst).json()
    assert feed.cursors_seen[0] == "c4"  # resumed where it stopped
    assert (second["upserted"], second["deleted"], second["incidents"]) == (2, 1, 5)
    stored = _incidents(database_url)
    assert "00000000-0000-0000-0000-000000000002" not in stored
    assert stored["00000000-0000-0000-0000-000000000001"].category == "robbery"
    assert stored["00000000-0000-0000-0000-000000000001"].lat is None
    assert stored["00000000-0000-0000-0000-000000000009"].category == "burglary"

    # Caught up: nothing new, nothing changes.
    third = synced_client.post(f"{API}/sync", headers=analyst).json()
    assert (third["upserted"], third["deleted"], third["pages"]) == (0, 0, 0)
    status = synced_client.get(f"{API}/sync", headers=analyst).json()
    assert status["cursor"] == "c7"
    assert status["upserted_total"] == 7
    assert status["deleted_total"] == 1
    assert feed.tokens_issued == 1  # the token is reused until it nears expiry


def test_a_bad_feed_line_changes_nothing(
    synced_client: TestClient, feed: FeedServer, database_url: str, analyst: dict[str, str]
) -> None:
    feed.add_incident("00000000-0000-0000-0000-000000000001", "theft")
    feed.add_incident("00000000-0000-0000-0000-000000000002", "theft", occurred_from="not a date")
    response = synced_client.post(f"{API}/sync", headers=analyst)
    assert response.status_code == 503
    assert _incidents(database_url) == {}
    engine = create_engine(normalize_url(database_url))
    with Session(engine) as session:
        state = session.get(SyncState, "incidents")
        assert state is None or state.cursor is None
    engine.dispose()


def test_sync_needs_configuration_and_a_trainer_role(
    client: TestClient, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    assert client.post(f"{API}/sync", headers=officer).status_code == 403
    response = client.post(f"{API}/sync", headers=analyst)
    assert response.status_code == 503
    assert response.json()["type"].endswith("/sync-not-configured")
