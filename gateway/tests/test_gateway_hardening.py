"""Rate limits, body limits, retries, circuit breaking, security headers, CORS, merged docs."""

from __future__ import annotations

import time
import uuid

import pytest

from gateway.breaker import CircuitBreaker
from gateway.ratelimit import route_class
from servicekit.testing import TokenFactory


def _login(gateway, **headers):
    return gateway.post(
        "/api/v1/auth/login", json={"username": "u", "password": "p"}, headers=headers
    )


def test_route_classes() -> None:
    assert route_class("POST", "/api/v1/auth/login") == "credentials"
    assert route_class("POST", "/api/v1/auth/token") == "credentials"
    assert route_class("POST", "/api/v1/auth/mfa/verify") == "credentials"
    assert route_class("GET", "/api/v1/auth/users") == "api"
    assert route_class("POST", "/api/v1/records/incidents") == "api"


def test_login_routes_are_limited_far_tighter_with_retry_after(make_gateway) -> None:
    gateway = make_gateway(rate_limit_credentials=3, rate_limit_api=50)
    statuses = [_login(gateway).status_code for _ in range(4)]
    # The upstream has no login route (404), but the fourth attempt never reaches it.
    assert statuses[:3] == [404, 404, 404]
    assert statuses[3] == 429
    refused = _login(gateway)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["route_class"] == "credentials"
    # Ordinary API routes have their own, larger budget.
    assert gateway.get("/api/v1/records/echo").status_code == 200


