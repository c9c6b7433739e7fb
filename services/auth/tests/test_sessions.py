"""Refresh tokens: rotated on use, reuse ends the family, logout, idle and absolute limits."""

from __future__ import annotations


def _citizen(auth, name: str = "gail@example.org") -> dict:
    auth.make_user(name, roles=("citizen",), station_id=None, enrol_totp=False)
    return auth.login_ok(name)


def test_refresh_rotates_the_token(auth) -> None:
    first = _citizen(auth)
    second = auth.refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert auth.client.get("/api/v1/auth/me", headers=auth.bearer(body)).status_code == 200


def test_reusing_a_refresh_token_revokes_the_whole_family(auth) -> None:
    first = _citizen(auth)
    second = auth.refresh(first["refresh_token"]).json()
    reuse = auth.refresh(first["refresh_token"])
    assert reuse.status_code == 401
    assert reuse.json()["error"] == "invalid_grant"
    # The thief's replay also ends the legitimate holder's newer token.
    assert auth.refresh(second["refresh_token"]).status_code == 401


def test_logout_revokes_the_session(auth) -> None:
    tokens = _citizen(auth)
    response = auth.client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    assert auth.refresh(tokens["refresh_token"]).status_code == 401
    # Unknown tokens answer the same (no oracle).
    assert (
        auth.client.post("/api/v1/auth/logout", json={"refresh_token": "nope"}).status_code == 204
    )


def test_session_ends_after_thirty_idle_minutes(auth) -> None:
    tokens = _citizen(auth)
    auth.clock.advance(minutes=29)
    still = auth.refresh(tokens["refresh_token"])
    assert still.status_code == 200, still.text
    auth.clock.advance(minutes=31)
    expired = auth.refresh(still.json()["refresh_token"])
    assert expired.status_code == 401
    assert expired.json()["reason"] == "idle"


def test_session_ends_after_twelve_hours_however_active(auth) -> None:
    tokens = _citizen(auth)
    refresh = tokens["refresh_token"]
    # Refresh every 25 minutes (never idle) for just under 12 hours.
    for _ in range(28):
        auth.clock.advance(minutes=25)
        response = auth.refresh(refresh)
        assert response.status_code == 200, response.text
        refresh = response.json()["refresh_token"]
    auth.clock.advance(minutes=25)  # 29 * 25 min = 12 h 5 min after sign-in
    ended = auth.refresh(refresh)
    assert ended.status_code == 401
    assert ended.json()["reason"] == "absolute"


def test_access_token_never_outlives_the_session(auth) -> None:
    tokens = _citizen(auth)
    refresh = tokens["refresh_token"]
    for _ in range(28):
        auth.clock.advance(minutes=25)
        refresh_response = auth.refresh(refresh).json()
        refresh = refresh_response["refresh_token"]
    # 11 h 40 min in: 20 minutes of session left, so the access token gets 15, the refresh 20.
    assert refresh_response["expires_in"] == 900
    assert 20 * 60 - 5 <= refresh_response["refresh_expires_in"] <= 20 * 60


def _sid(tokens: dict) -> str:
    import jwt

    return str(jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"])


def _published(auth) -> list[str]:
    response = auth.client.get("/api/v1/auth/.well-known/revoked-sessions.json")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return list(response.json()["sessions"])


def test_ended_sessions_are_published_until_their_access_tokens_expire(auth) -> None:
    kept = _citizen(auth)
    ended = auth.login_ok("gail@example.org")
    auth.make_user("hal", roles=("officer",))
    disabled = auth.login_ok("hal")
    assert _published(auth) == []

    auth.client.post("/api/v1/auth/logout", json={"refresh_token": ended["refresh_token"]})
    hal_id = auth.user_row("hal").id
    response = auth.client.post(
        f"/api/v1/auth/users/{hal_id}/disable", headers=auth.admin_headers()
    )
    assert response.status_code == 200, response.text

    published = _published(auth)
    assert _sid(ended) in published
    assert _sid(disabled) in published
    assert _sid(kept) not in published  # another session of the same citizen goes on
    # Once every access token of those sessions has expired, the list no longer needs them.
    auth.clock.advance(seconds=auth.context.settings.access_token_ttl_seconds + 61)
    assert _published(auth) == []
