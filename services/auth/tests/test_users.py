"""User administration and citizen self-registration."""

from __future__ import annotations

STRONG = "copper kettle sings at dawn"
STRONG_PASSWORD = "violet tractor hums under nine moons"  # what make_user sets


def test_admin_creates_a_staff_user_who_then_must_enrol(auth) -> None:
    admin = auth.admin_headers()
    created = auth.client.post(
        "/api/v1/auth/users",
        headers=admin,
        json={
            "username": "Rita",
            "password": STRONG,
            "roles": ["officer"],
            "station_id": "ST-7",
            "display_name": "Rita Moreno",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["username"] == "rita"
    assert body["station_id"] == "ST-7"
    assert body["totp_enrolled"] is False
    assert created.headers["ETag"] == '"1"'
    assert auth.login("rita", STRONG).status_code == 403  # enrolment first
    duplicate = auth.client.post(
        "/api/v1/auth/users",
        headers=admin,
        json={"username": "rita", "password": STRONG, "roles": ["officer"], "station_id": "ST-7"},
    )
    assert duplicate.status_code == 409


def test_weak_and_short_passwords_are_refused(auth) -> None:
    admin = auth.admin_headers()
    for password in ("password1", "short", "sam12345", "qwertyuiop"):
        response = auth.client.post(
            "/api/v1/auth/users",
            headers=admin,
            json={"username": "sam", "password": password, "roles": ["analyst"], "station_id": "A"},
        )
        assert response.status_code == 422, password
        assert response.json()["type"].endswith("/weak-password")
    # Long passphrases are welcome, with no composition rules.
    passphrase = "the quick brown hedgehog sleeps under the old oak bridge " * 2
    ok = auth.client.post(
        "/api/v1/auth/users",
        headers=admin,
        json={
            "username": "sam",
            "password": passphrase[:128],
            "roles": ["analyst"],
            "station_id": "A",
        },
    )
    assert ok.status_code == 201, ok.text


def test_staff_need_a_station(auth) -> None:
    admin = auth.admin_headers()
    response = auth.client.post(
        "/api/v1/auth/users",
        headers=admin,
        json={"username": "tom", "password": STRONG, "roles": ["officer"]},
    )
    assert response.status_code == 400


def test_list_users_in_cursor_pages(auth) -> None:
    admin = auth.admin_headers()
    for name in ("u1", "u2", "u3", "u4"):
        auth.make_user(name, roles=("analyst",), enrol_totp=False)
    seen = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = auth.client.get("/api/v1/auth/users", headers=admin, params=params).json()
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert set(seen) == {"chief", "u1", "u2", "u3", "u4"}
    analysts = auth.client.get("/api/v1/auth/users", headers=admin, params={"role": "analyst"})
    assert [u["username"] for u in analysts.json()["items"]] == ["u1", "u2", "u3", "u4"]
    bad = auth.client.get("/api/v1/auth/users", headers=admin, params={"cursor": "!!"})
    assert bad.status_code == 400


def test_role_change_needs_if_match_and_ends_sessions(auth) -> None:
    user = auth.make_user("uma", roles=("officer",))
    tokens = auth.login_ok("uma")
    admin = auth.admin_headers()
    url = f"/api/v1/auth/users/{user.id}"
    assert auth.client.patch(url, headers=admin, json={"roles": ["analyst"]}).status_code == 428
    stale = auth.client.patch(
        url, headers={**admin, "If-Match": '"0"'}, json={"roles": ["analyst"]}
    )
    assert stale.status_code == 412
    changed = auth.client.patch(
        url, headers={**admin, "If-Match": '"1"'}, json={"roles": ["analyst"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["analyst"]
    assert changed.headers["ETag"] == '"2"'
    # Old tokens carried the old roles: their session is over.
    assert auth.refresh(tokens["refresh_token"]).status_code == 401
    assert auth.login_ok("uma")  # a new sign-in carries the new role
    invalid = auth.client.patch(
        url, headers={**admin, "If-Match": '"2"'}, json={"roles": ["citizen", "officer"]}
    )
    assert invalid.status_code == 422


def test_admin_routes_refuse_other_roles(auth) -> None:
    auth.make_user("vic", roles=("supervisor",))
    supervisor = auth.bearer(auth.login_ok("vic"))
    assert auth.client.get("/api/v1/auth/users", headers=supervisor).status_code == 403
    assert auth.client.get("/api/v1/auth/audit/verify", headers=supervisor).status_code == 403


def test_citizen_registers_and_signs_in_without_a_second_factor(auth) -> None:
    response = auth.client.post(
        "/api/v1/auth/register",
        json={"email": "Wendy@Example.org", "password": STRONG, "display_name": "Wendy"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["roles"] == ["citizen"]
    assert response.json()["station_id"] is None
    tokens = auth.login_ok("wendy@example.org", STRONG)
    me = auth.client.get("/api/v1/auth/me", headers=auth.bearer(tokens)).json()
    assert me["roles"] == ["citizen"]
    again = auth.client.post(
        "/api/v1/auth/register", json={"email": "wendy@example.org", "password": STRONG}
    )
    assert again.status_code == 409
    weak = auth.client.post(
        "/api/v1/auth/register", json={"email": "xena@example.org", "password": "xena@example.org"}
    )
    assert weak.status_code == 422
    not_email = auth.client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": STRONG}
    )
    assert not_email.status_code == 422


def test_create_with_idempotency_key_replays_the_first_answer(auth) -> None:
    admin = auth.admin_headers()
    body = {"username": "yara", "password": STRONG, "roles": ["analyst"], "station_id": "ST-2"}
    headers = {**admin, "Idempotency-Key": "create-yara-1"}
    first = auth.client.post("/api/v1/auth/users", headers=headers, json=body)
    assert first.status_code == 201, first.text
    again = auth.client.post("/api/v1/auth/users", headers=headers, json=body)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = auth.client.post(
        "/api/v1/auth/users", headers=headers, json={**body, "username": "zack"}
    )
    assert other.status_code == 409
    # Without the key, a repeat is an ordinary duplicate.
    assert auth.client.post("/api/v1/auth/users", headers=admin, json=body).status_code == 409


def test_user_changes_their_password_and_other_sessions_end(auth) -> None:
    auth.make_user("zoe@example.org", roles=("citizen",), station_id=None, enrol_totp=False)
    here = auth.login_ok("zoe@example.org")
    elsewhere = auth.login_ok("zoe@example.org")
    url = "/api/v1/auth/password"
    new = "amber lighthouse under quiet snow"
    wrong = auth.client.post(
        url, headers=auth.bearer(here), json={"current_password": "nope", "new_password": new}
    )
    assert wrong.status_code == 400
    weak = auth.client.post(
        url,
        headers=auth.bearer(here),
        json={"current_password": STRONG_PASSWORD, "new_password": "password123"},
    )
    assert weak.status_code == 422
    changed = auth.client.post(
        url,
        headers=auth.bearer(here),
        json={"current_password": STRONG_PASSWORD, "new_password": new},
    )
    assert changed.status_code == 204, changed.text
    assert auth.login("zoe@example.org", STRONG_PASSWORD).status_code == 401
    assert auth.login("zoe@example.org", new).status_code == 200
    assert auth.refresh(elsewhere["refresh_token"]).status_code == 401
    assert auth.refresh(here["refresh_token"]).status_code == 200


def test_user_actions_check_the_caller_before_the_user(auth) -> None:
    missing = "/api/v1/auth/users/00000000-0000-0000-0000-000000000000/unlock"
    assert auth.client.post(missing).status_code == 401
    assert auth.client.post(missing, headers=auth.admin_headers()).status_code == 404
