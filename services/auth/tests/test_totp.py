"""Second factor: forced enrolment for staff, a code on every sign-in, each code once."""

from __future__ import annotations

import pyotp


def test_staff_must_enrol_before_getting_tokens(auth) -> None:
    auth.make_user("harry", roles=("officer",), enrol_totp=False)
    first = auth.login("harry")
    assert first.status_code == 403
    body = first.json()
    assert body["type"].endswith("/totp-enrolment-required")
    assert "access_token" not in body
    ticket = body["enrolment_token"]
    # The ticket is no access token.
    me = auth.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {ticket}"})
    assert me.status_code == 401

    started = auth.client.post("/api/v1/auth/totp/enrolment", json={"enrolment_token": ticket})
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["provisioning_uri"].startswith("otpauth://totp/")

    wrong = auth.client.post(
        "/api/v1/auth/totp/enrolment/confirm", json={"enrolment_token": ticket, "code": "000000"}
    )
    assert wrong.status_code == 400
    code = pyotp.TOTP(secret).at(auth.clock.now())
    confirmed = auth.client.post(
        "/api/v1/auth/totp/enrolment/confirm", json={"enrolment_token": ticket, "code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert auth.client.get("/api/v1/auth/me", headers=auth.bearer(confirmed.json())).json()["user"][
        "totp_enrolled"
    ]
    # The ticket is spent.
    again = auth.client.post("/api/v1/auth/totp/enrolment", json={"enrolment_token": ticket})
    assert again.status_code == 401

    # From now on the password alone is not enough.
    no_code = auth.login("harry")
    assert no_code.status_code == 401
    assert no_code.json()["type"].endswith("/totp-required")
    auth.clock.advance(seconds=30)
    ok = auth.login("harry", totp=pyotp.TOTP(secret).at(auth.clock.now()))
    assert ok.status_code == 200, ok.text


def test_a_code_is_accepted_once_only(auth) -> None:
    auth.make_user("iris", roles=("analyst",))
    code = auth.code("iris")
    assert auth.login("iris", totp=code).status_code == 200
    replay = auth.login("iris", totp=code)
    assert replay.status_code == 401
    # A fresh code still works.
    assert auth.login("iris", totp=auth.code("iris")).status_code == 200


def test_wrong_codes_count_towards_lockout(auth) -> None:
    auth.make_user("jack", roles=("officer",))
    for _ in range(5):
        assert auth.login("jack", totp="123456").status_code == 401
    assert auth.user_row("jack").locked_at is not None


def test_enrolment_ticket_expires(auth) -> None:
    auth.make_user("kate", roles=("supervisor",), enrol_totp=False)
    ticket = auth.login("kate").json()["enrolment_token"]
    auth.clock.advance(minutes=11)
    late = auth.client.post("/api/v1/auth/totp/enrolment", json={"enrolment_token": ticket})
    assert late.status_code == 401


def test_admin_reset_forces_a_new_enrolment(auth) -> None:
    user = auth.make_user("leo", roles=("officer",))
    admin = auth.admin_headers()
    reset = auth.client.post(f"/api/v1/auth/users/{user.id}/reset-totp", headers=admin)
    assert reset.status_code == 200, reset.text
    assert reset.json()["totp_enrolled"] is False
    assert auth.login("leo").status_code == 403
