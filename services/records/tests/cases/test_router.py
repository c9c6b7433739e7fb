"""Cases: only the assigned officer or a supervisor writes; closing waits for approved reports."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

CASES = "/api/v1/records/cases"
INCIDENTS = "/api/v1/records/incidents"


def make_incident(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    body = {"category": "robbery", "occurred_from": "2026-05-01T20:00:00Z"}
    response = client.post(INCIDENTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def post_with_etag(client: TestClient, url: str, path: str, body: Any, headers: dict) -> Any:
    etag = client.get(url, headers=headers).headers["ETag"]
    return client.post(url + path, json=body, headers={**headers, "If-Match": etag})


def test_case_writers_diary_and_closing(client: TestClient, auth) -> None:
    assigned = auth("officer", station="ST-1", subject="pc-assigned")
    colleague = auth("officer", station="ST-1", subject="pc-colleague")
    supervisor = auth("supervisor", station="ST-1", subject="sgt-1")
    incident = make_incident(client, assigned)
    created = client.post(
        CASES,
        json={"title": "Robbery on Queen St", "incident_ids": [incident["id"]]},
        headers=assigned,
    )
    assert created.status_code == 201
    case = created.json()
    assert case["assigned_officer"] == "pc-assigned"
    assert case["case_number"].startswith("CASE-")
    url = f"{CASES}/{case['id']}"

    entry = {"entry_at": "2026-05-02T09:30:00Z", "text": "Canvassed the street; two witnesses."}
    assert client.post(url + "/diary", json=entry, headers=assigned).status_code == 201
    assert client.post(url + "/diary", json=entry, headers=colleague).status_code == 403
    future = {"entry_at": "2999-01-01T00:00:00Z", "text": "not yet"}
    assert client.post(url + "/diary", json=future, headers=assigned).status_code == 422
    later = {"entry_at": "2026-05-02T10:00:00Z", "text": "Reviewed the file."}
    assert client.post(url + "/diary", json=later, headers=supervisor).status_code == 201
    diary = client.get(url + "/diary", headers=colleague).json()["items"]
    assert [d["author"] for d in diary] == ["pc-assigned", "sgt-1"]
    assert "text" not in client.get(url + "/diary", headers=auth("analyst")).json()["items"][0]

    etag = client.get(url, headers=colleague).headers["ETag"]
    edit = client.patch(url, json={"title": "x"}, headers={**colleague, "If-Match": etag})
    assert edit.status_code == 403

    # Closing: not by the officer, and not before the incident's report is approved.
    assert post_with_etag(client, url, "/status", {"status": "closed"}, assigned).status_code == 403
    refused = post_with_etag(client, url, "/status", {"status": "closed"}, supervisor)
    assert refused.status_code == 409
    assert refused.json()["unapproved"] == [incident["crime_id"]]
    incident_url = f"{INCIDENTS}/{incident['id']}"
    post_with_etag(client, incident_url, "/review", {"action": "submit"}, assigned)
    post_with_etag(client, incident_url, "/review", {"action": "approve"}, supervisor)
    closed = post_with_etag(client, url, "/status", {"status": "closed"}, supervisor)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert client.post(url + "/diary", json=entry, headers=assigned).status_code == 409


def test_reassignment_moves_write_rights(client: TestClient, auth) -> None:
    first = auth("officer", subject="pc-first")
    second = auth("officer", subject="pc-second")
    supervisor = auth("supervisor", subject="sgt")
    incident = make_incident(client, first)
    case = client.post(
        CASES, json={"title": "Case", "incident_ids": [incident["id"]]}, headers=first
    ).json()
    url = f"{CASES}/{case['id']}"
    by_officer = post_with_etag(client, url, "/assign", {"assigned_officer": "pc-second"}, first)
    assert by_officer.status_code == 403
    moved = post_with_etag(client, url, "/assign", {"assigned_officer": "pc-second"}, supervisor)
    assert moved.json()["assigned_officer"] == "pc-second"
    entry = {"entry_at": "2026-05-02T09:30:00Z", "text": "Took over."}
    assert client.post(url + "/diary", json=entry, headers=first).status_code == 403
    assert client.post(url + "/diary", json=entry, headers=second).status_code == 201


def test_list_cases_by_officer_with_cursor(client: TestClient, auth) -> None:
    officer = auth("officer", subject="pc-lister")
    incident = make_incident(client, officer)
    for n in range(3):
        created = client.post(
            CASES, json={"title": f"Case {n}", "incident_ids": [incident["id"]]}, headers=officer
        )
        assert created.status_code == 201
    titles, cursor = [], None
    while True:
        params = {
            "assigned_officer": "pc-lister",
            "limit": 2,
            **({"cursor": cursor} if cursor else {}),
        }
        page = client.get(CASES, params=params, headers=officer).json()
        titles += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert titles == ["Case 2", "Case 1", "Case 0"]
    assert client.get(CASES, headers=auth("citizen")).status_code == 403
