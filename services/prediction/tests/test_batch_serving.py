"""Batch classification over HTTP: the pipeline's numbers, in order, and the request contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from prediction_factories import store_incidents, synthetic_incidents, wait_for_job
from sqlalchemy import create_engine, select

from prediction_service.registry import artifacts
from prediction_service.registry.models import ModelVersion
from servicekit.db import normalize_url

API = "/api/v1/prediction"


def _serve_booster(client: TestClient, database_url: str, analyst: dict[str, str]) -> object:
    """Train and promote a gradient-boosting classifier; return its pipeline as stored."""
    store_incidents(database_url, synthetic_incidents(400, seed=7))
    response = client.post(
        f"{API}/jobs",
        json={
            "kind": "classifier",
            "algorithms": ["gradient_boosting"],
            "grids": {"gradient_boosting": {"learning_rate": [0.1], "max_leaf_nodes": [15]}},
        },
        headers=analyst,
    )
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["id"], analyst)
    assert job["status"] == "succeeded", job
    version_id = job["result"]["model_version_ids"][0]
    assert client.post(f"{API}/models/{version_id}/promote", headers=analyst).status_code == 200
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as conn:
        row = conn.execute(
            select(
                ModelVersion.artifact, ModelVersion.artifact_sha256, ModelVersion.artifact_hmac
            ).where(ModelVersion.id == version_id)
        ).one()
    engine.dispose()
    return artifacts.verify_and_load(
        row.artifact,
        sha256=row.artifact_sha256,
        signature=row.artifact_hmac,
        key=b"test-artifact-signing-key",
    )


def _rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "occurred_at": r.occurred_at.isoformat(),
            "premises_type": r.premises_type,
            "area": r.area,
            "lat": float(r.lat),
            "lon": float(r.lon),
        }
        for r in frame.itertuples(index=False)
    ]
    # Unknown values sent as null or left out, an unseen premises type, a naive time.
    rows[1] = {"occurred_at": "2025-02-03T04:05:06", "premises_type": None, "lat": None}
    rows[2] = {"occurred_at": "2025-02-03T04:05:06-05:00", "premises_type": "Spaceport"}
    return rows


def test_a_batch_answers_each_row_with_the_pipelines_probabilities_in_order(
    client: TestClient, database_url: str, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    pipeline = _serve_booster(client, database_url, analyst)
    rows = _rows(synthetic_incidents(700, seed=8))  # big enough for the sorted booster path
    response = client.post(f"{API}/classify/batch", json={"incidents": rows}, headers=officer)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"]["algorithm"] == "gradient_boosting"
    predictions = answer["predictions"]
    assert len(predictions) == len(rows)

    frame = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime([pd.Timestamp(r["occurred_at"]) for r in rows], utc=True),
            "premises_type": [r.get("premises_type") for r in rows],
            "area": [r.get("area") for r in rows],
            "lat": [np.nan if r.get("lat") is None else r["lat"] for r in rows],
            "lon": [np.nan if r.get("lon") is None else r["lon"] for r in rows],
        }
    )
    expected = pipeline.predict_proba(frame)  # type: ignore[attr-defined]
    classes = [str(c) for c in pipeline.classes_]  # type: ignore[attr-defined]
    for got, want in zip(predictions, expected, strict=True):
        assert list(got["probabilities"]) == classes
        assert list(got["probabilities"].values()) == np.round(want, 6).tolist()
        assert got["predicted_category"] == classes[int(want.argmax())]
        assert "top_features" not in got

    explained = client.post(
        f"{API}/classify/batch",
        json={"incidents": rows[:5], "explain": True, "top_features": 2},
        headers=officer,
    ).json()["predictions"]
    for got, plain in zip(explained, predictions[:5], strict=True):
        assert got["probabilities"] == plain["probabilities"]
        assert len(got["top_features"]) == 2
        assert {"feature", "contribution"} == set(got["top_features"][0])


def test_a_batch_that_is_not_valid_is_refused_with_the_field_named(
    client: TestClient, officer: dict[str, str]
) -> None:
    good = {"occurred_at": "2025-03-01T22:30:00Z", "lat": 43.6, "lon": -79.4}
    bad_rows = [
        ([good, {**good, "lat": 91}], "incidents.1.lat"),
        ([good, {**good, "colour": "red"}], "incidents.1.colour"),
        ([{"premises_type": "House"}], "incidents.0.occurred_at"),
        ([{**good, "occurred_at": "yesterday"}], "incidents.0.occurred_at"),
        ([], "incidents"),
    ]
    for incidents, field in bad_rows:
        response = client.post(
            f"{API}/classify/batch", json={"incidents": incidents}, headers=officer
        )
        assert response.status_code == 422, incidents
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    for body in (b'{"incidents": [', b'{"incidents": [{"occurred_at": NaN}]}'):
        response = client.post(
            f"{API}/classify/batch",
            content=body,
            headers={**officer, "content-type": "application/json"},
        )
        assert response.status_code == 422, body
        assert response.json()["type"].endswith("/validation-error")
    too_many = json.dumps({"incidents": [good] * 10_001})
    response = client.post(
        f"{API}/classify/batch",
        content=too_many,
        headers={**officer, "content-type": "application/json"},
    )
    assert response.status_code == 422
