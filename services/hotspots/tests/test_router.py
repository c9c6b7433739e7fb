"""The HTTP API: roles, jobs with progress and cached results, GeoJSON answers, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotspots_service.analysis.synthetic import blobs, planted_hotspot_history
from hotspots_service.models import AnalysisJob, IncidentPoint
from servicekit.db import Database
from servicekit.testing import TokenFactory

OFFICER = {"roles": ["officer"]}
ANALYST = {"roles": ["analyst"]}


def _store(database_url: str, points) -> None:
    database = Database(database_url)
    try:
        with database.session() as session:
            session.add_all(
                IncidentPoint(
                    id=str(uuid.uuid4()),
                    category=str(points.category[i]),
                    occurred_at=datetime.fromtimestamp(int(points.t[i]), UTC),
                    lat=float(points.lat[i]),
                    lon=float(points.lon[i]),
                    area=str(points.area[i]) or None,
                )
                for i in range(len(points))
            )
    finally:
        database.dispose()


def _finished(client: TestClient, job: dict, headers: dict[str, str]) -> dict:
    """Poll a job until it is done (boosting on a loaded CI machine can take a while)."""
    for _ in range(10):
        if job["status"] in ("succeeded", "failed"):
            return job
        job = client.get(f"/api/v1/hotspots/jobs/{job['id']}?wait=60", headers=headers).json()
    return job


def _jobs(database_url: str) -> int:
    database = Database(database_url)
    try:
        with database.session(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(AnalysisJob)) or 0)
    finally:
        database.dispose()


def test_clusters_job_answers_geojson_and_caches_by_input(
    client: TestClient, token_factory: TokenFactory, settings
) -> None:
    points, _ = blobs()
    _store(settings.database_url, points)
    headers = token_factory.headers(**OFFICER)
    body = {"method": "dbscan", "eps_m": 60, "min_samples": 8}
    response = client.post("/api/v1/hotspots/clusters?wait=60", json=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    job = _finished(client, response.json(), headers)
    assert job["status"] == "succeeded"
    assert job["progress"] == 1.0
    # Times carry their offset on every database (SQLite keeps none; they are read back as UTC).
    for stamp in ("created_at", "started_at", "finished_at"):
        assert datetime.fromisoformat(job[stamp]).utcoffset() == timedelta(0), job[stamp]
    result = job["result"]
    assert result["type"] == "FeatureCollection"
    assert result["clusters"] == 3
    assert result["crs_used_for_distances"] == "EPSG:32617"
    assert response.headers["location"] == f"/api/v1/hotspots/jobs/{job['id']}"
    again = client.post("/api/v1/hotspots/clusters", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == job["id"]  # same input, cached result
    assert _jobs(settings.database_url) == 1
    fetched = client.get(f"/api/v1/hotspots/jobs/{job['id']}", headers=headers).json()
    assert fetched["result"]["clusters"] == 3
    # a filter that changes the input is a new job
    only_theft = {**body, "filter": {"categories": ["theft"]}}
    other = client.post("/api/v1/hotspots/clusters?wait=60", json=only_theft, headers=headers)
    other_job = _finished(client, other.json(), headers)
    assert other_job["id"] != job["id"]
    total = sum(f["properties"]["count"] for f in other_job["result"]["features"])
    assert set().union(
        *(f["properties"]["category_mix"] for f in other_job["result"]["features"])
    ) <= {"theft"}
    assert total < 650


def test_grid_map_and_forecast_find_the_planted_hotspot(
    client: TestClient, token_factory: TokenFactory, settings
) -> None:
    points = planted_hotspot_history(weeks=110)
    _store(settings.database_url, points)
    headers = token_factory.headers(**OFFICER)
    grid = client.post(
        "/api/v1/hotspots/maps/grid?wait=60", json={"cell_size_m": 250}, headers=headers
    ).json()
    grid = _finished(client, grid, headers)
    assert grid["status"] == "succeeded", grid
    hottest = max(grid["result"]["features"], key=lambda f: f["properties"]["count"])
    assert hottest["properties"]["hotspot"] == "hot"
    as_of = datetime.fromtimestamp(int(points.t.max()) + 1, UTC).isoformat()
    for method in ("naive", "decayed", "prospective", "sepp", "gbm"):
        forecast = client.post(
            "/api/v1/hotspots/forecasts?wait=60",
            json={"method": method, "horizon": "week", "as_of": as_of, "area_share": 0.02},
            headers=headers,
        ).json()
        forecast = _finished(client, forecast, headers)
        assert forecast["status"] == "succeeded", forecast
        result = forecast["result"]
        first = result["features"][0]
        assert first["properties"]["rank"] == 1
        assert first["geometry"] == hottest["geometry"], method
        assert result["flagged_cells"] == len(result["features"])
        assert result["area_share"] == pytest.approx(0.02, abs=0.01)
    kde = client.post(
        "/api/v1/hotspots/maps/kde?wait=60", json={"bandwidth_m": 200}, headers=headers
    ).json()
    kde = _finished(client, kde, headers)
    peak = max(kde["result"]["features"], key=lambda f: f["properties"]["density_per_km2"])
    assert peak["geometry"] == hottest["geometry"]


def test_backtest_and_fairness_are_for_analysts(
    client: TestClient, token_factory: TokenFactory, settings
) -> None:
    points = planted_hotspot_history(weeks=110)
    _store(settings.database_url, points)
    start = datetime.fromtimestamp(int(points.t.min()) + 100 * 7 * 86400, UTC).isoformat()
    end = datetime.fromtimestamp(int(points.t.min()) + 103 * 7 * 86400, UTC).isoformat()
    body = {"start": start, "end": end, "methods": ["naive", "prospective"]}
    officer = token_factory.headers(**OFFICER)
    assert client.post("/api/v1/hotspots/backtests", json=body, headers=officer).status_code == 403
    analyst = token_factory.headers(**ANALYST)
    job = client.post("/api/v1/hotspots/backtests?wait=60", json=body, headers=analyst).json()
    job = _finished(client, job, analyst)
    assert job["status"] == "succeeded", job
    methods = job["result"]["methods"]
    assert set(methods) == {"naive", "prospective"}
    assert methods["naive"]["0.05"]["hit_rate_vs_baseline"] == 1.0
    assert client.get(f"/api/v1/hotspots/jobs/{job['id']}", headers=officer).status_code == 403

    # fairness needs indicators first
    fair = {
        "method": "naive",
        "rounds": 3,
        "boost": 1.0,
        "as_of": datetime.fromtimestamp(int(points.t.max()) + 1, UTC).isoformat(),
    }
    failed = client.post("/api/v1/hotspots/fairness?wait=60", json=fair, headers=analyst).json()
    failed = _finished(client, failed, analyst)
    assert failed["status"] == "failed"
    assert "indicators" in failed["error"]
    csv_body = "area,median_income,population\nWest,41000,12000\nEast,88000,9000\n"
    put = client.put(
        "/api/v1/hotspots/area-indicators",
        content=csv_body,
        headers={**analyst, "Content-Type": "text/csv"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["indicators"] == ["median_income", "population"]
    report = client.post("/api/v1/hotspots/fairness?wait=60", json=fair, headers=analyst).json()
    report = _finished(client, report, analyst)
    assert report["status"] == "succeeded", report
    income = report["result"]["indicators"]["median_income"]["groups"]
    assert sum(g["flagged_cells_share"] for g in income) == pytest.approx(1.0)
    assert len(report["result"]["feedback_loop"]["rounds"]) == 3


def test_bad_input_is_problem_json_and_creates_no_job(
    client: TestClient, token_factory: TokenFactory, settings
) -> None:
    headers = token_factory.headers(**ANALYST)
    for path, body in [
        ("/api/v1/hotspots/clusters", {"method": "optics"}),
        ("/api/v1/hotspots/maps/grid", {"cell_size_m": 1}),
        ("/api/v1/hotspots/forecasts", {"filter": {"bbox": [10, 10, 5, 5]}}),
        ("/api/v1/hotspots/forecasts", {"filter": {"categories": ["jaywalking"]}}),
        (
            "/api/v1/hotspots/backtests",
            {"start": "2020-01-01T00:00:00Z", "end": "2019-01-01T00:00:00Z"},
        ),
    ]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert _jobs(settings.database_url) == 0
    bad_csv = client.put(
        "/api/v1/hotspots/area-indicators",
        content="area,income\nWest,lots\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert bad_csv.status_code == 422
    assert client.get("/api/v1/hotspots/area-indicators", headers=headers).json()["areas"] == 0
    assert client.get(f"/api/v1/hotspots/jobs/{uuid.uuid4()}", headers=headers).status_code == 404


def test_empty_data_fails_the_job_with_a_reason(
    client: TestClient, token_factory: TokenFactory
) -> None:
    headers = token_factory.headers(**OFFICER)
    job = client.post("/api/v1/hotspots/maps/grid?wait=60", json={}, headers=headers).json()
    job = _finished(client, job, headers)
    assert job["status"] == "failed"
    assert "at least 3" in job["error"]


def test_citizens_and_anonymous_callers_are_refused(
    client: TestClient, token_factory: TokenFactory
) -> None:
    assert client.post("/api/v1/hotspots/maps/grid", json={}).status_code == 401
    citizen = token_factory.headers(roles=["citizen"])
    assert client.post("/api/v1/hotspots/maps/grid", json={}, headers=citizen).status_code == 403
    assert client.get("/api/v1/hotspots/sync", headers=citizen).status_code == 403


def test_sync_without_configuration_is_503(client: TestClient, token_factory: TokenFactory) -> None:
    response = client.post("/api/v1/hotspots/sync", headers=token_factory.headers(**ANALYST))
    assert response.status_code == 503


def test_default_forecast_origin_is_pinned_so_the_cache_expires(
    client: TestClient, token_factory: TokenFactory
) -> None:
    job = client.post(
        "/api/v1/hotspots/forecasts?wait=60", json={}, headers=token_factory.headers(**OFFICER)
    ).json()
    as_of = datetime.fromisoformat(job["parameters"]["as_of"].replace("Z", "+00:00"))
    now = datetime.now(UTC)
    assert (now - as_of).total_seconds() < 3600
    assert as_of.minute == 0
    assert as_of.second == 0
