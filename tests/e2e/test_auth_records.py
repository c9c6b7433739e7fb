"""Records accepts access tokens from auth through the real JWKS over HTTP, and stops
accepting an old key's tokens once that key is retired after a rotation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from cryptography.fernet import Fernet

from servicekit.db import Database
from servicekit.migrations import upgrade_to_head
from servicekit.testing import DatabaseFactory, ServiceProcess

pytestmark = pytest.mark.e2e

PASSWORD = "lantern harbour seventeen gulls"


def _first_admin(url: str) -> None:
    from auth_service.accounts import create_first_admin
    from auth_service.clock import SystemClock
    from auth_service.passwords import PasswordHasher

    database = Database(url, pool_size=1)
    try:
        with database.session() as session:
            create_first_admin(
                session,
                hasher=PasswordHasher(time_cost=1, memory_kib=1024, parallelism=1),
                now=SystemClock().now(),
                username="admin",
                password=PASSWORD,
            )
    finally:
        database.dispose()


def _admin_tokens(auth_url: str) -> dict[str, str]:
    """Sign in as the staff admin the real way: password, forced TOTP enrolment, code."""
    token_url = auth_url + "/api/v1/auth/token"
    form = {"grant_type": "password", "username": "admin", "password": PASSWORD}
    first = httpx.post(token_url, data=form)
    assert first.status_code == 403, first.text
    ticket = first.json()["enrolment_token"]
    secret = httpx.post(
        auth_url + "/api/v1/auth/totp/enrolment", json={"enrolment_token": ticket}
    ).json()["secret"]
    confirmed = httpx.post(
        auth_url + "/api/v1/auth/totp/enrolment/confirm",
        json={"enrolment_token": ticket, "code": pyotp.TOTP(secret).now()},
    )
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json() | {"totp_secret": secret}


@contextmanager
def _auth_records_gateway(
    tmp_path: Path, database_factory: DatabaseFactory, service_process
) -> Iterator[tuple[Any, Any, ServiceProcess]]:
    """Real auth, records and gateway processes, on throwaway databases."""
    from auth_service.db import MIGRATIONS_PATH as AUTH_MIGRATIONS
    from records_service.db import MIGRATIONS_PATH as RECORDS_MIGRATIONS

    auth_db = database_factory.create("e2e_auth")
    records_db = database_factory.create("e2e_records")
    upgrade_to_head(AUTH_MIGRATIONS, auth_db)
    upgrade_to_head(RECORDS_MIGRATIONS, records_db)
    _first_admin(auth_db)

    auth = service_process(
        "auth_service.main:create_app",
        {
            "AUTH_DATABASE_URL": auth_db,
            "AUTH_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "AUTH_ARGON2_TIME_COST": "1",
            "AUTH_ARGON2_MEMORY_KIB": "1024",
            "AUTH_ARGON2_PARALLELISM": "1",
        },
    )
    jwks_url = auth.url + "/api/v1/auth/.well-known/jwks.json"
    records = service_process(
        "records_service.main:create_app",
        {
            "RECORDS_DATABASE_URL": records_db,
            "RECORDS_JWKS_URL": jwks_url,
            "RECORDS_JWKS_CACHE_SECONDS": "1",
            "RECORDS_REVOCATION_REFRESH_SECONDS": "0.5",
            "RECORDS_DOCUMENTS_DIR": str(tmp_path / "documents"),
        },
    )
    # The gateway's /readyz wants every upstream; prediction and hotspots are not needed here.
    gateway = ServiceProcess(
        app="gateway.main:create_app",
        env={
            "GATEWAY_AUTH_URL": auth.url,
            "GATEWAY_RECORDS_URL": records.url,
            "GATEWAY_JWKS_URL": jwks_url,
            "GATEWAY_JWKS_CACHE_SECONDS": "1",
            "GATEWAY_REVOCATION_REFRESH_SECONDS": "0.5",
        },
        log_path=tmp_path / "gateway.log",
    ).start(wait_ready=False)
    try:
        gateway.wait_ready(path="/livez")
        yield auth, records, gateway
    finally:
        gateway.stop()


def test_records_trusts_auth_tokens_until_their_key_is_retired(
    tmp_path: Path, database_factory: DatabaseFactory, service_process
) -> None:
    with _auth_records_gateway(tmp_path, database_factory, service_process) as (a, r, g):
        _check_tokens_across_rotation(a, r, g)


def test_a_signed_out_sessions_access_token_is_refused_everywhere_within_seconds(
    tmp_path: Path, database_factory: DatabaseFactory, service_process
) -> None:
    with _auth_records_gateway(tmp_path, database_factory, service_process) as (auth, records, gw):
        citizen = {"email": "nadia@example.org", "password": PASSWORD}
        registered = httpx.post(auth.url + "/api/v1/auth/register", json=citizen)
        assert registered.status_code == 201, registered.text
        form = {"grant_type": "password", "username": citizen["email"], "password": PASSWORD}
        phone = httpx.post(auth.url + "/api/v1/auth/token", data=form).json()
        laptop = httpx.post(auth.url + "/api/v1/auth/token", data=form).json()
        on_phone = {"Authorization": f"Bearer {phone['access_token']}"}
        on_laptop = {"Authorization": f"Bearer {laptop['access_token']}"}
        mine = "/api/v1/records/complaints"
        for base in (records.url, gw.url):
            assert httpx.get(base + mine, headers=on_phone).status_code == 200
            assert httpx.get(base + mine, headers=on_laptop).status_code == 200

        signed_out = httpx.post(
            auth.url + "/api/v1/auth/logout", json={"refresh_token": phone["refresh_token"]}
        )
        assert signed_out.status_code == 204
        # The phone's access token has 15 minutes left, yet records and the gateway refuse it
        # once their list of ended sessions is older than its refresh interval (0.5 s here):
        # the first request after that already gets 401; the laptop goes on.
        time.sleep(1.0)
        for base in (records.url, gw.url):
            assert httpx.get(base + mine, headers=on_phone).status_code == 401
            assert httpx.get(base + mine, headers=on_laptop).status_code == 200
        refused = httpx.get(records.url + mine, headers=on_phone).json()
        assert "session has ended" in refused["detail"]


def _check_tokens_across_rotation(auth, records, gateway) -> None:
    incidents = records.url + "/api/v1/records/incidents"
    via_gateway = gateway.url + "/api/v1/records/incidents"

    old = _admin_tokens(auth.url)
    old_headers = {"Authorization": f"Bearer {old['access_token']}"}
    accepted = httpx.get(incidents, headers=old_headers)
    assert accepted.status_code == 200, accepted.text
    assert httpx.get(incidents).status_code == 401
    assert httpx.get(via_gateway, headers=old_headers).status_code == 200
    assert httpx.get(incidents, headers={"Authorization": "Bearer nonsense"}).status_code == 401

    old_kid = httpx.get(auth.url + "/api/v1/auth/.well-known/jwks.json").json()["keys"][0]["kid"]
    rotated = httpx.post(auth.url + "/api/v1/auth/keys/rotate", headers=old_headers)
    assert rotated.status_code == 201, rotated.text
    new_kid = rotated.json()["kid"]

    # After rotation both keys verify: the old token still works, and a new one (new kid) too.
    time.sleep(1.2)
    assert httpx.get(incidents, headers=old_headers).status_code == 200
    refreshed = httpx.post(
        auth.url + "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    new_headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert httpx.get(incidents, headers=new_headers).status_code == 200
    assert httpx.get(via_gateway, headers=new_headers).status_code == 200

    retired = httpx.post(auth.url + f"/api/v1/auth/keys/{old_kid}/retire", headers=new_headers)
    assert retired.status_code == 200, retired.text
    jwks = httpx.get(auth.url + "/api/v1/auth/.well-known/jwks.json").json()
    assert [key["kid"] for key in jwks["keys"]] == [new_kid]

    time.sleep(1.2)  # records' JWKS cache (1 s here) runs out and it refetches
    rejected = httpx.get(incidents, headers=old_headers)
    assert rejected.status_code == 401, rejected.text
    assert "retired" in rejected.json()["detail"] or "unknown" in rejected.json()["detail"]
    assert httpx.get(incidents, headers=new_headers).status_code == 200
    # The gateway, with its own JWKS cache, refuses the old key's token at the edge too.
    assert httpx.get(via_gateway, headers=old_headers).status_code == 401
    assert httpx.get(via_gateway, headers=new_headers).status_code == 200
