"""Incidents over HTTP: create, read, edit with ETags, review workflow, seal, delete, filters."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

BASE = "/api/v1/records/incidents"


def incident_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "category": "burglary",
        "source_code": "B&E",
        "occurred_from": "2026-03-01T21:00:00Z",
        "occurred_to": "2026-03-01T23:00:00Z",
        "reported_at": "2026-03-02T08:00:00+01:00",
        "address": "12 King St W",
        "lat": 43.65,
        "lon": -79.38,
        "area": "Waterfront",
        "premises_type": "House",
        "narrative": "Rear door forced; laptop taken. Victim: Jane Roe.",
    }
    body.update(overrides)
    return body


def make_incident(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = client.post(BASE, json=incident_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_gives_crime_id_station_and_etag(client: TestClient, auth) -> None:
    officer = auth("officer", station="ST-1", subject="pc-101")
    response = client.post(BASE, json=incident_body(), headers=officer)
    assert response.status_code == 201
    body = response.json()
    assert body["crime_id"].startswith("CR-2026-")
    assert body["station_id"] == "ST-1"
    assert body["reporting_officer"] == "pc-101"
    assert body["review_status"] == "draft"
    assert body["status"] == "reported"
    assert body["reported_at"] == "2026-03-02T07:00:00Z"
    assert response.headers["ETag"] == f'"incident-{body["id"]}-v1"'
    read = client.get(f"{BASE}/{body['id']}", headers=officer)
    assert read.status_code == 200
    assert read.json() == body
    second = make_incident(client, officer)
    assert second["crime_id"] != body["crime_id"]


def test_invalid_input_is_refused_and_changes_nothing(client: TestClient, auth) -> None:
    officer = auth("officer")
    bad = [
        incident_body(lat=91.0),
        incident_body(lon=-181.0),
        incident_body(category="jaywalking"),
        incident_body(occurred_from="2026-03-01T21:00:00"),  # no offset
        incident_body(occurred_to="2026-02-01T00:00:00Z"),  # ends before it starts
        incident_body(reported_at="2026-02-01T00:00:00Z"),  # reported before it happened
        incident_body(lat=None),  # lat without lon
    ]
    for body in bad:
        response = client.post(BASE, json=body, headers=officer)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(BASE, headers=officer).json()["items"] == []


def test_mass_assignment_changes_nothing(client: TestClient, auth) -> None:
    officer = auth("officer", station="ST-1", subject="pc-1")
    forged = {
        "id": "00000000-0000-0000-0000-000000000000",
        "version": 99,
        "created_by": "someone-else",
        "status": "closed",
        "review_status": "approved",
        "crime_id": "CR-1999-000001",
        "sealed": True,
    }
    for field, value in forged.items():
        response = client.post(BASE, json=incident_body(**{field: value}), headers=officer)
        assert response.status_code == 422, field
    assert client.get(BASE, headers=officer).json()["items"] == []
    # An officer cannot file for another station.
    other = client.post(BASE, json=incident_body(station_id="ST-2"), headers=officer)
    assert other.status_code == 403

    created = client.post(BASE, json=incident_body(), headers=officer)
    incident = created.json()
    etag = created.headers["ETag"]
    for field, value in {**forged, "station_id": "ST-2"}.items():
        response = client.patch(
            f"{BASE}/{incident['id']}",
            json={field: value},
            headers={**officer, "If-Match": etag},
        )
        assert response.status_code == 422, field
    after = client.get(f"{BASE}/{incident['id']}", headers=officer).json()
    assert after == incident


def test_if_match_required_and_stale_refused(client: TestClient, auth) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    url = f"{BASE}/{incident['id']}"
    missing = client.patch(url, json={"area": "Annex"}, headers=officer)
    assert missing.status_code == 428
    ok = client.patch(
        url,
        json={"area": "Annex"},
        headers={**officer, "If-Match": f'"incident-{incident["id"]}-v1"'},
    )
    assert ok.status_code == 200
    assert ok.json()["area"] == "Annex"
    assert ok.json()["version"] == 2
    assert ok.headers["ETag"].endswith('-v2"')
    stale = client.patch(
        url,
        json={"area": "Junction"},
        headers={**officer, "If-Match": f'"incident-{incident["id"]}-v1"'},
    )
    assert stale.status_code == 412
    assert client.get(url, headers=officer).json()["area"] == "Annex"


def test_review_workflow_and_amendment(client: TestClient, auth) -> None:
    officer = auth("officer", subject="pc-7")
    supervisor = auth("supervisor", subject="sgt-1")
    incident = make_incident(client, officer)
    url = f"{BASE}/{incident['id']}"

    def act(headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
        etag = client.get(url, headers=headers).headers["ETag"]
        return client.post(url + path, json=body, headers={**headers, "If-Match": etag})

    assert act(officer, "/review", {"action": "approve"}).status_code == 403
    assert act(supervisor, "/review", {"action": "approve"}).status_code == 409  # still draft
    assert act(officer, "/review", {"action": "submit"}).json()["review_status"] == "submitted"
    returned = act(supervisor, "/review", {"action": "return", "note": "add the time"})
    assert returned.json()["review_status"] == "returned"
    assert act(officer, "/review", {"action": "submit"}).status_code == 200
    assert act(supervisor, "/review", {"action": "approve"}).json()["review_status"] == "approved"

    # Approved: direct edits are refused; an amendment with a reason works and is audited.
    etag = client.get(url, headers=officer).headers["ETag"]
    edit = client.patch(url, json={"area": "Annex"}, headers={**officer, "If-Match": etag})
    assert edit.status_code == 409
    amended = act(officer, "/amendments", {"reason": "wrong area", "changes": {"area": "Annex"}})
    assert amended.status_code == 200
    assert amended.json()["area"] == "Annex"
    assert amended.json()["review_status"] == "approved"
    audit = client.get(
        "/api/v1/records/audit", params={"target_id": incident["id"]}, headers=auth("admin")
    ).json()["items"]
    amendment = next(e for e in audit if e["action"] == "incident.amend")
    assert amendment["actor"] == "pc-7"
    assert amendment["details"]["reason"] == "wrong area"
    assert amendment["details"]["changes"]["area"] == {"from": "Waterfront", "to": "Annex"}

    # Closing needs a supervisor; it worked only because the report is approved.
    assert act(officer, "/status", {"status": "under_investigation"}).status_code == 200
    assert act(officer, "/status", {"status": "closed"}).status_code == 403
    assert act(supervisor, "/status", {"status": "closed"}).json()["status"] == "closed"


def test_close_refused_before_approval(client: TestClient, auth) -> None:
    supervisor = auth("supervisor")
    incident = make_incident(client, supervisor)
    url = f"{BASE}/{incident['id']}"
    etag = client.get(url, headers=supervisor).headers["ETag"]
    response = client.post(
        url + "/status", json={"status": "closed"}, headers={**supervisor, "If-Match": etag}
    )
    assert response.status_code == 409


def test_soft_delete_and_restore(client: TestClient, auth) -> None:
    admin = auth("admin", station=None)
    officer = auth("officer")
    incident = make_incident(client, officer)
    url = f"{BASE}/{incident['id']}"
    etag = client.get(url, headers=admin).headers["ETag"]
    no_reason = client.delete(url, headers={**admin, "If-Match": etag})
    assert no_reason.status_code == 422
    by_officer = client.delete(url, params={"reason": "dup"}, headers={**officer, "If-Match": etag})
    assert by_officer.status_code == 403
    deleted = client.delete(
        url, params={"reason": "duplicate of another"}, headers={**admin, "If-Match": etag}
    )
    assert deleted.status_code == 204
    assert client.get(url, headers=officer).status_code == 404
    assert client.get(BASE, headers=officer).json()["items"] == []
    seen = client.get(url, headers=admin)
    assert seen.json()["deleted"] is True
    assert seen.json()["delete_reason"] == "duplicate of another"
    restored = client.post(url + "/restore", headers={**admin, "If-Match": seen.headers["ETag"]})
    assert restored.status_code == 200
    assert client.get(url, headers=officer).json()["deleted"] is False


def test_idempotency_key_on_create(client: TestClient, auth) -> None:
    officer = auth("officer", subject="pc-9")
    key = {"Idempotency-Key": "create-1"}
    first = client.post(BASE, json=incident_body(), headers={**officer, **key})
    again = client.post(BASE, json=incident_body(), headers={**officer, **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    different = client.post(BASE, json=incident_body(area="Annex"), headers={**officer, **key})
    assert different.status_code == 409
    assert len(client.get(BASE, headers=officer).json()["items"]) == 1


def test_filters_and_cursor_pagination(client: TestClient, auth) -> None:
    officer = auth("officer", station="ST-1")
    other = auth("officer", station="ST-2")
    for day in range(1, 6):
        make_incident(client, officer, occurred_from=f"2026-04-0{day}T10:00:00Z", occurred_to=None,
                      reported_at=f"2026-04-0{day}T12:00:00Z")  # fmt: skip
    make_incident(client, other, category="robbery", lat=45.0, lon=-75.0)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "station_id": "ST-1"}
        if cursor:
            params["cursor"] = cursor
        page = client.get(BASE, params=params, headers=officer).json()
        seen += [item["occurred_from"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"2026-04-0{day}T10:00:00Z" for day in range(5, 0, -1)]
    robbery = client.get(BASE, params={"category": "robbery"}, headers=officer).json()["items"]
    assert [i["station_id"] for i in robbery] == ["ST-2"]
    boxed = client.get(
        BASE,
        params={"min_lat": 44, "min_lon": -76, "max_lat": 46, "max_lon": -74},
        headers=officer,
    ).json()["items"]
    assert [i["category"] for i in boxed] == ["robbery"]
    window = client.get(
        BASE,
        params={
            "occurred_after": "2026-04-02T00:00:00Z",
            "occurred_before": "2026-04-04T00:00:00Z",
        },
        headers=officer,
    ).json()["items"]
    assert len(window) == 2
    crime_id = robbery[0]["crime_id"]
    exact = client.get(BASE, params={"crime_id": crime_id}, headers=officer).json()["items"]
    assert [i["crime_id"] for i in exact] == [crime_id]
    assert client.get(BASE, params={"cursor": "garbage!"}, headers=officer).status_code == 400
