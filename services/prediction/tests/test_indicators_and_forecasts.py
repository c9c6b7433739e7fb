"""Area indicators upload (and their use in training); forecast jobs and served forecasts."""

from __future__ import annotations

import pandas as pd
from fastapi.testclient import TestClient
from prediction_factories import store_incidents, synthetic_incidents, train, wait_for_job

API = "/api/v1/prediction"
CSV = {"Content-Type": "text/csv"}


def test_indicator_csv_upload_replaces_table_and_reaches_the_model(
    client: TestClient, database_url: str, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    body = "area,population,median_income\nNorth,12000,51000\nSouth,8000,\nEast,15000,62000\n"
    response = client.put(f"{API}/area-indicators", content=body, headers={**analyst, **CSV})
    assert response.status_code == 200, response.text
    assert response.json() == {"areas": 3, "indicators": ["median_income", "population"]}
    items = client.get(f"{API}/area-indicators", headers=officer).json()["items"]
    assert [i["area"] for i in items] == ["East", "North", "South"]
    assert items[2]["values"] == {"population": 8000.0}

    store_incidents(database_url, synthetic_incidents(200, seed=9))
    job = client.post(
        f"{API}/jobs",
        json={
            "kind": "classifier",
            "algorithms": ["logistic_regression"],
            "grids": {"logistic_regression": {"C": [1]}},
        },
        headers=analyst,
    ).json()
    done = wait_for_job(client, job["id"], analyst)
    card = client.get(
        f"{API}/models/{done['result']['model_version_ids'][0]}", headers=analyst
    ).json()["model_card"]
    assert card["data"]["area_indicators"] == ["median_income", "population"]
    assert card["features"]["area_indicators"] == [
        "indicator_median_income",
        "indicator_population",
    ]


def test_bad_indicator_uploads_change_nothing(
    client: TestClient, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    good = "area,population\nNorth,1\n"
    assert (
        client.put(f"{API}/area-indicators", content=good, headers={**analyst, **CSV}).status_code
        == 200
    )
    bad_bodies = [
        "population,area\n1,North\n",  # area must come first
        "area,population\nNorth,many\n",  # not a number
        "area,population\nNorth,1\nNorth,2\n",  # duplicate area
        "area,population\nSouth,1,2\n",  # ragged row
        "",
    ]
    for body in bad_bodies:
        response = client.put(f"{API}/area-indicators", content=body, headers={**analyst, **CSV})
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    wrong_type = client.put(
        f"{API}/area-indicators", content=good, headers={**analyst, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert (
        client.put(f"{API}/area-indicators", content=good, headers={**officer, **CSV}).status_code
        == 403
    )
    items = client.get(f"{API}/area-indicators", headers=officer).json()["items"]
    assert [(i["area"], i["values"]) for i in items] == [("North", {"population": 1.0})]


def test_weekly_forecast_job_promote_and_serve_with_intervals(
    client: TestClient, database_url: str, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    incidents = synthetic_incidents(1500, seed=11, days=7 * 60)
    store_incidents(database_url, incidents)
    _linear_id, version_id = train(
        client,
        analyst,
        kind="forecast_week",
        algorithms=["linear_regression", "gradient_boosting"],
        horizon=4,
        evaluation_periods=13,
    )
    metrics = client.get(f"{API}/models/{version_id}", headers=analyst).json()["metrics"]
    area = metrics["rolling_origin"]["area"]
    assert {"model", "seasonal_naive", "moving_average_13"} <= area.keys()
    assert area["periods_evaluated"] == 13

    assert (
        client.get(f"{API}/forecasts", params={"freq": "week"}, headers=officer).status_code == 409
    )
    assert client.post(f"{API}/models/{version_id}/promote", headers=analyst).status_code == 200
    answer = client.get(
        f"{API}/forecasts",
        params={"freq": "week", "dimension": "area", "series": ["North", "South"]},
        headers=officer,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"]["id"] == version_id
    assert [s["series"] for s in body["series"]] == ["North", "South"]
    # Beside the forecast: how the model did over its evaluation window, and the baselines.
    evaluation = body["evaluation"]
    assert evaluation["periods_evaluated"] == 13
    assert evaluation["model"] == {
        "mae": area["model"]["mae"],
        "rmse": area["model"]["rmse"],
    }
    assert evaluation["interval_coverage"] == area["model"]["coverage"]
    assert evaluation["baselines"] == {
        name: {"mae": area[name]["mae"], "rmse": area[name]["rmse"]}
        for name in ("seasonal_naive", "moving_average_13")
    }
    assert evaluation["first_period"] < evaluation["last_period"]
    points = body["series"][0]["points"]
    assert len(points) == 4
    for point in points:
        assert 0 <= point["lower"] <= point["forecast"] <= point["upper"]
    assert points[0]["period_start"] < points[1]["period_start"]
    # The first forecast week is the one after the latest incident's week.
    latest = pd.Timestamp(incidents["occurred_at"].max())
    first = pd.Timestamp(points[0]["period_start"])
    assert latest < first <= latest + pd.Timedelta(days=7)
    by_category = client.get(
        f"{API}/forecasts",
        params={"freq": "week", "dimension": "category", "horizon": 2},
        headers=officer,
    ).json()
    assert sorted(s["series"] for s in by_category["series"]) == [
        "assault",
        "burglary",
        "theft",
        "vehicle_theft",
    ]
    unknown = client.get(f"{API}/forecasts", params={"series": ["Atlantis"]}, headers=officer)
    assert unknown.status_code == 404
    assert (
        client.get(f"{API}/forecasts", params={"horizon": 99}, headers=officer).status_code == 422
    )


def test_a_week_still_under_way_at_data_to_is_forecast_not_read_as_a_drop(
    client: TestClient, database_url: str, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    incidents = synthetic_incidents(1500, seed=12, days=7 * 60)
    store_incidents(database_url, incidents)
    # A Wednesday noon well inside the data: that week is under way at data_to.
    wednesday = pd.Timestamp(incidents["occurred_at"].max()).normalize() - pd.Timedelta(weeks=3)
    wednesday += pd.Timedelta(days=(2 - wednesday.day_of_week) % 7, hours=12)
    monday = wednesday.normalize() - pd.Timedelta(days=2)
    (version_id,) = train(
        client,
        analyst,
        kind="forecast_week",
        algorithms=["linear_regression"],
        horizon=2,
        evaluation_periods=13,
        data_to=wednesday.isoformat(),
    )
    version = client.get(f"{API}/models/{version_id}", headers=analyst).json()
    assert pd.Timestamp(version["model_card"]["data"]["complete_to"]) == wednesday
    assert version["metrics"]["design"] == {"recent_features": False, "half_life": None}
    assert client.post(f"{API}/models/{version_id}/promote", headers=analyst).status_code == 200
    answer = client.get(
        f"{API}/forecasts", params={"freq": "week", "dimension": "area"}, headers=officer
    )
    assert answer.status_code == 200, answer.text
    points = answer.json()["series"][0]["points"]
    assert [pd.Timestamp(p["period_start"]) for p in points] == [
        monday,
        monday + pd.Timedelta(weeks=1),
    ]
