"""The conventions every service inherits from servicekit's app factory."""

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from servicekit.db import normalize_url
from servicekit.testing import TokenFactory

from .conftest import Note  # type: ignore[import-not-found]


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/kit/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["instance"] == "/api/v1/kit/nowhere"
    assert body["type"].endswith("/not-found")


def test_malformed_body_is_problem_json_with_field_errors(client: TestClient) -> None:
    response = client.post(
        "/api/v1/kit/notes", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    response = client.post("/api/v1/kit/notes", json={"text": ""})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["field"] == "text"


def test_session_commits_on_success_and_rolls_back_on_error(
    client: TestClient, database_url: str
) -> None:
    assert client.post("/api/v1/kit/notes", json={"text": "kept"}).status_code == 201
    refused = client.post("/api/v1/kit/notes", json={"text": "explode-after-write"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "refused after writing"
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as conn:
        texts = conn.execute(select(Note.text)).scalars().all()
    engine.dispose()
    assert texts == ["kept"]


def test_commit_failure_is_an_error_not_a_success(client: TestClient) -> None:
    # The unique constraint fails at commit time, after the endpoint returned: the client must
    # get a conflict, never the endpoint's 201.
    assert client.post("/api/v1/kit/notes", json={"text": "dup"}).status_code == 201
    response = client.post("/api/v1/kit/notes", json={"text": "dup"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "INSERT" not in response.text
    assert "notes.text" not in response.text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/livez")
    assert len(made.headers["x-request-id"]) == 32
    hostile = client.get("/livez", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.post("/api/v1/kit/notes", json={"text": "one"})
    client.get("/api/v1/kit/notes/1")
    client.get("/api/v1/kit/notes/1")
    text = client.get("/metrics").text
    line = next(
        row
        for row in text.splitlines()
        if row.startswith("http_requests_total{")
        and 'route="/api/v1/kit/notes/{note_id}"' in row
        and 'method="GET"' in row
    )
    assert line.endswith(" 2.0")
    assert "/api/v1/kit/notes/1" not in text  # never the raw path: unbounded label values
    assert "http_request_duration_seconds_bucket" in text


def test_readyz_checks_database(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True


def test_cursor_pagination_walks_every_row_once(client: TestClient) -> None:
    for i in range(7):
        client.post("/api/v1/kit/notes", json={"text": f"n{i}"})
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/kit/notes", params=params).json()
        seen += [item["text"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"n{i}" for i in range(7)]
    bad = client.get("/api/v1/kit/notes", params={"cursor": "!!!"})
    assert bad.status_code == 400
    assert client.get("/api/v1/kit/notes", params={"limit": 501}).status_code == 422


def test_principal_and_roles(client: TestClient, token_factory: TokenFactory) -> None:
    assert client.get("/api/v1/kit/whoami").status_code == 401
    headers = token_factory.headers(subject="u1", roles=["analyst"])
    assert client.get("/api/v1/kit/whoami", headers=headers).json() == {
        "sub": "u1",
        "roles": ["analyst"],
    }
    assert client.get("/api/v1/kit/admin", headers=headers).status_code == 403
    admin = token_factory.headers(subject="a1", roles=["admin"])
    assert client.get("/api/v1/kit/admin", headers=admin).status_code == 200
    other_key = TokenFactory(kid="test-key-1")  # same kid, different private key
    forged = client.get("/api/v1/kit/whoami", headers=other_key.headers(roles=["admin"]))
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
