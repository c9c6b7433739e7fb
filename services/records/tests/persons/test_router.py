"""Persons: duplicate candidates, typo-tolerant name search, masking, roles in incidents."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PERSONS = "/api/v1/records/persons"
INCIDENTS = "/api/v1/records/incidents"


def make_person(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"given_name": "Jonathan", "family_name": "Smithers", "date_of_birth": "1980-05-17"}
    body.update(fields)
    response = client.post(PERSONS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def make_incident(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"category": "assault", "occurred_from": "2026-05-01T20:00:00Z", **fields}
    response = client.post(INCIDENTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_probable_duplicate_returns_candidates(client: TestClient, auth) -> None:
    officer = auth("officer")
    existing = make_person(client, officer, aliases=["Johnny S"], phone="+1 416 555 0100")
    same = client.post(
        PERSONS,
        json={"given_name": "jonathan", "family_name": "SMITHERS", "date_of_birth": "1980-05-17"},
        headers=officer,
    )
    assert same.status_code == 409
    assert [c["id"] for c in same.json()["candidates"]] == [existing["id"]]
    close = client.post(
        PERSONS,
        json={"given_name": "Jonathon", "family_name": "Smithers", "date_of_birth": "1980-05-17"},
        headers=officer,
    )
    assert close.status_code == 409
    assert close.json()["candidates"][0]["id"] == existing["id"]
    # A different birth date is a different person; confirm_new overrides a near match.
    other = client.post(
        PERSONS,
        json={"given_name": "Jonathan", "family_name": "Smithers", "date_of_birth": "1991-01-01"},
        headers=officer,
    )
    assert other.status_code == 201
    forced = client.post(
        PERSONS,
        json={"given_name": "Jonathon", "family_name": "Smithers", "confirm_new": True},
        headers=officer,
    )
    assert forced.status_code == 201


def test_name_search_tolerates_typos_and_partial_names(client: TestClient, auth) -> None:
    officer = auth("officer")
    target = make_person(client, officer, given_name="Margaret", family_name="Okonkwo")
    make_person(client, officer, given_name="Peter", family_name="Lindqvist", date_of_birth=None)
    make_person(client, officer, given_name="Ana", family_name="Silva", aliases=["Ana Beatriz"])
    for query in ("Margaret Okonkwo", "Margret Okonkow", "okonkwo", "Okonkow", "margaret"):
        items = client.get(PERSONS, params={"name": query}, headers=officer).json()["items"]
        assert items, query
        assert items[0]["id"] == target["id"], query
    alias = client.get(PERSONS, params={"name": "Ana Beatriz"}, headers=officer).json()["items"]
    assert alias[0]["family_name"] == "Silva"
    nothing = client.get(PERSONS, params={"name": "Zbigniew"}, headers=officer).json()["items"]
    assert nothing == []


def test_analyst_sees_persons_masked_and_cannot_search_names(client: TestClient, auth) -> None:
    officer = auth("officer")
    analyst = auth("analyst")
    person = make_person(client, officer, phone="555-0100", email="j@example.org")
    masked = client.get(f"{PERSONS}/{person['id']}", headers=analyst)
    assert masked.status_code == 200
    body = masked.json()
    for field in ("given_name", "family_name", "aliases", "date_of_birth", "phone", "email",
                  "address", "identifiers", "created_by"):  # fmt: skip
        assert field not in body, field
    assert body["birth_year"] == 1980
    assert client.get(PERSONS, params={"name": "Smithers"}, headers=analyst).status_code == 403


def test_roles_in_incidents_and_victim_masking(client: TestClient, auth) -> None:
    officer = auth("officer", station="ST-1")
    analyst = auth("analyst")
    victim = make_person(client, officer, given_name="Victoria", family_name="Hale")
    suspect = make_person(client, officer, given_name="Sam", family_name="Quill")
    sensitive = make_incident(client, officer, category="sexual_offence")
    url = f"{INCIDENTS}/{sensitive['id']}/persons"
    assert (
        client.post(
            url, json={"person_id": victim["id"], "role": "victim"}, headers=officer
        ).status_code
        == 201
    )
    assert (
        client.post(
            url, json={"person_id": suspect["id"], "role": "suspect"}, headers=officer
        ).status_code
        == 201
    )
    duplicate = client.post(
        url, json={"person_id": victim["id"], "role": "victim"}, headers=officer
    )
    assert duplicate.status_code == 409
    bad_role = client.post(url, json={"person_id": victim["id"], "role": "hero"}, headers=officer)
    assert bad_role.status_code == 422
    other_station = client.post(
        url,
        json={"person_id": suspect["id"], "role": "witness"},
        headers=auth("officer", station="ST-2"),
    )
    assert other_station.status_code == 403

    full = client.get(url, headers=officer).json()["items"]
    assert {(i["role"], i["person"]["family_name"]) for i in full} == {
        ("victim", "Hale"),
        ("suspect", "Quill"),
    }
    masked = client.get(url, headers=analyst).json()["items"]
    victim_link = next(i for i in masked if i["role"] == "victim")
    assert "person_id" not in victim_link
    assert "person" not in victim_link
    suspect_link = next(i for i in masked if i["role"] == "suspect")
    assert suspect_link["person_id"] == suspect["id"]
    assert "family_name" not in suspect_link["person"]
    # The analyst's view of the incident itself drops narrative and, for sensitive offences,
    # the address.
    incident = client.get(f"{INCIDENTS}/{sensitive['id']}", headers=analyst).json()
    assert "narrative" not in incident
    assert "address" not in incident
    assert incident["category"] == "sexual_offence"


def test_person_reads_are_audited(client: TestClient, auth) -> None:
    officer = auth("officer", subject="pc-reader")
    person = make_person(client, officer)
    client.get(f"{PERSONS}/{person['id']}", headers=officer)
    entries = client.get(
        "/api/v1/records/audit", params={"target_id": person["id"]}, headers=auth("admin")
    ).json()["items"]
    assert [e["action"] for e in entries] == ["person.read", "person.create"]
    assert entries[0]["actor"] == "pc-reader"
    assert entries[0]["source_ip"]


def test_accused_only_on_a_submitted_report(client: TestClient, auth) -> None:
    officer = auth("officer")
    person = make_person(client, officer, given_name="Carl", family_name="Ames")
    incident = make_incident(client, officer, category="robbery")
    url = f"{INCIDENTS}/{incident['id']}/persons"
    early = client.post(url, json={"person_id": person["id"], "role": "accused"}, headers=officer)
    assert early.status_code == 409
    etag = client.get(f"{INCIDENTS}/{incident['id']}", headers=officer).headers["ETag"]
    submitted = client.post(
        f"{INCIDENTS}/{incident['id']}/review",
        json={"action": "submit"},
        headers={**officer, "If-Match": etag},
    )
    assert submitted.status_code == 200
    later = client.post(url, json={"person_id": person["id"], "role": "accused"}, headers=officer)
    assert later.status_code == 201
