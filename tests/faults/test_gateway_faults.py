"""The gateway in front of failing and restarting services, with real processes.

- One upstream stops: the gateway answers 503 problem+json for it at once (no hang until a
  timeout) and keeps serving the others. It comes back: traffic recovers, gateway untouched.
- A rolling restart of records (two replicas behind a readiness-aware balancer, each drained
  on SIGTERM) under a steady mixed load through the gateway: no 5xx, every create kept.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# A client that waits longer than this for a 503 would see a hang, not "quickly".
CLIENT_TIMEOUT = 5.0


def create_body(marker: str) -> dict:
    return {
        "category": "robbery",
        "occurred_from": "2026-10-05T21:40:00Z",
        "lat": 43.65,
        "lon": -79.38,
        "area": "Downtown",
        "narrative": marker,
    }


def test_one_upstream_down_is_503_for_it_alone_and_recovers_without_a_gateway_restart(stack):
    records = stack.start_service("records")
    prediction = stack.start_service("prediction")
    gateway = stack.start_gateway(
        {"records": records.url, "prediction": prediction.url},
        GATEWAY_BREAKER_OPEN_SECONDS="1",
        GATEWAY_READINESS_INTERVAL="0.5",
    )
    gateway_pid = gateway.process.pid
    officer = stack.headers("officer")
    with httpx.Client(base_url=gateway.url, timeout=CLIENT_TIMEOUT) as client:

        def records_ok() -> None:
            response = client.get("/api/v1/records/incidents", headers=officer)
            assert response.status_code == 200, response.text

        def prediction_status() -> int:
            return client.get("/api/v1/prediction/openapi.json").status_code

        records_ok()
        assert prediction_status() == 200

        prediction.kill()
        for _ in range(15):
            response = client.get("/api/v1/prediction/openapi.json")
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            assert int(response.headers["retry-after"]) > 0
            assert response.json()["status"] == 503
            records_ok()  # the others are untouched
        # The gateway's /readyz reports each upstream (checked in the background).
        deadline = time.monotonic() + 15
        while True:
            checks = client.get("/readyz").json()["checks"]
            if checks["prediction"]["ok"] is False:
                break
            assert time.monotonic() < deadline, checks
            time.sleep(0.2)
        assert checks["records"]["ok"] is True

        prediction.start()  # same port, same database
        deadline = time.monotonic() + 30
        while prediction_status() != 200:
            assert time.monotonic() < deadline, "traffic to prediction did not recover"
            time.sleep(0.2)
        for _ in range(5):
            assert prediction_status() == 200
            records_ok()
    assert gateway.alive()
    assert gateway.process.pid == gateway_pid


def test_rolling_restart_of_records_under_load_gives_no_5xx(stack):
    first = stack.start_service("records", drain_seconds=1.0)
    second = stack.start_service("records", drain_seconds=1.0)
    balancer = stack.balancer([first.url, second.url])
    gateway = stack.start_gateway({"records": balancer.url})
    officer = stack.headers("officer", subject="officer-rolling")
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    created: list[tuple[str, str]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(worker: int) -> None:
        n = 0
        with httpx.Client(base_url=gateway.url, timeout=15.0) as client:
            while not stop.is_set():
                n += 1
                try:
                    if n % 3 == 0:
                        marker = f"rolling-{worker}-{uuid.uuid4()}"
                        response = client.post(
                            "/api/v1/records/incidents",
                            json=create_body(marker),
                            headers={**officer, "Idempotency-Key": marker},
                        )
                        if response.status_code == 201:
                            with lock:
                                created.append((response.json()["id"], marker))
                    elif n % 3 == 1 and created:
                        incident_id, _ = created[-1]
                        response = client.get(
                            f"/api/v1/records/incidents/{incident_id}", headers=officer
                        )
                    else:
                        response = client.get("/api/v1/records/incidents?limit=20", headers=officer)
                except httpx.HTTPError as exc:
                    with lock:
                        failures.append(repr(exc))
                    continue
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        failures.append(f"{response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.5)
        # Like a Deployment with maxSurge 1, maxUnavailable 0: start the new replica, wait until
        # it is ready and routed, then SIGTERM the old one (it drains, then exits).
        for old in (first, second):
            replacement = stack.start_service("records", drain_seconds=1.0)
            balancer.backends.append(replacement.url)
            deadline = time.monotonic() + 10
            while replacement.url not in balancer.ready:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            old.terminate(timeout=30)
            balancer.backends.remove(old.url)
            time.sleep(1.0)
        time.sleep(1.0)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)

    assert sum(statuses.values()) > 100, statuses
    assert not failures, (failures[:10], statuses)
    assert set(statuses) <= {200, 201}, statuses
    assert not first.alive()
    assert not second.alive()
    with httpx.Client(base_url=gateway.url, timeout=10.0) as client:
        for incident_id, marker in created:
            response = client.get(f"/api/v1/records/incidents/{incident_id}", headers=officer)
            assert response.status_code == 200
            assert response.json()["narrative"] == marker
