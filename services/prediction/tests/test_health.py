"""Health, readiness and metrics of the prediction service."""

from fastapi.testclient import TestClient


def test_livez_answers(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}


def test_readyz_reports_database_at_head(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["database"]["ok"] is True


def test_unknown_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/prediction/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
