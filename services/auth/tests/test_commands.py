"""The first admin printed once by `stationhouse up`, and what it can do."""

from __future__ import annotations

import re

from auth_service.commands import first_admin_hook


def test_first_admin_is_created_and_printed_once(client, settings, capsys) -> None:
    env = {"AUTH_DATABASE_URL": settings.database_url}
    first_admin_hook(env, "http://localhost:8000")
    out = capsys.readouterr().out
    password = re.search(r"password: (\S+)", out).group(1)
    assert "username: admin" in out
    first_admin_hook(env, "http://localhost:8000")
    assert capsys.readouterr().out == ""
    # The printed password works, and as staff the admin is sent to enrol TOTP.
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "admin", "password": password},
    )
    assert response.status_code == 403
    assert response.json()["type"].endswith("/totp-enrolment-required")
