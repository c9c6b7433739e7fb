"""Export feed: a consumer resuming from its cursor reproduces the current incidents exactly."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from records_service.db import utcnow
from records_service.imports.cleaning import CleanIncident
from records_service.imports.service import insert_incidents
from records_service.incidents.models import Incident
from records_service.sequences import next_change_seq
from servicekit.db import Database
from servicekit.testing import TokenFactory

FEED = "/api/v1/records/export/incidents"


def make_incidents(database: Database, count: int, *, start: int = 0) -> list[str]:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    incidents = [
        CleanIncident(
            source_system="test",
            source_id=f"T-{start + n}",
            category=["assault", "burglary", "theft"][n % 3],
            source_code=None,
            occurred_from=base + timedelta(hours=n),
            occurred_to=None,
            reported_at=base + timedelta(hours=n, minutes=30),
            lat=43.6 + n / 1000,
            lon=-79.4,
            area=f"Area {n % 4}",
            premises_type="House",
            address=None,
            station_id="ST-1",
            status="reported",
            narrative="secret words",
            fingerprint=None,
        )
        for n in range(count)
    ]
    with database.session() as session:
        return insert_incidents(session, incidents=incidents, created_by="test")


def change(database: Database, incident_id: str, **values: Any) -> None:
    with database.session() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        for key, value in values.items():
            setattr(incident, key, value)
        incident.updated_at = utcnow()
        incident.change_seq = next_change_seq(session)


def consume(
    client: TestClient,
    headers: dict[str, str],
    state: dict[str, dict[str, Any]],
    cursor: str | None,
) -> str | None:
    """Apply every line after `cursor` to `state`; returns the last cursor applied."""
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        response = client.get(FEED, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(text) for text in response.text.splitlines()]
        if not lines:
            return cursor
        for line in lines:
            if line["deleted"]:
                state.pop(line["id"], None)
            else:
                state[line["id"]] = line
            cursor = line["cursor"]


def current_set(database: Database) -> dict[str, tuple[Any, ...]]:
    with database.session(write=False) as session:
        rows = session.execute(
            select(Incident).where(Incident.deleted_at.is_(None), Incident.sealed.is_(False))
        ).scalars()
        return {i.id: (i.crime_id, i.category, i.status, i.area, i.lat) for i in rows}


def as_set(state: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    return {
        key: (line["crime_id"], line["category"], line["status"], line["area"], line["lat"])
        for key, line in state.items()
    }


def test_feed_reproduces_current_set_after_changes_and_deletions(
    client: TestClient, token_factory: TokenFactory
) -> None:
    database = client.app.state.database  # type: ignore[attr-defined]
    headers = token_factory.headers(roles=["service"], subject="svc:hotspots", station_id=None)
    ids = make_incidents(database, 10)
    state: dict[str, dict[str, Any]] = {}
    cursor = consume(client, headers, state, None)
    assert as_set(state) == current_set(database)
    assert len(state) == 10

    change(database, ids[0], category="robbery")
    change(database, ids[1], status="closed")
    change(database, ids[2], deleted_at=utcnow(), deleted_by="admin", delete_reason="duplicate")
    change(database, ids[3], sealed=True, sealed_reason="juvenile")
    more = make_incidents(database, 3, start=100)
    change(database, more[0], area="Harbourfront")

    cursor = consume(client, headers, state, cursor)
    assert as_set(state) == current_set(database)
    assert len(state) == 10 - 2 + 3
    assert state[ids[0]]["category"] == "robbery"
    assert ids[2] not in state
    assert ids[3] not in state

    # Caught up: an empty body, and the cursor stays valid.
    response = client.get(FEED, params={"cursor": cursor}, headers=headers)
    assert response.status_code == 200
    assert response.text == ""

    change(database, ids[2], deleted_at=None, deleted_by=None, delete_reason=None)
    consume(client, headers, state, cursor)
    assert as_set(state) == current_set(database)
    assert ids[2] in state


def test_feed_lines_follow_the_contract(client: TestClient, token_factory: TokenFactory) -> None:
    database = client.app.state.database  # type: ignore[attr-defined]
    (incident_id,) = make_incidents(database, 1)
    change(database, incident_id, deleted_at=utcnow(), deleted_by="admin", delete_reason="x")
    (live_id,) = make_incidents(database, 1, start=50)
    response = client.get(FEED, headers=token_factory.headers(roles=["admin"]))
    tombstone, live = (json.loads(text) for text in response.text.splitlines())
    assert set(tombstone) == {"cursor", "id", "crime_id", "deleted", "updated_at"}
    assert tombstone["deleted"] is True
    assert tombstone["id"] == incident_id
    assert set(live) == {
        "cursor", "id", "crime_id", "deleted", "category", "source_code", "occurred_from",
        "occurred_to", "reported_at", "lat", "lon", "area", "premises_type", "station_id",
        "status", "updated_at",
    }  # fmt: skip
    assert live["id"] == live_id
    assert live["deleted"] is False
    assert live["occurred_from"] == "2024-03-01T00:00:00Z"
    assert "narrative" not in live
    # Resuming with a line's cursor returns what comes after that line.
    after = client.get(
        FEED, params={"cursor": tombstone["cursor"]}, headers=token_factory.headers(roles=["admin"])
    )
    assert [json.loads(text)["id"] for text in after.text.splitlines()] == [live_id]


def test_feed_as_csv_for_people(client: TestClient, token_factory: TokenFactory) -> None:
    database = client.app.state.database  # type: ignore[attr-defined]
    make_incidents(database, 3)
    response = client.get(
        FEED, headers=token_factory.headers(roles=["admin"]) | {"Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["category"] for row in rows] == ["assault", "burglary", "theft"]
    assert rows[0]["deleted"] == "False"


def test_feed_is_for_service_accounts_and_admins_only(
    client: TestClient, token_factory: TokenFactory
) -> None:
    assert client.get(FEED).status_code == 401
    for role in ("officer", "supervisor", "analyst", "citizen"):
        assert client.get(FEED, headers=token_factory.headers(roles=[role])).status_code == 403
    assert client.get(FEED, headers=token_factory.headers(roles=["service"])).status_code == 200


def test_bad_cursor_and_limit_are_rejected(client: TestClient, token_factory: TokenFactory) -> None:
    headers = token_factory.headers(roles=["admin"])
    bad = client.get(FEED, params={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert client.get(FEED, params={"limit": 0}, headers=headers).status_code == 422
    assert client.get(FEED, params={"limit": 10001}, headers=headers).status_code == 422


def test_a_writer_cannot_take_a_later_number_while_an_earlier_one_is_uncommitted(
    client: TestClient, token_factory: TokenFactory
) -> None:
    """The skipped-sequence hazard: numbers are taken under a lock held until commit."""
    import threading

    database = client.app.state.database  # type: ignore[attr-defined]
    headers = token_factory.headers(roles=["service"])
    first_unit = database.session()
    first_session = first_unit.__enter__()
    (first_id,) = insert_incidents(first_session, incidents=_one("A"), created_by="t1")
    finished: list[str] = []

    def second_writer() -> None:
        with database.session() as session:
            finished.extend(insert_incidents(session, incidents=_one("B"), created_by="t2"))

    thread = threading.Thread(target=second_writer)
    thread.start()
    thread.join(timeout=1.0)
    # The second writer waits for the first's number to be committed.
    assert thread.is_alive()
    assert finished == []
    assert client.get(FEED, headers=headers).text == ""
    first_unit.__exit__(None, None, None)
    thread.join(timeout=30)
    assert not thread.is_alive()
    lines = [json.loads(text) for text in client.get(FEED, headers=headers).text.splitlines()]
    assert [line["id"] for line in lines] == [first_id, finished[0]]


def _one(tag: str) -> list[CleanIncident]:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    return [
        CleanIncident(
            source_system="race",
            source_id=tag,
            category="theft",
            source_code=None,
            occurred_from=when,
            occurred_to=None,
            reported_at=when,
            lat=None,
            lon=None,
            area=None,
            premises_type=None,
            address=None,
            station_id="ST-1",
            status="reported",
            narrative=None,
            fingerprint=None,
        )
    ]
