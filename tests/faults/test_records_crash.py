"""kill -9 the records service in the middle of a stream of creates, then start it again.

What an agency relies on: every create that was answered 2xx is there afterwards, complete;
nothing half-written is there; a client that retries an unanswered create with the same
Idempotency-Key ends up with exactly one incident; the audit chain still verifies.
Runs on SQLite, and on PostgreSQL when STATIONHOUSE_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, text

from servicekit.db import normalize_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OFFICER = "officer-crash-test"


def incident_payload(marker: str, n: int) -> dict:
    return {
        "category": ("theft", "assault", "burglary", "robbery")[n % 4],
        "occurred_from": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:15:00Z",
        "lat": 43.6 + (n % 100) / 1000,
        "lon": -79.4 + (n % 100) / 1000,
        "area": f"Area {n % 7}",
        "premises_type": "House",
        "narrative": marker,
    }


@dataclass
class Attempt:
    marker: str
    n: int
    status: int | None = None  # None: no answer (connection refused, reset, timed out)
    incident_id: str | None = None


def stream_creates(
    base_url: str, headers: dict, attempts: list[Attempt], stop: threading.Event, worker: int
) -> None:
    n = worker * 100_000
    with httpx.Client(base_url=base_url, timeout=5.0) as client:
        while not stop.is_set():
            n += 1
            attempt = Attempt(marker=f"crash-{uuid.uuid4()}", n=n)
            attempts.append(attempt)
            try:
                response = client.post(
                    "/api/v1/records/incidents",
                    json=incident_payload(attempt.marker, n),
                    headers={**headers, "Idempotency-Key": attempt.marker},
                )
            except httpx.HTTPError:
                time.sleep(0.1)  # the service is down: keep trying, as a client would
                continue
            attempt.status = response.status_code
            if response.status_code == 201:
                attempt.incident_id = response.json()["id"]


def incident_rows(database_url: str) -> list[dict]:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM incidents")).mappings().all()
            return [dict(r) for r in rows]
    finally:
        engine.dispose()


def test_kill_9_during_creates_loses_no_acknowledged_write(stack):
    records = stack.start_service("records")
    officer = stack.headers("officer", subject=OFFICER)
    admin = stack.headers("admin", subject="admin-crash-test")
    attempts: list[Attempt] = []
    stop = threading.Event()
    workers = [
        threading.Thread(target=stream_creates, args=(records.url, officer, attempts, stop, w))
        for w in range(3)
    ]
    for worker in workers:
        worker.start()
    try:
        # Let creates flow, then pull the plug while requests are in flight.
        deadline = time.monotonic() + 60
        while sum(a.status == 201 for a in attempts) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        records.kill()
        killed_at = len(attempts)
        time.sleep(0.5)
        records.start()
        # More creates after the restart, then stop the stream.
        deadline = time.monotonic() + 60
        while (
            sum(a.status == 201 for a in attempts[killed_at:]) < 10 and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)

    acknowledged = [a for a in attempts if a.status == 201]
    unanswered = [a for a in attempts if a.status is None]
    assert len(acknowledged) >= 40, "the stream did not get going"
    assert unanswered, "the kill did not interrupt the stream"
    assert all(a.status in (201, None) for a in attempts), {a.status for a in attempts}

    # 1. Every acknowledged create is there, complete, as it was sent.
    with httpx.Client(base_url=records.url, timeout=10.0) as client:
        for attempt in acknowledged:
            response = client.get(
                f"/api/v1/records/incidents/{attempt.incident_id}", headers=officer
            )
            assert response.status_code == 200, (attempt, response.text)
            body = response.json()
            sent = incident_payload(attempt.marker, attempt.n)
            assert body["narrative"] == attempt.marker
            assert body["category"] == sent["category"]
            assert body["lat"] == pytest.approx(sent["lat"])
            assert body["crime_id"].startswith("CR-")

    # 2. Nothing half-written: every stored row is one whole create, stored once.
    rows = incident_rows(stack.databases["records"])
    sent_markers = {a.marker for a in attempts}
    by_marker: dict[str, int] = {}
    for row in rows:
        assert row["narrative"] in sent_markers, row
        by_marker[row["narrative"]] = by_marker.get(row["narrative"], 0) + 1
        for column in ("crime_id", "category", "occurred_from", "station_id", "version"):
            assert row[column] is not None, (column, row)
    assert all(count == 1 for count in by_marker.values())
    assert len({row["crime_id"] for row in rows}) == len(rows)
    assert {a.marker for a in acknowledged} <= set(by_marker)

    # 3. Retrying every unanswered create with its key gives exactly one incident for each.
    with httpx.Client(base_url=records.url, timeout=10.0) as client:
        for attempt in unanswered:
            response = client.post(
                "/api/v1/records/incidents",
                json=incident_payload(attempt.marker, attempt.n),
                headers={**officer, "Idempotency-Key": attempt.marker},
            )
            assert response.status_code == 201, response.text
            assert response.json()["narrative"] == attempt.marker
    rows = incident_rows(stack.databases["records"])
    markers = [row["narrative"] for row in rows]
    assert len(markers) == len(set(markers))
    assert set(markers) == sent_markers

    # 4. The audit chain survived the crash unbroken.
    with httpx.Client(base_url=records.url, timeout=30.0) as client:
        report = client.get("/api/v1/records/audit/verify", headers=admin)
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True, report.json()
