"""Odd input gets a 4xx problem, never a 500 (PostgreSQL refuses NUL characters in text)."""

from __future__ import annotations


def test_nul_characters_are_refused_not_crashed_on(auth) -> None:
    admin = auth.admin_headers()
    cases = [
        auth.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": "a\x00b", "password": "x"},
        ),
        auth.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "x"},
        ),
        auth.client.get("/api/v1/auth/users", headers=admin, params={"station_id": "S\x00"}),
        auth.client.get("/api/v1/auth/users", headers=admin, params={"role": "a\x00"}),
        auth.client.get("/api/v1/auth/users/a%00b", headers=admin),
        auth.client.post("/api/v1/auth/keys/a%00b/retire", headers=admin),
        auth.client.get("/api/v1/auth/audit", headers=admin, params={"action": "a\x00"}),
        auth.client.post(
            "/api/v1/auth/users",
            headers=admin,
            json={
                "username": "nul",
                "password": "violet tractor hums under nine moons",
                "roles": ["analyst"],
                "station_id": "S\x00",
                "display_name": "a\x00",
            },
        ),
        auth.client.post(
            "/api/v1/auth/register",
            json={
                "email": "n@example.org",
                "password": "violet tractor hums",
                "display_name": "\x00",
            },
        ),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
