"""Locust user for bench/load_mixed.py: the mixed workload an agency puts on the gateway.

Not run on its own: `uv run python bench/load_mixed.py` starts the system and drives this file
with locust headless. Tokens and seeded ids come in LOAD_CONTEXT (JSON).
"""

from __future__ import annotations

import json
import os
import random
import uuid

from locust import HttpUser, between, task

CONTEXT = json.loads(os.environ.get("LOAD_CONTEXT", "{}"))
CATEGORIES = ("assault", "robbery", "burglary", "theft", "vehicle_theft")
NAMES = ("smith", "jonse", "garcia", "nguyen", "oconnor", "patel", "kowalski")


class Officer(HttpUser):
    """An officer or analyst at a desk: searches, reads, files reports, checks figures."""

    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.headers = CONTEXT.get("officer", {})
        self.analyst = CONTEXT.get("analyst", {})
        self.incidents = list(CONTEXT.get("incidents", []))

    @task(3)
    def search_incidents(self) -> None:
        self.client.get(
            "/api/v1/records/incidents",
            params={"category": random.choice(CATEGORIES), "limit": 20},
            headers=self.headers,
            name="search incidents",
        )

    @task(2)
    def search_persons(self) -> None:
        self.client.get(
            "/api/v1/records/persons",
            params={"name": random.choice(NAMES)},
            headers=self.headers,
            name="search persons",
        )

    @task(3)
    def read_incident(self) -> None:
        if self.incidents:
            self.client.get(
                f"/api/v1/records/incidents/{random.choice(self.incidents)}",
                headers=self.headers,
                name="read incident",
            )

    @task(2)
    def create_incident(self) -> None:
        key = str(uuid.uuid4())
        response = self.client.post(
            "/api/v1/records/incidents",
            json={
                "category": random.choice(CATEGORIES),
                "occurred_from": f"2026-{random.randint(1, 11):02d}-{random.randint(1, 28):02d}"
                f"T{random.randint(0, 23):02d}:00:00Z",
                "lat": 43.6 + random.random() / 5,
                "lon": -79.5 + random.random() / 5,
                "area": f"Area {random.randint(1, 40)}",
                "narrative": "Load test report " + key,
            },
            headers={**self.headers, "Idempotency-Key": key},
            name="create incident",
        )
        if response.status_code == 201:
            self.incidents.append(response.json()["id"])

    @task(1)
    def statistics(self) -> None:
        self.client.get(
            "/api/v1/records/statistics/counts",
            params={
                "from": "2026-01-01T00:00:00Z",
                "to": "2026-12-01T00:00:00Z",
                "group_by": "category",
                "bucket": "month",
            },
            headers=self.analyst,
            name="statistics",
        )

    @task(1)
    def model_registry(self) -> None:
        self.client.get("/api/v1/prediction/models", headers=self.analyst, name="prediction models")


if __name__ == "__main__":
    print("This is a locustfile; run `uv run python bench/load_mixed.py`.")
