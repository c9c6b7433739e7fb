"""The bad-input catalogue, sent through the real gateway to the real records service.

Each entry must get a clear 4xx (problem+json, no stack trace, no SQL) and change nothing: the
records database holds exactly what it held before (the audit log may grow: refused and
searched requests are audited by design, and the chain must still verify).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from servicekit.db import normalize_url

pytestmark = pytest.mark.e2e

INCIDENTS = "/api/v1/records/incidents"
PERSONS = "/api/v1/records/persons"
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "sqlite3", "SELECT ", 'File "/')


def valid_incident(**overrides: Any) -> dict[str, Any]:
    body = {
        "category": "burglary",
        "occurred_from": "2026-11-20T02:30:00Z",
        "lat": 43.70,
        "lon": -79.40,
        "area": "Annex",
        "narrative": "Rear door forced; laptop taken.",
    }
    body.update(overrides)
    return body


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    sent = 0
    yield b'{"narrative": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@dataclass
class Case:
    id: str
    method: str
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    role: str | None = "officer"
    allowed: frozenset[int] = frozenset(range(400, 500))


MB = 1 << 20
CATALOGUE = [
    # --- oversized bodies (gateway limit 25 MiB; credentials routes 64 KiB) ---
    Case(
        "oversized-body-declared",
        "POST",
        INCIDENTS,
        {
            "content": b"{" + b" " * (26 * MB) + b"}",
            "headers": {"content-type": "application/json"},
        },
        allowed=frozenset({413}),
    ),
    Case(
        "oversized-body-chunked",
        "POST",
        INCIDENTS,
        {
            "content": chunks(26 * MB),
            "headers": {"content-type": "application/json", "Idempotency-Key": "chunked-1"},
        },
        allowed=frozenset({413}),
    ),
    Case(
        "oversized-login-form",
        "POST",
        "/api/v1/auth/token",
        {"data": {"grant_type": "client_credentials", "client_id": "x" * 100_000}},
        role=None,
        allowed=frozenset({413}),
    ),
    # --- deeply nested JSON ---
    Case(
        "nested-json-100k",
        "POST",
        INCIDENTS,
        {
            "content": ('{"narrative": ' + nested(100_000) + "}").encode(),
            "headers": {"content-type": "application/json"},
        },
    ),
    Case(
        "nested-json-in-array-field",
        "POST",
        PERSONS,
        {
            "content": (
                '{"given_name": "A", "family_name": "B", "aliases": ' + nested(50_000) + "}"
            ).encode(),
            "headers": {"content-type": "application/json"},
        },
    ),
    # --- huge strings ---
    Case("huge-narrative", "POST", INCIDENTS, {"json": valid_incident(narrative="n" * 200_001)}),
    Case("huge-area", "POST", INCIDENTS, {"json": valid_incident(area="a" * 10_000)}),
    Case("huge-category", "POST", INCIDENTS, {"json": valid_incident(category="c" * 100_000)}),
    Case(
        "huge-person-name",
        "POST",
        PERSONS,
        {"json": {"given_name": "g" * 50_000, "family_name": "Smith"}},
    ),
    Case("huge-query-string", "GET", INCIDENTS, {"params": {"area": "q" * 20_000}}),
    Case("huge-search-name", "GET", PERSONS, {"params": {"name": "z" * 5_000}}),
    Case(
        "huge-idempotency-key",
        "POST",
        INCIDENTS,
        {"json": valid_incident(), "headers": {"Idempotency-Key": "k" * 5_000}},
    ),
    # --- invalid UTF-8 ---
    Case(
        "invalid-utf8-body",
        "POST",
        INCIDENTS,
        {
            "content": b'{"category": "theft", "occurred_from": "2026-01-01T00:00:00Z", '
            b'"narrative": "\xff\xfe\xc3\x28"}',
            "headers": {"content-type": "application/json"},
        },
    ),
    Case(
        "invalid-utf8-person",
        "POST",
        PERSONS,
        {
            "content": b'{"given_name": "\xed\xa0\x80", "family_name": "\xc0\xaf"}',
            "headers": {"content-type": "application/json"},
        },
    ),
    # A filter value is text: undecodable bytes become U+FFFD and match nothing.
    Case(
        "invalid-utf8-query",
        "GET",
        INCIDENTS + "?area=%ff%fe%c3%28",
        allowed=frozenset({200, *range(400, 500)}),
    ),
    Case(
        "lone-surrogate-escape",
        "POST",
        INCIDENTS,
        {
            "content": b'{"category": "theft", "occurred_from": "2026-01-01T00:00:00Z", '
            b'"narrative": "\\ud800"}',
            "headers": {"content-type": "application/json"},
        },
        allowed=frozenset(range(400, 500)),
    ),
    Case(
        "nul-in-json-string",
        "POST",
        INCIDENTS,
        {"json": valid_incident(narrative="before\x00after")},
    ),
    Case(
        "nul-in-person-name",
        "POST",
        PERSONS,
        {"json": {"given_name": "Nul\x00l", "family_name": "Byte"}},
    ),
    Case(
        "nul-in-filter",
        "GET",
        INCIDENTS,
        {"params": {"area": "Annex\x00"}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    # --- path traversal ---
    Case("traversal-in-id", "GET", INCIDENTS + "/..%2F..%2F..%2Fetc%2Fpasswd"),
    Case("traversal-dot-segments", "GET", INCIDENTS + "/%2e%2e/%2e%2e/etc/passwd"),
    Case("traversal-in-service-name", "GET", "/api/v1/..%2Frecords/incidents"),
    Case(
        "traversal-null-byte",
        "GET",
        INCIDENTS + "/abc%00.json",
    ),
    # --- wrong content types ---
    Case(
        "text-plain-body",
        "POST",
        INCIDENTS,
        {
            "content": json.dumps(valid_incident()).encode(),
            "headers": {"content-type": "text/plain"},
        },
    ),
    Case("form-body", "POST", INCIDENTS, {"data": {"category": "theft"}}),
    Case(
        "xml-body",
        "POST",
        INCIDENTS,
        {
            "content": b"<incident><category>theft</category></incident>",
            "headers": {"content-type": "application/xml"},
        },
    ),
    Case("json-array-not-object", "POST", INCIDENTS, {"json": [valid_incident()]}),
    Case(
        "empty-json-body",
        "POST",
        INCIDENTS,
        {"content": b"", "headers": {"content-type": "application/json"}},
    ),
    Case(
        "truncated-json",
        "POST",
        INCIDENTS,
        {"content": b'{"category": "theft", "occ', "headers": {"content-type": "application/json"}},
    ),
    # --- out-of-range coordinates ---
    Case("lat-91", "POST", INCIDENTS, {"json": valid_incident(lat=91.0)}),
    Case("lat-minus-90.0001", "POST", INCIDENTS, {"json": valid_incident(lat=-90.0001)}),
    Case("lon-180.5", "POST", INCIDENTS, {"json": valid_incident(lon=180.5)}),
    Case("lon-minus-1e308", "POST", INCIDENTS, {"json": valid_incident(lon=-1e308)}),
    Case(
        "lat-nan",
        "POST",
        INCIDENTS,
        {
            "content": json.dumps(valid_incident()).replace("43.7", "NaN").encode(),
            "headers": {"content-type": "application/json"},
        },
    ),
    Case(
        "lat-infinity",
        "POST",
        INCIDENTS,
        {
            "content": json.dumps(valid_incident()).replace("43.7", "Infinity").encode(),
            "headers": {"content-type": "application/json"},
        },
    ),
    Case("lat-string", "POST", INCIDENTS, {"json": valid_incident(lat="north")}),
    Case(
        "lat-without-lon",
        "POST",
        INCIDENTS,
        {"json": {k: v for k, v in valid_incident().items() if k != "lon"}},
    ),
    Case(
        "bbox-out-of-range",
        "GET",
        INCIDENTS,
        {"params": {"min_lat": 95, "min_lon": -80, "max_lat": 96, "max_lon": -79}},
    ),
    # --- dates in year 9999 and beyond ---
    Case(
        "occurred-year-9999",
        "POST",
        INCIDENTS,
        {"json": valid_incident(occurred_from="9999-12-31T23:59:59Z")},
    ),
    Case(
        "occurred-year-9999-negative-offset",
        "POST",
        INCIDENTS,
        {"json": valid_incident(occurred_from="9999-12-31T23:59:59-05:00")},
    ),
    Case(
        "occurred-year-0001-positive-offset",
        "POST",
        INCIDENTS,
        {"json": valid_incident(occurred_from="0001-01-01T00:00:00+05:00")},
    ),
    Case(
        "occurred-year-10000",
        "POST",
        INCIDENTS,
        {"json": valid_incident(occurred_from="10000-01-01T00:00:00Z")},
    ),
    Case(
        "occurred-without-offset",
        "POST",
        INCIDENTS,
        {"json": valid_incident(occurred_from="2026-01-01T00:00:00")},
    ),
    Case(
        "occurred-to-before-from",
        "POST",
        INCIDENTS,
        {"json": valid_incident(occurred_to="2020-01-01T00:00:00Z")},
    ),
    Case(
        "filter-year-9999-offset",
        "GET",
        INCIDENTS,
        {"params": {"occurred_after": "9999-12-31T23:59:59-05:00"}},
    ),
    Case(
        "person-born-9999",
        "POST",
        PERSONS,
        {"json": {"given_name": "Ada", "family_name": "Future", "date_of_birth": "9999-12-31"}},
    ),
    # --- SQL and FTS syntax where a value is expected ---
    Case(
        "sql-in-category",
        "POST",
        INCIDENTS,
        {"json": valid_incident(category="theft'; DROP TABLE incidents; --")},
    ),
    Case("sql-in-id", "GET", INCIDENTS + "/1'%20OR%20'1'='1"),
    Case(
        "sql-in-station-filter",
        "GET",
        INCIDENTS,
        {"params": {"station_id": "x' OR '1'='1"}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    Case("sql-in-cursor", "GET", INCIDENTS, {"params": {"cursor": "' OR 1=1 --"}}),
    Case(
        "fts-operators-in-name",
        "GET",
        PERSONS,
        {"params": {"name": 'smi* OR NEAR(a b) AND "x'}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    # Name search is typo-tolerant: "smith" in the text may find Smith, never everyone.
    Case(
        "fts-column-filter-in-name",
        "GET",
        PERSONS,
        {"params": {"name": "search_text: ^smith"}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    Case(
        "fts-unbalanced-quotes",
        "GET",
        PERSONS,
        {"params": {"name": "\"\"\"'''((("}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    Case(
        "sql-in-name",
        "GET",
        PERSONS,
        {"params": {"name": "x' UNION SELECT id, search_text FROM persons --"}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    Case(
        "like-wildcards-in-area",
        "GET",
        INCIDENTS,
        {"params": {"area": "%_%"}},
        allowed=frozenset({200, *range(400, 500)}),
    ),
    # --- identity: no token / a forged one changes nothing either ---
    Case(
        "no-token-create",
        "POST",
        INCIDENTS,
        {"json": valid_incident()},
        role=None,
        allowed=frozenset({401, 403}),
    ),
    Case(
        "garbage-token",
        "POST",
        INCIDENTS,
        {"json": valid_incident(), "headers": {"Authorization": "Bearer not.a.jwt"}},
        role=None,
        allowed=frozenset({401}),
    ),
    Case(
        "analyst-create",
        "POST",
        INCIDENTS,
        {"json": valid_incident()},
        role="analyst",
        allowed=frozenset({403}),
    ),
]


def snapshot(database_url: str) -> dict[str, Any]:
    """Every table's rows (the audit log's size aside), to compare before and after."""
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            state: dict[str, Any] = {}
            for table in inspect(conn).get_table_names():
                if table == "audit_entries" or table.startswith("persons_fts"):
                    continue
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                state[table] = sorted(repr(tuple(r)) for r in rows)
            return state
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def seeded(stack):
    """A few real incidents and persons, so that a leaking search would have something to leak."""
    officer = stack.headers("officer", subject="officer-seed")
    stack.seeded_incidents = []
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        for n in range(3):
            response = client.post(
                INCIDENTS, json=valid_incident(area=f"Seeded {n}"), headers=officer
            )
            assert response.status_code == 201, response.text
            stack.seeded_incidents.append(response.json()["id"])
        for given, family in (("Alice", "Smith"), ("Bob", "Jones")):
            response = client.post(
                PERSONS, json={"given_name": given, "family_name": family}, headers=officer
            )
            assert response.status_code == 201, response.text
    return stack


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.id for c in CATALOGUE])
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(seeded, case):
    stack = seeded
    before = snapshot(stack.databases["records"])
    kwargs = dict(case.kwargs)
    headers = dict(kwargs.pop("headers", {}))
    if case.role is not None:
        headers = {**stack.headers(case.role, subject=f"{case.role}-badinput"), **headers}
    with httpx.Client(base_url=stack.gateway.url, timeout=60) as client:
        response = client.request(case.method, case.path, headers=headers, **kwargs)

    assert response.status_code in case.allowed, (response.status_code, response.text[:500])
    body = response.text
    for leak in LEAKS:
        assert leak not in body, f"{leak!r} leaked: {body[:500]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), (
            response.headers.get("content-type"),
            body[:300],
        )
        problem = response.json()
        assert problem["status"] == response.status_code
        assert problem.get("title")
    else:
        # A search string with SQL or FTS syntax in it is only text: it never widens the
        # result (an injected OR 1=1 would return every seeded row).
        items = response.json()["items"]
        if case.path == PERSONS:
            assert not [i for i in items if i["family_name"] == "Jones"], body[:500]
        else:
            assert items == [], body[:500]
    assert snapshot(stack.databases["records"]) == before


def test_audit_chain_still_verifies_after_the_catalogue(seeded):
    stack = seeded
    with httpx.Client(base_url=stack.gateway.url, timeout=60) as client:
        report = client.get("/api/v1/records/audit/verify", headers=stack.headers("admin"))
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True


DOCUMENTS = "/api/v1/records/documents"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
TRAVERSAL_NAMES = [
    "../../../../../tmp/stationhouse-traversal.png",
    "..\\..\\..\\windows\\stationhouse-traversal.png",
    "/etc/stationhouse-traversal.png",
    "%2e%2e%2f%2e%2e%2fstationhouse-traversal.png",
    "evil\x00.png",
]


@pytest.mark.parametrize("filename", TRAVERSAL_NAMES)
def test_path_traversal_in_a_file_name_never_reaches_the_file_system(seeded, filename, tmp_path):
    """Refused with a 4xx, or stored under its content hash with the name reduced to a base
    name: either way nothing is written outside the document store."""
    stack = seeded
    outside = [Path("/tmp/stationhouse-traversal.png"), Path("/etc/stationhouse-traversal.png")]
    for path in outside:
        path.unlink(missing_ok=True)
    before = snapshot(stack.databases["records"])
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        response = client.post(
            DOCUMENTS,
            params={"owner_type": "incident", "owner_id": stack.seeded_incidents[0]},
            files={"file": (filename, PNG, "image/png")},
            headers=stack.headers("officer", subject="officer-badinput"),
        )
    assert response.status_code < 500, response.text
    for path in outside:
        assert not path.exists()
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert snapshot(stack.databases["records"]) == before
        return
    assert response.status_code == 201, response.text
    stored = response.json()
    name = stored.get("filename") or stored.get("original_filename")
    assert name is not None, stored
    assert "/" not in name, name
    assert "\\" not in name, name
    assert not name.startswith(".."), name
    assert "\x00" not in name


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "application/pdf"),
        (b"MZ\x90\x00" + b"\x00" * 200, "image/png"),
    ],
    ids=["elf-named-pdf", "windows-exe-named-png"],
)
def test_an_executable_disguised_as_a_document_is_refused(seeded, content, content_type):
    stack = seeded
    before = snapshot(stack.databases["records"])
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        response = client.post(
            DOCUMENTS,
            params={"owner_type": "incident", "owner_id": stack.seeded_incidents[0]},
            files={"file": ("report.pdf", content, content_type)},
            headers=stack.headers("officer", subject="officer-badinput"),
        )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert snapshot(stack.databases["records"]) == before


def test_a_document_sent_as_json_is_415(seeded):
    stack = seeded
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        response = client.post(
            DOCUMENTS,
            params={"owner_type": "incident", "owner_id": stack.seeded_incidents[0]},
            json={"file": "aGVsbG8="},
            headers=stack.headers("officer", subject="officer-badinput"),
        )
    assert response.status_code == 415, response.text