def test_limits_are_per_client(make_gateway, token_factory: TokenFactory) -> None:
    gateway = make_gateway(rate_limit_api=2)
    alice = token_factory.headers(subject="alice")
    bob = token_factory.headers(subject="bob")
    assert [gateway.get("/api/v1/records/echo", headers=alice).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert gateway.get("/api/v1/records/echo", headers=bob).status_code == 200
    assert 'gateway_rate_limited_total{route_class="api"} 1.0' in gateway.get("/metrics").text


def test_forged_tokens_count_against_the_senders_address_before_any_signature_check(
    make_gateway, token_factory: TokenFactory
) -> None:
    gateway = make_gateway(rate_limit_api=3)
    alice = token_factory.headers(subject="alice")
    assert gateway.get("/api/v1/records/echo", headers=alice).status_code == 200
    forged = [
        gateway.get(
            "/api/v1/records/echo", headers={"Authorization": f"Bearer forged.{i}.token"}
        ).status_code
        for i in range(4)
    ]
    # Alice's new token took one of the address's 3; two forgeries get their 401, then 429.
    assert forged == [401, 401, 429, 429]
    assert gateway.get("/api/v1/records/echo", headers=alice).status_code == 200
    # A token never seen before from that address waits for the window like the forgeries.
    bob = token_factory.headers(subject="bob")
    assert gateway.get("/api/v1/records/echo", headers=bob).status_code == 429


def test_window_resets(make_gateway) -> None:
    gateway = make_gateway(rate_limit_api=1, rate_limit_window_seconds=1.0)
    assert gateway.get("/api/v1/records/echo").status_code == 200
    refused = gateway.get("/api/v1/records/echo")
    assert refused.status_code == 429
    time.sleep(float(refused.headers["retry-after"]) + 0.05)
    assert gateway.get("/api/v1/records/echo").status_code == 200


def test_redis_limits_are_shared_by_replicas(make_gateway, redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}"
    first = make_gateway(redis_url=redis_url, redis_key_prefix=prefix, rate_limit_credentials=3)
    second = make_gateway(redis_url=redis_url, redis_key_prefix=prefix, rate_limit_credentials=3)
    assert _login(first).status_code == 404
    assert _login(second).status_code == 404
    assert _login(first).status_code == 404
    refused = _login(second)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert first.get("/readyz").json()["checks"]["redis"]["ok"] is True


def test_redis_down_still_limits_in_memory(make_gateway, dead_url) -> None:
    redis = dead_url.replace("http://", "redis://")
    gateway = make_gateway(redis_url=redis, rate_limit_credentials=2)
    assert [_login(gateway).status_code for _ in range(3)] == [404, 404, 429]
    ready = gateway.get("/readyz")
    assert ready.json()["checks"]["redis"]["ok"] is False


def test_declared_oversize_body_is_413(make_gateway) -> None:
    gateway = make_gateway(max_body_bytes=1000)
    response = gateway.post("/api/v1/records/echo", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert gateway.post("/api/v1/records/echo", content=b"x" * 1000).json()["body_bytes"] == 1000


def test_streamed_oversize_body_is_413(make_gateway) -> None:
    gateway = make_gateway(max_body_bytes=1000)

    def chunks():
        for _ in range(5):
            yield b"y" * 400

    response = gateway.post("/api/v1/records/echo", content=chunks())
    assert response.status_code == 413


def test_credential_routes_take_small_bodies_only(make_gateway) -> None:
    gateway = make_gateway(max_credentials_body_bytes=100)
    response = gateway.post("/api/v1/auth/login", content=b"p" * 200)
    assert response.status_code == 413


def test_idempotent_requests_are_retried(make_gateway) -> None:
    gateway = make_gateway(retry_attempts=2, retry_backoff_seconds=0.01)
    key = uuid.uuid4().hex
    response = gateway.get(f"/api/v1/records/flaky/{key}?failures=2")
    assert response.status_code == 200
    assert response.json() == {"attempt": 3}


def test_post_is_never_retried_without_idempotency_key(make_gateway) -> None:
    gateway = make_gateway(retry_attempts=2, retry_backoff_seconds=0.01)
    key = uuid.uuid4().hex
    response = gateway.post(f"/api/v1/records/flaky/{key}?failures=1", json={})
    assert response.status_code == 503
    assert gateway.get(f"/api/v1/records/attempts/{key}").json() == {"attempts": 1}


def test_post_with_idempotency_key_is_retried_with_its_body(make_gateway) -> None:
    gateway = make_gateway(retry_attempts=2, retry_backoff_seconds=0.01)
    key = uuid.uuid4().hex
    response = gateway.post(
        f"/api/v1/records/flaky/{key}?failures=1",
        json={"narrative": "x"},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 200
    assert response.json() == {"attempt": 2}


def test_circuit_opens_then_probes_and_closes(make_gateway) -> None:
    gateway = make_gateway(breaker_failure_threshold=2, breaker_open_seconds=0.5, retry_attempts=0)
    assert gateway.get("/api/v1/prediction/status/502").status_code == 502
    assert gateway.get("/api/v1/prediction/status/502").status_code == 502
    held = gateway.get("/api/v1/prediction/echo")
    assert held.status_code == 503
    assert held.headers["content-type"] == "application/problem+json"
    assert held.json()["service"] == "prediction"
    assert int(held.headers["retry-after"]) >= 1
    # Other upstreams are unaffected.
    assert gateway.get("/api/v1/records/echo").status_code == 200
    metrics = gateway.get("/metrics").text
    assert 'gateway_circuit_open{upstream="prediction"} 1.0' in metrics
    assert 'gateway_circuit_rejections_total{upstream="prediction"} 1.0' in metrics
    time.sleep(0.6)
    assert gateway.get("/api/v1/prediction/echo").status_code == 200
    assert gateway.get("/api/v1/prediction/echo").status_code == 200
    assert 'gateway_circuit_open{upstream="prediction"} 0.0' in gateway.get("/metrics").text


def test_circuit_opens_for_an_unreachable_upstream(make_gateway, dead_url) -> None:
    gateway = make_gateway(hotspots_url=dead_url, breaker_failure_threshold=3, retry_attempts=0)
    details = [gateway.get("/api/v1/hotspots/layers").json()["detail"] for _ in range(4)]
    assert all("unreachable" in d for d in details[:3])
    assert "holding requests back" in details[3]


def test_half_open_failure_reopens() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=5, clock=lambda: now[0])
    breaker.record_failure()
    assert not breaker.allow()
    now[0] = 5.0
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one at a time
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.retry_after() == 5


def test_security_headers_on_ui_and_api(make_gateway) -> None:
    gateway = make_gateway(tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    page = gateway.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "https://*.tiles.example.org" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in page.headers
    api = gateway.get("/api/v1/records/echo")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["x-content-type-options"] == "nosniff"


def test_hsts_only_behind_tls(make_gateway) -> None:
    gateway = make_gateway()
    behind_tls = gateway.get("/", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["strict-transport-security"].startswith("max-age=31536000")
    forced = make_gateway(force_hsts=True).get("/")
    assert "strict-transport-security" in forced.headers


def test_cors_from_settings(make_gateway) -> None:
    gateway = make_gateway(cors_origins=["https://agency.example"])
    allowed = gateway.options(
        "/api/v1/records/echo",
        headers={
            "Origin": "https://agency.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://agency.example"
    other = gateway.get("/api/v1/records/echo", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    closed = make_gateway().get(
        "/api/v1/records/echo", headers={"Origin": "https://agency.example"}
    )
    assert "access-control-allow-origin" not in closed.headers


def test_merged_openapi_covers_every_service(make_gateway) -> None:
    gateway = make_gateway()
    document = gateway.get("/openapi.json").json()
    for service in ("auth", "prediction", "hotspots"):
        assert f"/api/v1/{service}/echo" in document["paths"], service
    assert "/readyz" in document["paths"]  # the records document of the real service kit app
    assert {t["name"] for t in document["tags"]} >= {"auth", "records", "prediction", "hotspots"}
    schemas = document["components"]["schemas"]
    # Three services publish different `Echo` schemas: none overwrites another.
    echo_variants = [name for name in schemas if name.endswith("Echo")]
    assert len(echo_variants) == 3
    for service in ("auth", "prediction", "hotspots"):
        ref = document["paths"][f"/api/v1/{service}/echo"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[-1]
        assert f"{service}_field" in schemas[name]["properties"]
    docs = gateway.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


def test_merged_openapi_names_services_it_could_not_reach(make_gateway, dead_url) -> None:
    gateway = make_gateway(auth_url=dead_url)
    document = gateway.get("/openapi.json").json()
    assert document["info"]["x-unavailable-services"] == ["auth"]
    assert "/api/v1/prediction/echo" in document["paths"]


def test_ui_config_exposes_map_settings(make_gateway) -> None:
    gateway = make_gateway(tile_url="http://127.0.0.1:9/{z}/{x}/{y}.png", map_zoom=9)
    config = gateway.get("/config.json").json()
    assert config["tile_url"] == "http://127.0.0.1:9/{z}/{x}/{y}.png"
    assert config["map_zoom"] == 9
    assert len(config["map_center"]) == 2


@pytest.fixture
def built_ui(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    (dist / "assets" / "app.js").write_text("console.log('ui')")
    (dist / "swagger").mkdir()
    (dist / "swagger" / "swagger-ui-bundle.js").write_text("/* swagger */")
    (tmp_path / "secret.txt").write_text("not for you")
    return dist


def test_web_ui_served_with_spa_fallback(make_gateway, built_ui) -> None:
    gateway = make_gateway(web_dist=built_ui)
    assert "id=root" in gateway.get("/").text
    assert "id=root" in gateway.get("/incidents/123").text
    asset = gateway.get("/assets/app.js")
    assert asset.text == "console.log('ui')"
    assert "immutable" in asset.headers["cache-control"]
    escaped = gateway.get("/..%2Fsecret.txt")
    assert "not for you" not in escaped.text
    docs = gateway.get("/docs").text
    assert "/swagger/swagger-ui-bundle.js" in docs
    assert "cdn.jsdelivr.net" not in docs
