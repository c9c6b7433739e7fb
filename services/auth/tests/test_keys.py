"""Signing keys: JWKS, rotation keeps the old key verifying until its tokens expire."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from auth_service.crypto import KeyEncryptionError
from auth_service.main import create_app

JWKS = "/api/v1/auth/.well-known/jwks.json"


def _kids(client) -> list[str]:
    response = client.get(JWKS)
    assert response.status_code == 200
    return [key["kid"] for key in response.json()["keys"]]


def test_jwks_is_public_and_holds_only_public_keys(client) -> None:
    keys = client.get(JWKS).json()["keys"]
    assert len(keys) == 1
    assert keys[0]["alg"] == "EdDSA"
    assert keys[0]["kty"] == "OKP"
    assert "d" not in keys[0]


def test_rotation_keeps_old_tokens_valid_until_the_old_key_retires(auth) -> None:
    admin = auth.admin_headers()
    (old_kid,) = _kids(auth.client)
    rotated = auth.client.post("/api/v1/auth/keys/rotate", headers=admin)
    assert rotated.status_code == 201, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != old_kid
    assert set(_kids(auth.client)) == {old_kid, new_kid}
    # A token signed before rotation still works; new tokens carry the new kid.
    assert auth.client.get("/api/v1/auth/me", headers=admin).status_code == 200
    fresh = auth.admin_headers()
    assert auth.client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    listed = {
        k["kid"]: k["status"] for k in auth.client.get("/api/v1/auth/keys", headers=fresh).json()
    }
    assert listed == {old_kid: "verifying", new_kid: "active"}

    # Once every token of the old key has expired, it leaves JWKS and stops verifying.
    auth.clock.advance(minutes=17)
    assert _kids(auth.client) == [new_kid]
    auth.context.verifier.forget()  # what the cache expiry does on its own
    assert auth.client.get("/api/v1/auth/me", headers=admin).status_code == 401


def test_retiring_a_rotated_key_at_once(auth) -> None:
    admin = auth.admin_headers()
    (old_kid,) = _kids(auth.client)
    assert auth.client.post(f"/api/v1/auth/keys/{old_kid}/retire", headers=admin).status_code == 409
    new_kid = auth.client.post("/api/v1/auth/keys/rotate", headers=admin).json()["kid"]
    fresh = auth.admin_headers()
    retired = auth.client.post(f"/api/v1/auth/keys/{old_kid}/retire", headers=fresh)
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired"
    assert _kids(auth.client) == [new_kid]
    assert auth.client.get("/api/v1/auth/me", headers=admin).status_code == 401
    assert auth.client.get("/api/v1/auth/me", headers=fresh).status_code == 200


def test_key_endpoints_are_admin_only(auth) -> None:
    auth.make_user("nina", roles=("officer",))
    officer = auth.bearer(auth.login_ok("nina"))
    assert auth.client.post("/api/v1/auth/keys/rotate", headers=officer).status_code == 403
    assert auth.client.post("/api/v1/auth/keys/rotate").status_code == 401


def test_refuses_to_start_without_a_key_encryption_key(settings) -> None:
    with pytest.raises(KeyEncryptionError):
        create_app(settings.model_copy(update={"key_encryption_key": None}))
    # The explicit development switch is the only way round it.
    create_app(settings.model_copy(update={"key_encryption_key": None, "allow_dev_key": True}))


def test_refuses_to_start_with_the_wrong_key_encryption_key(client, settings) -> None:
    from fastapi.testclient import TestClient

    other = settings.model_copy(
        update={"key_encryption_key": SecretStr(Fernet.generate_key().decode())}
    )
    with pytest.raises(KeyEncryptionError), TestClient(create_app(other)):
        pass


def test_changing_the_key_encryption_key_reseals_everything(auth, settings) -> None:
    from fastapi.testclient import TestClient

    auth.make_user("otto", roles=("officer",))
    before = auth.login_ok("otto")
    old_kek = settings.key_encryption_key.get_secret_value()
    new_kek = Fernet.generate_key().decode()
    rotating = settings.model_copy(update={"key_encryption_key": SecretStr(f"{new_kek},{old_kek}")})
    with TestClient(create_app(rotating, clock=auth.clock)) as client:
        assert client.get("/api/v1/auth/me", headers=auth.bearer(before)).status_code == 200
    # Everything is sealed under the new key now: the old one can go.
    only_new = settings.model_copy(update={"key_encryption_key": SecretStr(new_kek)})
    with TestClient(create_app(only_new, clock=auth.clock)) as client:
        response = client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "otto",
                "password": "violet tractor hums under nine moons",
                "totp": auth.code("otto"),
            },
        )
        assert response.status_code == 200, response.text
