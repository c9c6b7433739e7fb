"""Two writers with the same ETag: one wins, one gets 412. The audit chain shows tampering."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from servicekit.db import normalize_url

INCIDENTS = "/api/v1/records/incidents"


def test_concurrent_updates_with_same_etag_one_wins(client: TestClient, auth) -> None:
    officer = auth("officer")
    created = client.post(
        INCIDENTS,
        json={"category": "theft", "occurred_from": "2026-05-01T20:00:00Z"},
        headers=officer,
    )
    url = f"{INCIDENTS}/{created.json()['id']}"
    etag = created.headers["ETag"]
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def update(area: str) -> None:
        barrier.wait()
        results[area] = client.patch(
            url, json={"area": area}, headers={**officer, "If-Match": etag}
        )

    threads = [threading.Thread(target=update, args=(area,)) for area in ("North", "South")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(response.status_code for response in results.values())
    assert codes == [200, 412]
    winner = next(area for area, response in results.items() if response.status_code == 200)
    final = client.get(url, headers=officer).json()
    assert final["area"] == winner
    assert final["version"] == 2


def test_changing_one_audit_row_is_named_by_verification(
    client: TestClient, auth, settings
) -> None:
    officer = auth("officer")
    admin = auth("admin", station=None)
    for area in ("A", "B", "C"):
        client.post(
            INCIDENTS,
            json={"category": "theft", "occurred_from": "2026-05-01T20:00:00Z", "area": area},
            headers=officer,
        )
    verify = client.get("/api/v1/records/audit/verify", headers=admin).json()
    assert verify["ok"] is True
    assert verify["checked"] >= 3
    engine = create_engine(normalize_url(settings.database_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'nobody' WHERE id = 2"))
    engine.dispose()
    broken = client.get("/api/v1/records/audit/verify", headers=admin).json()
    assert broken["ok"] is False
    assert broken["first_broken_id"] == 2
    assert client.get("/api/v1/records/audit/verify", headers=officer).status_code == 403


def test_refused_sealed_read_is_audited(client: TestClient, auth) -> None:
    officer = auth("officer", subject="pc-curious")
    supervisor = auth("supervisor")
    created = client.post(
        INCIDENTS,
        json={"category": "homicide", "occurred_from": "2026-05-01T20:00:00Z"},
        headers=officer,
    ).json()
    url = f"{INCIDENTS}/{created['id']}"
    etag = client.get(url, headers=supervisor).headers["ETag"]
    sealed = client.post(
        url + "/seal", json={"reason": "court order"}, headers={**supervisor, "If-Match": etag}
    )
    assert sealed.status_code == 200
    assert client.get(url, headers=officer).status_code == 404
    assert client.get(INCIDENTS, headers=officer).json()["items"] == []
    assert client.get(url, headers=supervisor).status_code == 200
    entries = client.get(
        "/api/v1/records/audit", params={"target_id": created["id"]}, headers=auth("admin")
    ).json()["items"]
    reads = [(e["actor"], e["outcome"]) for e in entries if e["action"] == "incident.read_sealed"]
    assert ("pc-curious", "denied") in reads
    assert ("supervisor-ST-1", "success") in reads
