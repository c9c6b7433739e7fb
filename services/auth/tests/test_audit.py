"""The audit trail: sign-ins, lockouts, role changes, rotations; tampering is found."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from servicekit.db import normalize_url


def _entries(auth, headers, **params) -> list[dict]:
    response = auth.client.get(
        "/api/v1/auth/audit", headers=headers, params={"limit": 500, **params}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_sign_in_events_are_audited(auth) -> None:
    user = auth.make_user(
        "oscar@example.org", roles=("citizen",), station_id=None, enrol_totp=False
    )
    for _ in range(5):
        auth.login("oscar@example.org", "wrong passphrase here")
    admin = auth.admin_headers()
    auth.client.post(f"/api/v1/auth/users/{user.id}/unlock", headers=admin)
    auth.login("nobody-at-all", "whatever it is")
    actions = [(e["action"], e["outcome"]) for e in _entries(auth, admin)]
    assert actions.count(("login", "failure")) == 6
    assert ("account.locked", "success") in actions
    assert ("account.unlocked", "success") in actions
    assert ("login", "success") in actions
    unknown = _entries(auth, admin, action="login")
    assert any('"unknown_user"' in (e["details"] or "") for e in unknown)
    # Times are UTC with microseconds.
    assert _entries(auth, admin)[0]["occurred_at"].endswith(("Z", "+00:00"))


def test_editing_an_audit_row_is_reported_by_verify(auth, settings) -> None:
    auth.make_user("pam@example.org", roles=("citizen",), station_id=None, enrol_totp=False)
    for _ in range(3):
        auth.login("pam@example.org", "wrong passphrase here")
    admin = auth.admin_headers()
    clean = auth.client.get("/api/v1/auth/audit/verify", headers=admin)
    assert clean.status_code == 200, clean.text
    assert clean.json()["ok"] is True
    assert clean.json()["checked"] >= 4

    engine = create_engine(normalize_url(settings.database_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET outcome = 'success' WHERE id = 2"))
    engine.dispose()
    broken = auth.client.get("/api/v1/auth/audit/verify", headers=admin).json()
    assert broken["ok"] is False
    assert broken["first_broken_id"] == 2


def test_role_change_and_rotation_are_audited(auth) -> None:
    user = auth.make_user("quinn", roles=("officer",))
    admin = auth.admin_headers()
    version = auth.client.get(f"/api/v1/auth/users/{user.id}", headers=admin).headers["ETag"]
    changed = auth.client.patch(
        f"/api/v1/auth/users/{user.id}",
        json={"roles": ["supervisor"]},
        headers={**admin, "If-Match": version},
    )
    assert changed.status_code == 200, changed.text
    auth.client.post("/api/v1/auth/keys/rotate", headers=admin)
    entries = _entries(auth, admin)
    role_change = next(e for e in entries if e["action"] == "user.roles_changed")
    assert role_change["target_id"] == user.id
    assert '"supervisor"' in role_change["details"]
    assert any(e["action"] == "keys.rotated" for e in entries)
