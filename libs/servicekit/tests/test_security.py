"""JWKSVerifier against a real HTTP JWKS endpoint: caching, rotation, retirement, attacks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import uvicorn
from fastapi import FastAPI

from servicekit.security import InvalidToken, JWKSVerifier
from servicekit.testing import TokenFactory, free_port


class JWKSServer:
    """A real HTTP server publishing whatever key set the test sets."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.hits = 0
        app = FastAPI()

        @app.get("/jwks.json")
        def jwks() -> dict[str, Any]:
            self.hits += 1
            return self.jwks

        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def __enter__(self) -> JWKSServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        yield server


def _verifier(url: str, clock: list[float]) -> JWKSVerifier:
    return JWKSVerifier(
        jwks_url=url,
        issuer="stationhouse-auth",
        audience="stationhouse",
        cache_seconds=60,
        clock=lambda: clock[0],
    )


async def test_keys_are_fetched_once_and_cached(jwks_server: JWKSServer) -> None:
    signer = TokenFactory()
    jwks_server.jwks = signer.jwks()
    clock = [1000.0]
    verifier = _verifier(jwks_server.url, clock)
    for _ in range(5):
        principal = await verifier.verify(signer.token(subject="u1", roles=["officer"]))
        assert principal.subject == "u1"
    assert jwks_server.hits == 1
    await verifier.aclose()


async def test_rotation_and_retirement(jwks_server: JWKSServer) -> None:
    old = TokenFactory(kid="k-old")
    new = TokenFactory(kid="k-new")
    jwks_server.jwks = old.jwks()
    clock = [1000.0]
    verifier = _verifier(jwks_server.url, clock)
    old_token = old.token(subject="u1")
    assert (await verifier.verify(old_token)).subject == "u1"
    # Rotation: both keys published; a token of the new key is fetched on demand (unknown kid).
    jwks_server.jwks = {"keys": old.jwks()["keys"] + new.jwks()["keys"]}
    clock[0] += 10
    assert (await verifier.verify(new.token(subject="u2"))).subject == "u2"
    assert (await verifier.verify(old_token)).subject == "u1"
    # Retirement: once the cache expires the old key is gone and its tokens are refused.
    jwks_server.jwks = new.jwks()
    clock[0] += 61
    with pytest.raises(InvalidToken):
        await verifier.verify(old_token)
    await verifier.aclose()


async def test_auth_outage_keeps_cached_keys(jwks_server: JWKSServer) -> None:
    signer = TokenFactory()
    jwks_server.jwks = signer.jwks()
    clock = [1000.0]
    verifier = _verifier(jwks_server.url, clock)
    await verifier.verify(signer.token())
    verifier.jwks_url = f"http://127.0.0.1:{free_port()}/jwks.json"  # auth is down
    clock[0] += 120
    assert (await verifier.verify(signer.token(subject="u3"))).subject == "u3"
    await verifier.aclose()


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "hs256_with_public_key",
        "expired",
        "wrong_aud",
        "wrong_iss",
        "unknown_kid",
        "opaque_refresh_token",
        "no_typ",
    ],
)
async def test_token_attacks_are_refused(attack: str) -> None:
    signer = TokenFactory()
    verifier = signer.verifier()
    now = int(time.time())
    claims = {
        "iss": "stationhouse-auth",
        "aud": "stationhouse",
        "sub": "x",
        "iat": now,
        "exp": now + 300,
        "jti": "j",
        "roles": ["admin"],
    }
    header = {"kid": signer.kid, "typ": "at+jwt"}
    if attack == "alg_none":
        token = jwt.encode(claims, None, algorithm="none", headers=header)
    elif attack == "hs256_with_public_key":
        public_jwk = signer.jwks()["keys"][0]
        token = jwt.encode(claims, public_jwk["x"].encode(), algorithm="HS256", headers=header)
    elif attack == "expired":
        token = signer.token(ttl_seconds=-120)
    elif attack == "wrong_aud":
        token = jwt.encode({**claims, "aud": "other"}, signer.private_key, "EdDSA", header)
    elif attack == "wrong_iss":
        token = jwt.encode({**claims, "iss": "evil"}, signer.private_key, "EdDSA", header)
    elif attack == "unknown_kid":
        token = jwt.encode(claims, signer.private_key, "EdDSA", {**header, "kid": "nope"})
    elif attack == "opaque_refresh_token":
        token = "rt_3q2-opaque-refresh-token-value"
    else:
        token = jwt.encode(claims, signer.private_key, "EdDSA", {"kid": signer.kid})
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
