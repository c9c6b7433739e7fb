"""Forwarding: problem+json for bad routes, request IDs end to end, upstream failures."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from servicekit.migrations import upgrade_to_head
from servicekit.testing import ServiceProcess, TokenFactory


def test_unknown_routes_answer_problem_json(make_gateway) -> None:
    gateway = make_gateway()
    for path in ("/api/v1/nosuchservice/things", "/api/nothing", "/api/v1/records"):
        response = gateway.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 404
        assert body["instance"] == path


def test_bad_content_length_is_a_problem_not_a_crash(make_gateway) -> None:
    gateway = make_gateway()
    response = gateway.post(
        "/api/v1/records/echo", content=b"{}", headers={"Content-Length": "abc"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_upstream_errors_come_back_unchanged(make_gateway) -> None:
    gateway = make_gateway()
    response = gateway.post("/api/v1/records/status/422", json={"broken": True})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "chosen",
        "status": 422,
        "detail": "as asked",
    }


def test_body_query_and_headers_reach_the_upstream(make_gateway) -> None:
    gateway = make_gateway()
    response = gateway.put(
        "/api/v1/records/echo?a=1&b=two%20words",
        content=b'{"narrative": "broken window"}',
        headers={"Content-Type": "application/json", "If-Match": '"3"'},
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "PUT"
    assert seen["query"] == "a=1&b=two%20words"
    assert seen["body"] == '{"narrative": "broken window"}'
    assert seen["headers"]["if-match"] == '"3"'
    assert seen["headers"]["x-forwarded-for"] == "testclient"


def test_path_and_query_are_forwarded_as_encoded(make_gateway) -> None:
    gateway = make_gateway()
    response = gateway.get("/api/v1/records/raw/a%20b%00c%2Fd?name=O%27Brien&x=%26")
    assert response.status_code == 200
    assert response.json() == {
        "raw_path": "/api/v1/records/raw/a%20b%00c%2Fd",
        "query": "name=O%27Brien&x=%26",
        "rest": "a b\x00c/d",
    }
    # A control character where the upstream has no route is its 404, never a gateway 500.
    missing = gateway.get("/api/v1/records/persons/%00%1b%0A")
    assert missing.status_code == 404


def test_streamed_response_arrives_whole(make_gateway) -> None:
    gateway = make_gateway()
    with gateway.stream("GET", "/api/v1/records/stream?chunks=4") as response:
        text = b"".join(response.iter_bytes()).decode()
    assert text == "chunk-0\nchunk-1\nchunk-2\nchunk-3\n"


def test_request_id_reaches_the_records_service_log_and_comes_back(
    service_process, database_factory, token_factory: TokenFactory, make_gateway
) -> None:
    from records_service.db import MIGRATIONS_PATH

    url = database_factory.create("records")
    upgrade_to_head(MIGRATIONS_PATH, url)
    records = service_process(
        "records_service.main:create_app", {"RECORDS_DATABASE_URL": url, "RECORDS_LOG_JSON": "1"}
    )
    gateway = make_gateway(records_url=records.url)
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    response = gateway.get("/api/v1/records/openapi.json", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id
    deadline = time.monotonic() + 5
    lines: list[dict] = []
    while time.monotonic() < deadline:
        assert records.log_path is not None
        lines = [
            json.loads(line)
            for line in Path(records.log_path).read_text().splitlines()
            if line.startswith("{")
        ]
        if any(line.get("request_id") == request_id for line in lines):
            break
        time.sleep(0.1)
    access = [line for line in lines if line.get("request_id") == request_id]
    assert access, "the records service never logged the gateway's request id"
    assert access[0]["path"] == "/api/v1/records/openapi.json"


def test_gateway_makes_a_request_id_when_none_is_given(make_gateway) -> None:
    gateway = make_gateway()
    response = gateway.get("/api/v1/records/echo")
    made = response.headers["x-request-id"]
    assert len(made) >= 16
    assert response.json()["headers"]["x-request-id"] == made


def test_down_upstream_gives_503_naming_it_within_the_timeout(make_gateway, dead_url) -> None:
    gateway = make_gateway(prediction_url=dead_url, connect_timeout=1.0, retry_attempts=0)
    started = time.monotonic()
    response = gateway.get("/api/v1/prediction/models")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["service"] == "prediction"
    assert "prediction" in response.json()["detail"]
    assert "retry-after" in response.headers
    assert elapsed < 1.0 + 1.0


def test_slow_upstream_gives_504_after_its_own_read_timeout(make_gateway) -> None:
    gateway = make_gateway(read_timeouts={"hotspots": 0.3})
    started = time.monotonic()
    response = gateway.get("/api/v1/hotspots/slow?seconds=3")
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["service"] == "hotspots"
    assert elapsed < 2.0
    # Another upstream keeps its own, longer timeout.
    assert gateway.get("/api/v1/records/slow?seconds=0.5").status_code == 200


def test_metrics_count_requests_by_route_template_and_upstream(make_gateway) -> None:
    gateway = make_gateway()
    for _ in range(3):
        gateway.get("/api/v1/records/echo")
    gateway.get("/api/v1/auth/status/404")
    text = gateway.get("/metrics").text
    assert (
        'http_requests_total{method="GET",route="/api/v1/{service}/{path:path}",'
        'service="gateway",status="200"} 3.0'
    ) in text
    assert (
        'gateway_upstream_requests_total{method="GET",status="200",upstream="records"} 3.0' in text
    )
    assert 'gateway_upstream_requests_total{method="GET",status="404",upstream="auth"} 1.0' in text


def test_readyz_reports_each_upstream(make_gateway, dead_url, upstream: ServiceProcess) -> None:
    gateway = make_gateway()
    ready = gateway.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"auth", "records", "prediction", "hotspots"}

    partly = make_gateway(hotspots_url=dead_url)
    response = partly.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["hotspots"]["ok"] is False
    assert "unreachable" in checks["hotspots"]["detail"]
    assert checks["records"] == {"ok": True, "detail": "ready"}


def test_bad_token_is_refused_at_the_edge(make_gateway, token_factory: TokenFactory) -> None:
    gateway = make_gateway()
    refused = gateway.get("/api/v1/records/echo", headers={"Authorization": "Bearer not.a.jwt"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    good = token_factory.headers(roles=["officer"])
    passed = gateway.get("/api/v1/records/echo", headers=good)
    assert passed.status_code == 200
    assert passed.json()["headers"]["authorization"] == good["Authorization"]
