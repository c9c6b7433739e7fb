"""Training jobs -> registry -> promotion -> serving, rollback, tampering, roles and the log."""

from __future__ import annotations

import hashlib
import json

from fastapi.testclient import TestClient
from prediction_factories import store_incidents, synthetic_incidents, wait_for_job
from sqlalchemy import create_engine, select, update

from prediction_service.inference.models import PredictionLog
from prediction_service.registry.models import ModelVersion
from servicekit.db import normalize_url

API = "/api/v1/prediction"
TINY = {"logistic_regression": {"C": [1.0]}, "decision_tree": {"max_depth": [4, 6]}}
INCIDENT = {
    "occurred_at": "2025-03-01T22:30:00Z",
    "premises_type": "House",
    "area": "North",
    "lat": 43.62,
    "lon": -79.38,
}


def train(client: TestClient, headers: dict[str, str], algorithms: list[str]) -> list[str]:
    response = client.post(
        f"{API}/jobs",
        json={
            "kind": "classifier",
            "algorithms": algorithms,
            "grids": {a: TINY[a] for a in algorithms},
        },
        headers=headers,
    )
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["id"], headers)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    return list(job["result"]["model_version_ids"])


def test_model_is_not_served_before_promotion_and_rollback_serves_the_old_one(
    client: TestClient,
    database_url: str,
    analyst: dict[str, str],
    officer: dict[str, str],
    admin: dict[str, str],
) -> None:
    store_incidents(database_url, synthetic_incidents(300))
    first, _tree = train(client, analyst, ["logistic_regression", "decision_tree"])

    # Trained but not promoted: nothing is served.
    refused = client.post(f"{API}/classify", json={"incident": INCIDENT}, headers=officer)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/no-served-model")

    card = client.get(f"{API}/models/{first}", headers=officer).json()
    assert card["served"] is False
    assert card["version"] == 1
    assert {"intended_use", "data", "metrics", "limits"} <= card["model_card"].keys()
    assert card["metrics"]["test"]["n"] == 60  # 20% of 300, tested once
    assert "baseline_majority" in card["metrics"]
    assert len(card["artifact_sha256"]) == 64

    assert client.post(f"{API}/models/{first}/promote", headers=officer).status_code == 403
    promoted = client.post(f"{API}/models/{first}/promote", headers=analyst)
    assert promoted.status_code == 200, promoted.text

    answer = client.post(f"{API}/classify", json={"incident": INCIDENT}, headers=officer).json()
    assert answer["model"]["id"] == first
    assert answer["model"]["version"] == 1
    assert abs(sum(answer["probabilities"].values()) - 1) < 1e-4
    assert answer["predicted_category"] == max(
        answer["probabilities"], key=answer["probabilities"].get
    )
    assert len(answer["top_features"]) == 3
    assert answer["top_features"][0]["feature"]

    (second,) = train(client, analyst, ["logistic_regression"])
    assert client.get(f"{API}/models/{second}", headers=officer).json()["version"] == 3
    assert client.post(f"{API}/models/{second}/promote", headers=admin).status_code == 200
    assert (
        client.post(f"{API}/classify", json={"incident": INCIDENT}, headers=officer).json()[
            "model"
        ]["id"]
        == second
    )

    rolled = client.post(f"{API}/served/classifier/rollback", headers=analyst)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["model_version_id"] == first
    assert (
        client.post(f"{API}/classify", json={"incident": INCIDENT}, headers=officer).json()[
            "model"
        ]["id"]
        == first
    )
    history = client.get(f"{API}/served/classifier/history", headers=officer).json()
    assert [h["action"] for h in history] == ["promote", "promote", "rollback"]

    sent = json.dumps({"incidents": [INCIDENT] * 5, "explain": True}).encode()
    batch = client.post(
        f"{API}/classify/batch",
        content=sent,
        headers={**officer, "Content-Type": "application/json"},
    ).json()
    assert batch["model"]["id"] == first
    assert len(batch["predictions"]) == 5
    assert batch["predictions"][0]["top_features"]

    log = client.get(f"{API}/prediction-log", headers=admin).json()["items"]
    assert [(e["endpoint"], e["model_version"], e["n_rows"]) for e in log[:2]] == [
        ("classify_batch", 1, 5),
        ("classify", 1, 1),
    ]
    assert {e["actor"] for e in log} == {"officer-1"}
    # The batch's entry names the exact bytes it answered, so its input can be proven later.
    assert log[0]["input_sha256"] == hashlib.sha256(sent).hexdigest()
    assert log[1]["input_sha256"] != log[0]["input_sha256"]
    assert client.get(f"{API}/prediction-log", headers=officer).status_code == 403
    assert client.get(f"{API}/audit/verify", headers=admin).json()["ok"] is True


