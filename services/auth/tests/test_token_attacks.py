"""Forged and misused tokens are refused with 401 by servicekit's verifier on a protected route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_service.keys import active_key

ME = "/api/v1/auth/me"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(subject: str, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": "stationhouse-auth",
        "aud": "stationhouse",
        "sub": subject,
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "roles": ["admin"],
        "station_id": "HQ",
    }
    claims.update(overrides)
    return claims


@pytest.fixture
def signed(auth):
    """Sign claims with the service's real active key (as if the attacker had nothing else)."""
    context = auth.context

    def sign(claims: dict, **header) -> str:
        with context.database.session(write=False) as session:
            key = active_key(session)
        private = context.signer.private_key(key)
        headers = {"kid": key.kid, "typ": "at+jwt", **header}
        return jwt.encode(claims, private, algorithm="EdDSA", headers=headers)

    return sign


def _kid(auth) -> str:
    return auth.client.get("/api/v1/auth/.well-known/jwks.json").json()["keys"][0]["kid"]


def _status(auth, token: str) -> int:
    return auth.client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_genuine_token_is_accepted(auth, signed) -> None:
    assert _status(auth, signed(_claims("someone"))) == 200


def test_alg_none_is_refused(auth) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": _kid(auth)}
    token = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_claims("x")).encode()) + "."
    assert _status(auth, token) == 401


def test_hs256_signed_with_the_public_key_is_refused(auth) -> None:
    jwk = auth.client.get("/api/v1/auth/.well-known/jwks.json").json()["keys"][0]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]}
    signing_input = (
        _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(_claims("x")).encode())
    )
    for secret in (jwk["x"].encode(), base64.urlsafe_b64decode(jwk["x"] + "==")):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert _status(auth, signing_input + "." + _b64(mac)) == 401


def test_expired_token_is_refused(auth, signed) -> None:
    past = int(time.time()) - 3600
    assert _status(auth, signed(_claims("x", iat=past - 900, exp=past))) == 401


def test_wrong_audience_is_refused(auth, signed) -> None:
    assert _status(auth, signed(_claims("x", aud="another-system"))) == 401


def test_wrong_issuer_is_refused(auth, signed) -> None:
    assert _status(auth, signed(_claims("x", iss="https://evil.example"))) == 401


def test_unknown_kid_is_refused(auth) -> None:
    rogue = Ed25519PrivateKey.generate()
    token = jwt.encode(
        _claims("x"), rogue, algorithm="EdDSA", headers={"kid": "rogue-key", "typ": "at+jwt"}
    )
    assert _status(auth, token) == 401
    # Nor does claiming the real kid help a foreign key.
    forged = jwt.encode(
        _claims("x"), rogue, algorithm="EdDSA", headers={"kid": _kid(auth), "typ": "at+jwt"}
    )
    assert _status(auth, forged) == 401


def test_token_without_access_type_is_refused(auth, signed) -> None:
    assert _status(auth, signed(_claims("x"), typ="JWT")) == 401


def test_refresh_token_is_not_an_access_token(auth) -> None:
    auth.make_user("mia@example.org", roles=("citizen",), station_id=None, enrol_totp=False)
    tokens = auth.login_ok("mia@example.org")
    assert _status(auth, tokens["access_token"]) == 200
    assert _status(auth, tokens["refresh_token"]) == 401


def test_missing_token_is_refused(auth) -> None:
    assert auth.client.get(ME).status_code == 401
