"""Schema fuzzing with schemathesis: every operation of every service's OpenAPI, called through
the real gateway with valid tokens of every role (and with none).

Checked for each generated call: no 5xx, and the response body matches the documented schema.
Checked for each operation: without a token it answers 401 or 403, unless it is public by design.
Bounded for CI: a few examples per operation, no shrinking.
"""

from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import FailureGroup

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SERVICES = ("auth", "records", "prediction", "hotspots")
ROLES = ("admin", "supervisor", "officer", "analyst", "citizen", "service")
EXAMPLES_PER_OPERATION = 4
# Served by the gateway itself at these paths, so not reachable per service through it.
HEALTH = {"/livez", "/readyz", "/metrics"}
# Public by design (DESIGN.md): sign-in and token endpoints, JWKS, registration, public figures.
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/register"),
    ("GET", "/api/v1/auth/.well-known/jwks.json"),
    # Beside the JWKS for every verifier (services, gateway): opaque ids of ended sessions only.
    ("GET", "/api/v1/auth/.well-known/revoked-sessions.json"),
}
PUBLIC_PATTERNS = (re.compile(r"^/api/v1/auth/(login|mfa|totp)"), re.compile(r"/public(/|$)"))
PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


def is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC or any(p.search(path) for p in PUBLIC_PATTERNS)


def operations(gateway_url: str, service: str):
    schema = schemathesis.openapi.from_url(f"{gateway_url}/api/v1/{service}/openapi.json")
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path not in HEALTH:
            found.append(operation)
    assert found, f"{service} documents no operation"
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_fuzz_every_operation_with_every_role(full_stack, service):
    gateway = full_stack.gateway.url
    tokens = {
        role: full_stack.headers(role, subject=f"fuzz-{role}", station_id="ST-1") for role in ROLES
    }
    session = requests.Session()
    failures: list[str] = []
    calls = 0

    def fuzz(operation) -> None:
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), role=st.sampled_from(ROLES))
        def call(case, role) -> None:
            nonlocal calls
            calls += 1
            try:
                response = case.call(base_url=gateway, headers=tokens[role], session=session)
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
            except (Exception, FailureGroup) as exc:  # check failures are exceptions
                failures.append(
                    f"{operation.method.upper()} {operation.path} as {role}: "
                    f"{type(exc).__name__}: {str(exc)[:400]}"
                )

        call()

    for operation in operations(gateway, service):
        fuzz(operation)

    assert calls > 0
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("service", SERVICES)
def test_every_non_public_operation_refuses_a_caller_without_a_token(full_stack, service):
    gateway = full_stack.gateway.url
    session = requests.Session()
    wrong: list[str] = []
    for operation in operations(gateway, service):
        method, path = operation.method.upper(), operation.path
        if is_public(method, path):
            continue
        url = gateway + re.sub(r"\{[^}]+\}", PLACEHOLDER_ID, path)
        response = session.request(method, url, timeout=30)
        if response.status_code not in (401, 403):
            wrong.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        forged = session.request(
            method, url, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, timeout=30
        )
        if forged.status_code != 401:
            wrong.append(f"{method} {path} with an alg=none token: {forged.status_code}")
    assert not wrong, "\n".join(wrong)
