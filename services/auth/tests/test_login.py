"""Password sign-in, the same answer for unknown users, lockout counted in the database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from auth_service.main import create_app


def test_citizen_signs_in_and_me_names_them(auth) -> None:
    auth.make_user("ann@example.org", roles=("citizen",), station_id=None, enrol_totp=False)
    tokens = auth.login_ok("ann@example.org")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"]
    assert auth.client.post("/api/v1/auth/token").status_code == 422
    me = auth.client.get("/api/v1/auth/me", headers=auth.bearer(tokens))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["roles"] == ["citizen"]
    assert body["user"]["username"] == "ann@example.org"
    assert "password_hash" not in body["user"]


def test_unknown_user_and_wrong_password_answer_the_same(auth) -> None:
    auth.make_user("bob", enrol_totp=False, roles=("citizen",), station_id=None)
    wrong = auth.login("bob", "not the right passphrase")
    unknown = auth.login("nobody", "not the right passphrase")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["type"] == unknown.json()["type"]
    assert wrong.json()["error"] == unknown.json()["error"] == "invalid_grant"


def test_five_failures_lock_until_an_admin_unlocks(auth) -> None:
    user = auth.make_user("carol", roles=("citizen",), station_id=None, enrol_totp=False)
    for _ in range(4):
        assert auth.login("carol", "wrong passphrase here").status_code == 401
    assert auth.user_row("carol").locked_at is None
    assert auth.login("carol", "wrong passphrase here").status_code == 401
    assert auth.user_row("carol").locked_at is not None
    # Even the right password is refused now, and says why.
    locked = auth.login("carol")
    assert locked.status_code == 401
    assert locked.json()["type"].endswith("/account-locked")
    # Time does not lift it; only an admin does.
    admin = auth.admin_headers()
    auth.clock.advance(hours=2)
    assert auth.login("carol").status_code == 401
    auth.clock.advance(hours=-2)  # back to real time, so the admin's token is current
    unlocked = auth.client.post(f"/api/v1/auth/users/{user.id}/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked"] is False
    auth.login_ok("carol")


def test_failures_outside_the_window_do_not_lock(auth) -> None:
    auth.make_user("dave", roles=("citizen",), station_id=None, enrol_totp=False)
    for _ in range(4):
        assert auth.login("dave", "wrong passphrase here").status_code == 401
    auth.clock.advance(minutes=16)
    assert auth.login("dave", "wrong passphrase here").status_code == 401
    assert auth.user_row("dave").locked_at is None
    auth.login_ok("dave")


def test_lockout_counts_across_replicas(auth, settings, clock) -> None:
    """Two app instances on one database: failures on either count towards one lock."""
    auth.make_user("erin", roles=("citizen",), station_id=None, enrol_totp=False)
    with TestClient(create_app(settings, clock=clock)) as replica:
        for i in range(5):
            target = auth.client if i % 2 == 0 else replica
            response = target.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "erin", "password": "wrong one!"},
            )
            assert response.status_code == 401
    assert auth.user_row("erin").locked_at is not None


def test_disabled_account_cannot_sign_in(auth) -> None:
    user = auth.make_user("frank", roles=("citizen",), station_id=None, enrol_totp=False)
    tokens = auth.login_ok("frank")
    admin = auth.admin_headers()
    assert (
        auth.client.post(f"/api/v1/auth/users/{user.id}/disable", headers=admin).status_code == 200
    )
    assert auth.login("frank").status_code == 401
    assert auth.refresh(tokens["refresh_token"]).status_code == 401


def test_unsupported_grant_type_is_400(client) -> None:
    response = client.post("/api/v1/auth/token", data={"grant_type": "implicit"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_service_account_gets_a_service_token(client, service_secret) -> None:
    response = client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "prediction",
            "client_secret": service_secret,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["subject"] == "svc:prediction"
    assert me.json()["roles"] == ["service"]
    bad = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": "prediction", "client_secret": "x"},
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"


def test_five_concurrent_failures_lock_the_account(auth) -> None:
    """Simultaneous attempts (as from several replicas) are counted exactly."""
    from concurrent.futures import ThreadPoolExecutor

    from auth_service.context import RequestMeta
    from auth_service.service import password_login
    from servicekit.errors import ProblemError

    auth.make_user("gus", roles=("citizen",), station_id=None, enrol_totp=False)
    meta = RequestMeta(source_ip="203.0.113.9", request_id=None)

    def attempt(_: int) -> int:
        try:
            password_login(
                auth.context, username="gus", password="wrong passphrase", totp_code=None, meta=meta
            )
        except ProblemError as exc:
            return exc.status
        return 200

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(attempt, range(5)))
    assert statuses == [401] * 5
    assert auth.user_row("gus").locked_at is not None
