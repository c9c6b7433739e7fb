"""Statistics match counts computed independently from the same rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from records_service.db import utcnow
from records_service.imports.cleaning import CleanIncident
from records_service.imports.service import insert_incidents
from records_service.incidents.models import Incident
from servicekit.db import Database
from servicekit.testing import TokenFactory

COUNTS = "/api/v1/records/statistics/counts"
PUBLIC = "/api/v1/records/statistics/public/counts"
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 3, 1, tzinfo=UTC)
CATEGORIES = ["assault", "burglary", "theft", "robbery"]
AREAS = ["North", "South", "East", "West", None]


def seed(database: Database, count: int = 300) -> list[CleanIncident]:
    rng = random.Random(7)
    incidents = []
    for n in range(count):
        # Some fall before the frame (previous period) and a few after it.
        when = START - timedelta(days=60) + timedelta(minutes=rng.randrange(0, 60 * 24 * 125))
        incidents.append(
            CleanIncident(
                source_system="stats",
                source_id=str(n),
                category=rng.choice(CATEGORIES),
                source_code=None,
                occurred_from=when,
                occurred_to=None,
                reported_at=when,
                lat=None,
                lon=None,
                area=rng.choice(AREAS),
                premises_type=rng.choice(["House", "Outside"]),
                address=None,
                station_id=rng.choice(["ST-1", "ST-2"]),
                status=rng.choice(["reported", "closed"]),
                narrative=None,
                fingerprint=None,
            )
        )
    with database.session() as session:
        ids = insert_incidents(session, incidents=incidents, created_by="test")
        # Deleted incidents never count; sealed ones do.
        session.execute(
            update(Incident).where(Incident.id.in_(ids[:15])).values(deleted_at=utcnow())
        )
        session.execute(update(Incident).where(Incident.id.in_(ids[15:30])).values(sealed=True))
    return incidents[15:]


def bucket_of(when: datetime, bucket: str) -> Any:
    if bucket == "hour":
        return when.strftime("%Y-%m-%dT%H:00:00Z")
    if bucket == "day":
        return when.strftime("%Y-%m-%d")
    if bucket == "week":
        return (when - timedelta(days=when.weekday())).strftime("%Y-%m-%d")
    if bucket == "month":
        return when.strftime("%Y-%m")
    if bucket == "year":
        return when.strftime("%Y")
    return when.weekday() * 24 + when.hour


def in_frame(rows: list[CleanIncident], start: datetime, end: datetime) -> list[CleanIncident]:
    return [r for r in rows if start <= r.occurred_from < end]


def as_counter(answer: dict[str, Any], keys: list[str]) -> Counter[tuple[Any, ...]]:
    return Counter({tuple(row[k] for k in keys): row["count"] for row in answer["rows"]})


@pytest.fixture
def staff(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.headers(roles=["analyst"], station_id=None)


@pytest.mark.parametrize("bucket", ["hour", "day", "week", "month", "year", "hour_of_week"])
def test_bucketed_counts_match_an_independent_count(
    client: TestClient, staff: dict[str, str], bucket: str
) -> None:
    rows = seed(client.app.state.database)  # type: ignore[attr-defined]
    params = {"from": START.isoformat(), "to": END.isoformat(), "bucket": bucket,
              "group_by": "category"}  # fmt: skip
    response = client.get(COUNTS, params=params, headers=staff)
    assert response.status_code == 200, response.text
    answer = response.json()
    current = in_frame(rows, START, END)
    expected = Counter((bucket_of(r.occurred_from, bucket), r.category) for r in current)
    assert as_counter(answer, ["bucket", "category"]) == expected
    assert answer["total"] == len(current)
    previous = in_frame(rows, START - (END - START), START)
    assert answer["change"]["previous"] == len(previous)
    assert answer["change"]["absolute"] == len(current) - len(previous)


def test_grouped_and_filtered_counts_with_row_changes(
    client: TestClient, staff: dict[str, str]
) -> None:
    rows = seed(client.app.state.database)  # type: ignore[attr-defined]
    params: dict[str, Any] = {
        "from": START.isoformat(), "to": END.isoformat(),
        "group_by": ["area", "status"], "category": ["assault", "theft"], "station_id": "ST-1",
    }  # fmt: skip
    answer = client.get(COUNTS, params=params, headers=staff).json()
    selected = [r for r in rows if r.category in ("assault", "theft") and r.station_id == "ST-1"]
    expected = Counter((r.area, r.status) for r in in_frame(selected, START, END))
    assert as_counter(answer, ["area", "status"]) == expected
    before = Counter((r.area, r.status) for r in in_frame(selected, START - (END - START), START))
    for row in answer["rows"]:
        assert row["change"]["previous"] == before[(row["area"], row["status"])]


def test_top_areas(client: TestClient, staff: dict[str, str]) -> None:
    rows = seed(client.app.state.database)  # type: ignore[attr-defined]
    answer = client.get(
        "/api/v1/records/statistics/top-areas",
        params={"from": START.isoformat(), "to": END.isoformat(), "limit": 2},
        headers=staff,
    ).json()
    expected = Counter(r.area for r in in_frame(rows, START, END) if r.area)
    assert [(a["area"], a["count"]) for a in answer["areas"]] == sorted(
        expected.items(), key=lambda item: (-item[1], item[0])
    )[:2]


def test_public_counts_suppress_small_cells(
    client: TestClient, token_factory: TokenFactory
) -> None:
    rows = seed(client.app.state.database)  # type: ignore[attr-defined]
    params = {"from": START.isoformat(), "to": END.isoformat(), "group_by": "area",
              "bucket": "week", "min_cell": 5}  # fmt: skip
    for headers in ({}, token_factory.headers(roles=["citizen"], station_id=None)):
        response = client.get(PUBLIC, params=params, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        expected = Counter(
            (bucket_of(r.occurred_from, "week"), r.area) for r in in_frame(rows, START, END)
        )
        assert any(row["suppressed"] for row in answer["rows"])
        shown = 0
        for row in answer["rows"]:
            true_count = expected[(row["bucket"], row["area"])]
            if true_count < 5:
                assert row["count"] is None
                assert row["suppressed"] is True
            else:
                assert row["count"] == true_count
                shown += true_count
        assert answer["total_shown"] == shown


def test_public_cannot_group_by_station_or_lower_the_threshold(client: TestClient) -> None:
    assert client.get(PUBLIC, params={"group_by": "station_id"}).status_code == 422
    assert client.get(PUBLIC, params={"min_cell": 1}).status_code == 422


def test_staff_statistics_need_a_staff_role(
    client: TestClient, token_factory: TokenFactory
) -> None:
    assert client.get(COUNTS).status_code == 401
    citizen = token_factory.headers(roles=["citizen"])
    assert client.get(COUNTS, headers=citizen).status_code == 403
    for role in ("admin", "supervisor", "officer", "analyst"):
        assert client.get(COUNTS, headers=token_factory.headers(roles=[role])).status_code == 200


def test_bad_frames_are_rejected(client: TestClient, staff: dict[str, str]) -> None:
    backwards = {"from": END.isoformat(), "to": START.isoformat()}
    assert client.get(COUNTS, params=backwards, headers=staff).status_code == 422
    naive = {"from": "2024-01-01T00:00:00"}
    assert client.get(COUNTS, params=naive, headers=staff).status_code == 422
    assert client.get(COUNTS, params={"bucket": "fortnight"}, headers=staff).status_code == 422


@pytest.mark.parametrize("bucket", [None, "hour", "day", "week", "month", "year", "hour_of_week"])
def test_in_memory_counts_equal_sql_group_by(client: TestClient, bucket: str | None) -> None:
    from records_service.statistics.columns import IncidentColumns
    from records_service.statistics.service import (
        Bucket,
        Dimension,
        StatisticsQuery,
        count_rows,
    )

    database = client.app.state.database  # type: ignore[attr-defined]
    seed(database)
    query = StatisticsQuery(
        start=START - timedelta(days=40), end=END,
        group_by=(Dimension.AREA, Dimension.STATUS),
        bucket=Bucket(bucket) if bucket else None,
        filters={Dimension.CATEGORY: ("assault", "theft", "robbery")},
    )  # fmt: skip
    columns = IncidentColumns()
    with database.session(write=False) as session:
        columns.refresh(session)
        assert columns.count_rows(query) == count_rows(session, query)


def test_counts_follow_changes_and_deletions(client: TestClient, staff: dict[str, str]) -> None:
    from records_service.sequences import next_change_seq

    database = client.app.state.database  # type: ignore[attr-defined]
    rows = seed(database)
    params = {"from": START.isoformat(), "to": END.isoformat(), "group_by": "category"}
    before = as_counter(client.get(COUNTS, params=params, headers=staff).json(), ["category"])
    with database.session() as session:
        target = (
            session.execute(
                select(Incident)
                .where(
                    Incident.category == "assault",
                    Incident.occurred_from >= START,
                    Incident.occurred_from < END,
                    Incident.deleted_at.is_(None),
                )
                .limit(2)
            )
            .scalars()
            .all()
        )
        target[0].category = "robbery"
        target[0].change_seq = next_change_seq(session)
        session.flush()
        target[1].deleted_at = utcnow()
        target[1].change_seq = next_change_seq(session)
    after = as_counter(client.get(COUNTS, params=params, headers=staff).json(), ["category"])
    assert after[("assault",)] == before[("assault",)] - 2
    assert after[("robbery",)] == before[("robbery",)] + 1
    assert len(rows) > 0
