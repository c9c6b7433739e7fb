"""Citizens' complaints: file, follow, only one's own; officers triage or close with a reason."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from servicekit.testing import TokenFactory

COMPLAINTS = "/api/v1/records/complaints"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "description": "My bicycle was taken from the rack outside the library.",
        "occurred_from": "2026-11-20T14:00:00Z",
        "location_text": "Central Library, bike rack",
        "lat": 43.667,
        "lon": -79.386,
        "category_hint": "theft",
    } | overrides


def citizen(token_factory: TokenFactory, name: str) -> dict[str, str]:
    return token_factory.headers(roles=["citizen"], subject=name, station_id=None)


def test_citizen_files_and_follows_only_their_own(
    client: TestClient, token_factory: TokenFactory
) -> None:
    alice, bob = citizen(token_factory, "alice"), citizen(token_factory, "bob")
    created = client.post(COMPLAINTS, json=body(), headers=alice)
    assert created.status_code == 201, created.text
    complaint = created.json()
    assert complaint["reference"].startswith("CMP-")
    assert complaint["status"] == "submitted"
    assert "citizen_subject" not in complaint

    mine = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=alice)
    assert mine.status_code == 200
    assert mine.headers["etag"]
    # Another citizen guessing the id gets the same answer as for an id that does not exist.
    guessed = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=bob)
    assert guessed.status_code == 404
    assert (
        client.get(f"{COMPLAINTS}/no-such-id", headers=bob).json()["detail"]
        == (guessed.json()["detail"])
    )
    assert client.get(COMPLAINTS, headers=bob).json()["items"] == []
    assert [c["id"] for c in client.get(COMPLAINTS, headers=alice).json()["items"]] == [
        complaint["id"]
    ]
    # Attachments of another's complaint are out of reach too.
    attached = client.post(
        f"{COMPLAINTS}/{complaint['id']}/attachments",
        files={"file": ("photo.png", PNG, "image/png")},
        headers=bob,
    )
    assert attached.status_code == 404


def test_officer_triages_into_an_incident(client: TestClient, token_factory: TokenFactory) -> None:
    alice = citizen(token_factory, "alice")
    complaint = client.post(COMPLAINTS, json=body(), headers=alice).json()
    attached = client.post(
        f"{COMPLAINTS}/{complaint['id']}/attachments",
        files={"file": ("photo.png", PNG, "image/png")},
        headers=alice,
    )
    assert attached.status_code == 201, attached.text
    attachment = attached.json()["attachments"][0]
    assert attachment["media_type"] == "image/png"

    officer = token_factory.headers(roles=["officer"], subject="officer-7", station_id="ST-3")
    staff_view = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=officer)
    assert staff_view.json()["citizen_subject"] == "alice"
    no_etag = client.post(
        f"{COMPLAINTS}/{complaint['id']}/triage", json={"category": "theft"}, headers=officer
    )
    assert no_etag.status_code == 428
    triaged = client.post(
        f"{COMPLAINTS}/{complaint['id']}/triage",
        json={"category": "theft", "area": "Downtown"},
        headers=officer | {"If-Match": staff_view.headers["etag"]},
    )
    assert triaged.status_code == 200, triaged.text
    crime_id = triaged.json()["crime_id"]
    assert crime_id.startswith("CR-")

    seen = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=alice).json()
    assert seen["status"] == "triaged"
    assert seen["crime_id"] == crime_id
    incident_id = triaged.json()["incident_id"]
    incident = client.get(f"/api/v1/records/incidents/{incident_id}", headers=officer).json()
    assert incident["station_id"] == "ST-3"
    assert incident["category"] == "theft"
    assert "bicycle" in incident["narrative"]
    again = client.post(
        f"{COMPLAINTS}/{complaint['id']}/close",
        json={"reason": "duplicate"},
        headers=officer | {"If-Match": triaged.headers["etag"]},
    )
    assert again.status_code == 409
    download = client.get(
        f"{COMPLAINTS}/{complaint['id']}/attachments/{attachment['id']}", headers=alice
    )
    assert download.status_code == 200
    assert download.content == PNG


def test_officer_closes_with_a_reason_the_citizen_reads(
    client: TestClient, token_factory: TokenFactory
) -> None:
    alice = citizen(token_factory, "alice")
    complaint = client.post(COMPLAINTS, json=body(), headers=alice).json()
    supervisor = token_factory.headers(roles=["supervisor"])
    etag = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=supervisor).headers["etag"]
    closed = client.post(
        f"{COMPLAINTS}/{complaint['id']}/close",
        json={"reason": "This is a civil matter; please contact the landlord."},
        headers=supervisor | {"If-Match": etag},
    )
    assert closed.status_code == 200, closed.text
    seen = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=alice).json()
    assert seen["status"] == "closed"
    assert seen["closing_reason"] == "This is a civil matter; please contact the landlord."
    listed = client.get(COMPLAINTS, params={"status": "closed"}, headers=supervisor).json()
    assert [c["id"] for c in listed["items"]] == [complaint["id"]]


def test_who_may_do_what(client: TestClient, token_factory: TokenFactory) -> None:
    alice = citizen(token_factory, "alice")
    complaint = client.post(COMPLAINTS, json=body(), headers=alice).json()
    officer = token_factory.headers(roles=["officer"])
    analyst = token_factory.headers(roles=["analyst"])
    assert client.post(COMPLAINTS, json=body(), headers=officer).status_code == 403
    assert client.get(f"{COMPLAINTS}/{complaint['id']}", headers=analyst).status_code == 404
    etag = client.get(f"{COMPLAINTS}/{complaint['id']}", headers=alice).headers["etag"]
    refused = client.post(
        f"{COMPLAINTS}/{complaint['id']}/close",
        json={"reason": "I changed my mind"},
        headers=alice | {"If-Match": etag},
    )
    assert refused.status_code == 403
    assert client.post(COMPLAINTS, json=body()).status_code == 401


def test_bad_complaints_are_refused_and_idempotent_creates_replay(
    client: TestClient, token_factory: TokenFactory
) -> None:
    alice = citizen(token_factory, "alice")
    assert client.post(COMPLAINTS, json=body(description="short"), headers=alice).status_code == 422
    assert client.post(COMPLAINTS, json=body(lat=95.0), headers=alice).status_code == 422
    assert client.post(COMPLAINTS, json=body(category_hint="ufo"), headers=alice).status_code == 422
    assert client.post(COMPLAINTS, json=body(status="closed"), headers=alice).status_code == 422
    key = alice | {"Idempotency-Key": "k-1"}
    first = client.post(COMPLAINTS, json=body(), headers=key)
    second = client.post(COMPLAINTS, json=body(), headers=key)
    assert first.status_code == second.status_code == 201
    assert first.json()["reference"] == second.json()["reference"]
    assert len(client.get(COMPLAINTS, headers=alice).json()["items"]) == 1
