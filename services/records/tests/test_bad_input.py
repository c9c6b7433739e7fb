"""Bad input is a 422 problem+json at the schema and writes nothing: control characters in
text (bodies, query filters, path ids), times out of range, impossible dates of birth."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from servicekit.testing import TokenFactory

RECORDS = "/api/v1/records"
INCIDENTS = f"{RECORDS}/incidents"
PERSONS = f"{RECORDS}/persons"


def incident(**overrides: Any) -> dict[str, Any]:
    return {
        "category": "theft",
        "occurred_from": "2026-03-01T21:00:00Z",
        "area": "Annex",
        "narrative": "Bicycle taken from the rack.",
    } | overrides


def assert_refused(response: Any, field: str | None = None) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert any(field in error["field"] for error in response.json()["errors"]), response.text


def count_incidents(client: TestClient, headers: dict[str, str]) -> int:
    return len(client.get(INCIDENTS, headers=headers).json()["items"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("narrative", "before\x00after"),
        ("narrative", "bell\x07"),
        ("area", "Annex\x00"),
        ("area", "two\nlines"),
        ("address", "12 King\x1bSt"),
        ("premises_type", "House\x7f"),
        ("source_code", "B\x00E"),
        ("category", "theft\x00"),
    ],
)
def test_control_characters_in_incident_text_are_refused(
    client: TestClient, auth, field: str, value: str
) -> None:
    officer = auth("officer")
    assert_refused(client.post(INCIDENTS, json=incident(**{field: value}), headers=officer), field)
    assert count_incidents(client, officer) == 0


def test_free_text_keeps_tabs_and_line_breaks(client: TestClient, auth) -> None:
    officer = auth("officer")
    narrative = "Line one.\r\nLine two:\tindented.\nLine three."
    created = client.post(INCIDENTS, json=incident(narrative=narrative), headers=officer)
    assert created.status_code == 201, created.text
    assert created.json()["narrative"] == narrative
    url = f"{INCIDENTS}/{created.json()['id']}"
    etag = created.headers["ETag"]
    patched = client.patch(url, json={"narrative": "x\x00y"}, headers={**officer, "If-Match": etag})
    assert_refused(patched, "narrative")
    assert client.get(url, headers=officer).json()["narrative"] == narrative


def test_control_characters_in_persons_are_refused(client: TestClient, auth) -> None:
    officer = auth("officer")
    bad = [
        {"given_name": "Nul\x00l", "family_name": "Byte"},
        {"given_name": "Ada", "family_name": "Byte", "aliases": ["A\x00"]},
        {"given_name": "Ada", "family_name": "Byte", "phone": "555\x00"},
        {"given_name": "Ada", "family_name": "Byte", "identifiers": [{"type": "x", "value": "\0"}]},
    ]
    for body in bad:
        assert_refused(client.post(PERSONS, json=body, headers=officer))
    assert_refused(client.get(PERSONS, params={"name": "Ada\x00"}, headers=officer), "name")
    ok = client.post(PERSONS, json={"given_name": "Ada", "family_name": "Byte"}, headers=officer)
    assert ok.status_code == 201, ok.text
    assert client.get(PERSONS, params={"name": "Ada Byte"}, headers=officer).json()["items"]


def test_control_characters_in_cases_and_complaints_are_refused(
    client: TestClient, auth, token_factory: TokenFactory
) -> None:
    officer = auth("officer")
    created = client.post(INCIDENTS, json=incident(), headers=officer)
    assert created.status_code == 201
    case = {"title": "Bike\x00theft", "incident_ids": [created.json()["id"]]}
    assert_refused(client.post(f"{RECORDS}/cases", json=case, headers=officer), "title")
    assert client.get(f"{RECORDS}/cases", headers=officer).json()["items"] == []

    citizen = token_factory.headers(roles=["citizen"], subject="alice", station_id=None)
    complaint = {
        "description": "My bicycle was taken\x00 from the rack.",
        "occurred_from": "2026-11-20T14:00:00Z",
        "location_text": "Central Library",
    }
    assert_refused(
        client.post(f"{RECORDS}/complaints", json=complaint, headers=citizen), "description"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"area": "Annex\x00"},
        {"crime_id": "CR-\x00"},
        {"station_id": "ST-1\x01"},
        {"occurred_after": "9999-12-31T23:59:59-05:00"},
        {"occurred_before": "0001-01-01T00:00:00+05:00"},
        {"occurred_after": "2100-01-02T00:00:00Z"},
        {"occurred_after": "1899-12-31T00:00:00Z"},
    ],
)
def test_bad_filter_values_are_refused(client: TestClient, auth, params: dict[str, str]) -> None:
    assert_refused(client.get(INCIDENTS, params=params, headers=auth("officer")))


def test_control_characters_in_path_ids_are_refused(client: TestClient, auth) -> None:
    officer = auth("officer")
    assert_refused(client.get(f"{INCIDENTS}/abc%00.json", headers=officer))
    assert_refused(client.get(f"{PERSONS}/abc%00", headers=officer))


def test_filters_inside_the_range_still_work(client: TestClient, auth) -> None:
    officer = auth("officer")
    client.post(INCIDENTS, json=incident(), headers=officer)
    found = client.get(
        INCIDENTS,
        params={"occurred_after": "1900-01-01T00:00:00Z", "occurred_before": "2099-12-31T00:00Z"},
        headers=officer,
    )
    assert found.status_code == 200
    assert len(found.json()["items"]) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_from", "9999-12-31T23:59:59-05:00"),
        ("occurred_from", "0001-01-01T00:00:00+05:00"),
        ("occurred_from", "1899-12-31T23:59:59Z"),
        ("occurred_to", "9999-12-31T23:59:59-05:00"),
        ("reported_at", "0001-01-01T00:00:00+05:00"),
    ],
)
def test_times_out_of_range_are_refused(client: TestClient, auth, field: str, value: str) -> None:
    officer = auth("officer")
    assert_refused(client.post(INCIDENTS, json=incident(**{field: value}), headers=officer), field)
    assert count_incidents(client, officer) == 0


def test_event_times_at_most_a_day_ahead(client: TestClient, auth) -> None:
    officer = auth("officer")
    now = datetime.now(UTC)
    later = (now + timedelta(days=2)).isoformat()
    assert_refused(
        client.post(INCIDENTS, json=incident(occurred_from=later), headers=officer),
        "occurred_from",
    )
    soon = (now + timedelta(hours=1)).isoformat()
    accepted = client.post(
        INCIDENTS, json=incident(occurred_from=soon, reported_at=soon), headers=officer
    )
    assert accepted.status_code == 201, accepted.text


def test_statistics_frame_out_of_range_is_refused(client: TestClient, auth) -> None:
    staff = auth("analyst")
    answer = client.get(
        f"{RECORDS}/statistics/counts",
        params={"from": "0001-01-01T00:00:00+05:00", "to": "2026-01-01T00:00:00Z"},
        headers=staff,
    )
    assert_refused(answer, "from")


@pytest.mark.parametrize(
    "born",
    ["9999-12-31", (date.today() + timedelta(days=2)).isoformat(), "1899-12-31", "0001-01-01"],
)
def test_impossible_dates_of_birth_are_refused(client: TestClient, auth, born: str) -> None:
    officer = auth("officer")
    body = {"given_name": "Ada", "family_name": "Future", "date_of_birth": born}
    assert_refused(client.post(PERSONS, json=body, headers=officer), "date_of_birth")
    assert client.get(PERSONS, params={"name": "Ada Future"}, headers=officer).json()["items"] == []


def test_plausible_dates_of_birth_are_kept(client: TestClient, auth) -> None:
    officer = auth("officer")
    for born, family in [("1900-01-01", "Elder"), (datetime.now(UTC).date().isoformat(), "Baby")]:
        body = {"given_name": "Ada", "family_name": family, "date_of_birth": born}
        created = client.post(PERSONS, json=body, headers=officer)
        assert created.status_code == 201, created.text
        assert created.json()["date_of_birth"] == born
