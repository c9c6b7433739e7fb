"""One active job per model kind (enforced by the database), cancellation, stale workers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prediction_factories import store_incidents, synthetic_incidents, wait_for_job
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prediction_service.jobs.models import TrainingJob
from prediction_service.jobs.service import create_job
from servicekit.db import normalize_url

API = "/api/v1/prediction"


def _job(kind: str, status: str, **extra: object) -> TrainingJob:
    return TrainingJob(
        id=str(uuid.uuid4()),
        kind=kind,
        status=status,
        progress=0.0,
        params={"algorithms": ["logistic_regression"]},
        cancel_requested=False,
        created_by="tester",
        created_at=datetime.now(UTC),
        **extra,
    )


def test_database_refuses_a_second_active_job_of_a_kind(
    client: TestClient, database_url: str
) -> None:
    engine = create_engine(normalize_url(database_url))
    with Session(engine) as session:
        session.add(_job("classifier", "running"))
        session.commit()
    # A second replica writing directly still cannot start another one of the same kind...
    with Session(engine) as session:
        session.add(_job("classifier", "queued"))
        with pytest.raises(IntegrityError):
            session.commit()
    # ...but other kinds, and finished jobs of the same kind, are fine.
    with Session(engine) as session:
        session.add(_job("forecast_week", "queued"))
        session.add(_job("classifier", "succeeded"))
        session.add(_job("classifier", "failed"))
        session.commit()
    engine.dispose()


def test_second_job_of_a_kind_is_409_and_cancel_of_queued_job(
    client: TestClient, database_url: str, analyst: dict[str, str]
) -> None:
    engine = create_engine(normalize_url(database_url))
    with Session(engine) as session:
        queued = create_job(session, kind="classifier", params={"algorithms": []}, actor="x")
        session.commit()
        queued_id = queued.id
    response = client.post(f"{API}/jobs", json={"kind": "classifier"}, headers=analyst)
    assert response.status_code == 409
    assert response.json()["active_job_id"] == queued_id

    cancelled = client.post(f"{API}/jobs/{queued_id}/cancel", headers=analyst)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert client.post(f"{API}/jobs/{queued_id}/cancel", headers=analyst).status_code == 409
    engine.dispose()


def test_running_job_stops_when_cancelled(client: TestClient, database_url: str) -> None:
    store_incidents(database_url, synthetic_incidents(200))
    engine = create_engine(normalize_url(database_url))
    with Session(engine) as session:
        job = create_job(
            session,
            kind="classifier",
            params={"algorithms": ["random_forest"], "class_balanced": False, "grids": None},
            actor="analyst-1",
        )
        job.cancel_requested = True  # a cancel that arrives as the worker starts
        session.commit()
        job_id = job.id
    client.app.state.job_runner.run(job_id)  # type: ignore[attr-defined]
    with Session(engine) as session:
        stored = session.get(TrainingJob, job_id)
        assert stored is not None
        assert stored.status == "cancelled"
        assert stored.finished_at is not None
    engine.dispose()


def test_job_of_a_vanished_worker_is_failed_and_frees_the_kind(
    client: TestClient, database_url: str, analyst: dict[str, str]
) -> None:
    engine = create_engine(normalize_url(database_url))
    old = datetime.now(UTC) - timedelta(hours=1)
    with Session(engine) as session:
        session.add(_job("forecast_week", "running", heartbeat_at=old, started_at=old))
        session.commit()
    assert (
        client.post(f"{API}/jobs", json={"kind": "forecast_week"}, headers=analyst).status_code
        == 409
    )
    client.app.state.job_runner.supervise()  # type: ignore[attr-defined]
    with Session(engine) as session:
        statuses = session.scalars(
            select(TrainingJob.status).where(TrainingJob.kind == "forecast_week")
        ).all()
    assert statuses == ["failed"]
    started = client.post(f"{API}/jobs", json={"kind": "forecast_week"}, headers=analyst)
    assert started.status_code == 202
    finished = wait_for_job(client, started.json()["id"], analyst)
    assert finished["status"] == "failed"
    assert finished["message"] == "no incidents to forecast from"
    engine.dispose()
