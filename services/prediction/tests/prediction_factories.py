"""Small factories: synthetic incidents with a learnable category signal, stored or as frames."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from prediction_service.sync.models import Incident
from servicekit.db import normalize_url

CATEGORIES = ("assault", "burglary", "theft", "vehicle_theft")
PREMISES = ("House", "Apartment", "Commercial", "Outside")
AREAS = ("North", "South", "East", "West")


def synthetic_incidents(
    n: int = 400, *, seed: int = 0, start: datetime | None = None, days: int = 420
) -> pd.DataFrame:
    """Incidents whose category depends on premises, hour and place (so models can learn)."""
    rng = np.random.default_rng(seed)
    start = start or datetime(2024, 1, 1, tzinfo=UTC)
    offsets = np.sort(rng.uniform(0, days * 86400, n))
    occurred = [start + timedelta(seconds=float(s)) for s in offsets]
    premises = rng.choice(PREMISES, n)
    area = rng.choice(AREAS, n)
    spots = rng.integers(0, 12, n)
    lat = 43.6 + spots * 0.01
    lon = -79.4 + spots * 0.01
    hours = np.array([o.hour for o in occurred])
    category = []
    for p, h, s in zip(premises, hours, spots, strict=True):
        weights = np.ones(len(CATEGORIES))
        weights[CATEGORIES.index("burglary")] += 4 if p == "House" else 0
        weights[CATEGORIES.index("vehicle_theft")] += 4 if p == "Outside" else 0
        weights[CATEGORIES.index("assault")] += 3 if (h >= 20 or h < 4) else 0
        weights[CATEGORIES.index("theft")] += 3 if p == "Commercial" else 0
        weights[s % len(CATEGORIES)] += 2
        category.append(rng.choice(CATEGORIES, p=weights / weights.sum()))
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(occurred, utc=True),
            "category": category,
            "premises_type": premises,
            "area": area,
            "lat": lat,
            "lon": lon,
        }
    )


def store_incidents(database_url: str, frame: pd.DataFrame) -> list[str]:
    """Write incidents straight into the prediction service's copy (as a sync would)."""
    engine = create_engine(normalize_url(database_url))
    ids = []
    now = datetime.now(UTC)
    with Session(engine) as session:
        for row in frame.itertuples(index=False):
            incident_id = str(uuid.uuid4())
            ids.append(incident_id)
            session.add(
                Incident(
                    id=incident_id,
                    crime_id=None,
                    category=row.category,
                    source_code=None,
                    occurred_from=row.occurred_at.to_pydatetime(),
                    lat=float(row.lat),
                    lon=float(row.lon),
                    area=row.area,
                    premises_type=row.premises_type,
                    station_id="ST-1",
                    status="reported",
                    updated_at=now,
                    synced_at=now,
                )
            )
        session.commit()
    engine.dispose()
    return ids


def wait_for_job(
    client: TestClient, job_id: str, headers: dict[str, str], timeout: float = 90.0
) -> dict[str, Any]:
    """Poll a training job until it leaves queued/running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/prediction/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s")


def train(client: TestClient, headers: dict[str, str], **body: Any) -> list[str]:
    """Start a training job through the API, wait for it to succeed, and return the ids of
    the model versions it registered."""
    start = client.post("/api/v1/prediction/jobs", json=body, headers=headers)
    assert start.status_code == 202, start.text
    job = wait_for_job(client, start.json()["id"], headers)
    assert job["status"] == "succeeded", job
    ids: list[str] = job["result"]["model_version_ids"]
    return ids
