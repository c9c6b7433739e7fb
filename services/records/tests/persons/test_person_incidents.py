"""GET /persons/{id}/incidents: a person's roles in incidents, with the incident list's access
rules (sealed for admin/supervisor only, deleted left out, masked for analysts) and audited."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from servicekit.testing import TokenFactory

PERSONS = "/api/v1/records/persons"
INCIDENTS = "/api/v1/records/incidents"
AUDIT = "/api/v1/records/audit"


def make_incident(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "category": "robbery",
        "occurred_from": "2026-05-01T20:00:00Z",
        "address": "1 Queen St",
        "narrative": "Phone taken at knifepoint.",
        **fields,
    }
    response = client.post(INCIDENTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def link(client: TestClient, headers: dict, incident: dict, person: dict, role: str) -> None:
    response = client.post(
        f"{INCIDENTS}/{incident['id']}/persons",
        json={"person_id": person["id"], "role": role},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def with_etag(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "If-Match": client.get(url, headers=headers).headers["ETag"]}


def read_all(client: TestClient, url: str, headers: dict[str, str], limit: int) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_roles_in_incidents_paginated_newest_first(client: TestClient, auth) -> None:
    officer = auth("officer")
    person = client.post(
        PERSONS, json={"given_name": "Rita", "family_name": "Ramos"}, headers=officer
    ).json()
    other = client.post(
        PERSONS, json={"given_name": "Otto", "family_name": "Other"}, headers=officer
    ).json()
    older = make_incident(client, officer, occurred_from="2026-01-01T10:00:00Z")
    newer = make_incident(client, officer, occurred_from="2026-06-01T10:00:00Z")
    middle = make_incident(client, officer, occurred_from="2026-03-01T10:00:00Z")
    unrelated = make_incident(client, officer, occurred_from="2026-04-01T10:00:00Z")
    link(client, officer, older, person, "witness")
    link(client, officer, newer, person, "victim")
    link(client, officer, newer, person, "complainant")
    link(client, officer, middle, person, "suspect")
    link(client, officer, unrelated, other, "suspect")

    url = f"{PERSONS}/{person['id']}/incidents"
    items = read_all(client, url, officer, limit=2)
    assert [(i["id"], i["role"]) for i in items][2:] == [
        (middle["id"], "suspect"),
        (older["id"], "witness"),
    ]
    assert {(i["id"], i["role"]) for i in items[:2]} == {
        (newer["id"], "victim"),
        (newer["id"], "complainant"),
    }
    assert len({i["link_id"] for i in items}) == 4
    # The same public fields as the incident list, plus the role.
    listed = {i["id"]: i for i in client.get(INCIDENTS, headers=officer).json()["items"]}
    for item in items:
        extra = {k: item[k] for k in ("role", "link_id")}
        assert item == {**listed[item["id"]], **extra}
    empty = client.get(f"{PERSONS}/{other['id']}/incidents", headers=officer).json()
    assert [i["id"] for i in empty["items"]] == [unrelated["id"]]
    assert client.get(f"{PERSONS}/no-such-person/incidents", headers=officer).status_code == 404
    assert (
        client.get(url, params={"cursor": "bm90LWEtY3Vyc29y"}, headers=officer).status_code == 400
    )


def test_sealed_deleted_and_masking(client: TestClient, auth, token_factory: TokenFactory) -> None:
    officer = auth("officer")
    supervisor = auth("supervisor")
    admin = auth("admin")
    analyst = auth("analyst")
    person = client.post(
        PERSONS, json={"given_name": "Sam", "family_name": "Sealed"}, headers=officer
    ).json()
    plain = make_incident(client, officer, occurred_from="2026-02-01T10:00:00Z")
    sealed = make_incident(client, officer, occurred_from="2026-02-02T10:00:00Z")
    deleted = make_incident(client, officer, occurred_from="2026-02-03T10:00:00Z")
    sensitive = make_incident(
        client, officer, category="sexual_offence", occurred_from="2026-02-04T10:00:00Z"
    )
    for incident in (plain, sealed, deleted):
        link(client, officer, incident, person, "witness")
    link(client, officer, sensitive, person, "victim")
    sealed_url = f"{INCIDENTS}/{sealed['id']}"
    assert (
        client.post(
            sealed_url + "/seal",
            json={"reason": "court order 12"},
            headers=with_etag(client, sealed_url, supervisor),
        ).status_code
        == 200
    )
    deleted_url = f"{INCIDENTS}/{deleted['id']}"
    assert (
        client.delete(
            deleted_url,
            params={"reason": "duplicate"},
            headers=with_etag(client, deleted_url, admin),
        ).status_code
        == 204
    )
    url = f"{PERSONS}/{person['id']}/incidents"

    def ids(headers: dict[str, str]) -> list[str]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids(officer) == [sensitive["id"], plain["id"]]
    assert ids(supervisor) == [sensitive["id"], sealed["id"], plain["id"]]
    assert ids(admin) == [sensitive["id"], sealed["id"], plain["id"]]
    # Analysts: masked like the incident list, and never told who the victim of a sensitive
    # offence is.
    masked = client.get(url, headers=analyst).json()["items"]
    assert [item["id"] for item in masked] == [plain["id"]]
    assert "narrative" not in masked[0]
    assert "reporting_officer" not in masked[0]
    assert masked[0]["role"] == "witness"
    assert "narrative" in client.get(url, headers=officer).json()["items"][0]

    # Those who may not read records, or a deleted person (for all but admin).
    citizen = token_factory.headers(roles=["citizen"], subject="cit", station_id=None)
    service = token_factory.headers(roles=["service"], subject="svc:prediction", station_id=None)
    assert client.get(url, headers=citizen).status_code == 403
    assert client.get(url, headers=service).status_code == 403
    assert client.get(url).status_code == 401
    person_url = f"{PERSONS}/{person['id']}"
    assert (
        client.delete(
            person_url, params={"reason": "merged"}, headers=with_etag(client, person_url, admin)
        ).status_code
        == 204
    )
    assert client.get(url, headers=officer).status_code == 404
    assert client.get(url, headers=admin).status_code == 200

    # Audited as a read of the person, and the sealed incident's read as such.
    entries = client.get(
        AUDIT, params={"target_id": person["id"], "action": "person.read"}, headers=admin
    ).json()["items"]
    views = [e for e in entries if (e["details"] or {}).get("view") == "incidents"]
    assert {e["actor"] for e in views} >= {"officer-ST-1", "supervisor-ST-1", "analyst-ST-1"}
    sealed_reads = client.get(
        AUDIT, params={"target_id": sealed["id"], "action": "incident.read_sealed"}, headers=admin
    ).json()["items"]
    assert {e["actor"] for e in sealed_reads} >= {"supervisor-ST-1", "admin-ST-1"}