def test_a_tampered_artifact_is_refused(
    client: TestClient, database_url: str, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    store_incidents(database_url, synthetic_incidents(200, seed=3))
    (version_id,) = train(client, analyst, ["logistic_regression"])
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as conn:
        data = conn.execute(
            select(ModelVersion.artifact).where(ModelVersion.id == version_id)
        ).scalar_one()
        tampered = data[:-40] + bytes(b ^ 0xFF for b in data[-40:])
        conn.execute(
            update(ModelVersion).where(ModelVersion.id == version_id).values(artifact=tampered)
        )
    refused = client.post(f"{API}/models/{version_id}/promote", headers=analyst)
    assert refused.status_code == 409
    assert "SHA-256" in refused.json()["detail"]

    # Even with the hash "fixed" to match, the signature gives it away.
    import hashlib

    with engine.begin() as conn:
        conn.execute(
            update(ModelVersion)
            .where(ModelVersion.id == version_id)
            .values(artifact_sha256=hashlib.sha256(tampered).hexdigest())
        )
    refused = client.post(f"{API}/models/{version_id}/promote", headers=analyst)
    assert refused.status_code == 409
    assert "signature" in refused.json()["detail"]
    assert client.get(f"{API}/served", headers=officer).json() == []
    with engine.connect() as conn:
        assert conn.execute(select(PredictionLog)).first() is None
    engine.dispose()


def test_roles_per_design_matrix(client: TestClient, token_factory: object) -> None:
    citizen = token_factory.headers(roles=["citizen"])  # type: ignore[attr-defined]
    supervisor = token_factory.headers(roles=["supervisor"])  # type: ignore[attr-defined]
    service = token_factory.headers(roles=["service"])  # type: ignore[attr-defined]
    job = {"kind": "classifier"}
    for headers in (citizen, supervisor, service):
        assert client.post(f"{API}/jobs", json=job, headers=headers).status_code == 403
    assert (
        client.post(f"{API}/classify", json={"incident": INCIDENT}, headers=citizen).status_code
        == 403
    )
    assert client.post(f"{API}/classify", json={"incident": INCIDENT}).status_code == 401
    # A supervisor may ask for predictions (there is just no model yet).
    assert (
        client.post(f"{API}/classify", json={"incident": INCIDENT}, headers=supervisor).status_code
        == 409
    )


def test_bad_training_requests_are_refused(client: TestClient, analyst: dict[str, str]) -> None:
    bad = [
        {"kind": "classifier", "algorithms": ["svm"]},
        {"kind": "classifier", "grids": {"decision_tree": {"criterion": ["gini"]}}},
        {"kind": "classifier", "grids": {"decision_tree": {"max_depth": [-1]}}},
        {"kind": "forecast_week", "horizon": 0},
        {"kind": "everything"},
    ]
    for body in bad:
        response = client.post(f"{API}/jobs", json=body, headers=analyst)
        assert response.status_code == 422, body
    assert client.get(f"{API}/jobs", headers=analyst).json()["items"] == []


def test_training_without_enough_data_fails_cleanly(
    client: TestClient, database_url: str, analyst: dict[str, str]
) -> None:
    store_incidents(database_url, synthetic_incidents(20))
    job_id = client.post(f"{API}/jobs", json={"kind": "classifier"}, headers=analyst).json()["id"]
    job = wait_for_job(client, job_id, analyst)
    assert job["status"] == "failed"
    assert "at least" in job["message"]
    assert client.get(f"{API}/models", headers=analyst).json()["items"] == []
