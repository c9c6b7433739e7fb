"""Verified tokens are remembered until they expire, and only the exact token is."""

from __future__ import annotations

from gateway.tokens import VerifiedTokens
from servicekit.security import Principal
from servicekit.testing import TokenFactory


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _principal(subject: str, expires_at: int) -> Principal:
    return Principal(
        subject=subject,
        roles=frozenset({"officer"}),
        station_id="ST-1",
        token_id=f"jti-{subject}",
        expires_at=expires_at,
    )


def test_a_remembered_token_lapses_at_its_expiry() -> None:
    clock = FakeClock(1_000.0)
    tokens = VerifiedTokens(max_age=3_600, clock=clock)
    tokens.put("token-a", _principal("a", expires_at=1_100))
    clock.now = 1_099.0
    assert tokens.get("token-a") == _principal("a", expires_at=1_100)
    clock.now = 1_100.0
    assert tokens.get("token-a") is None
    assert len(tokens) == 0


def test_a_remembered_token_lapses_with_the_key_cache_even_before_expiry() -> None:
    clock = FakeClock(1_000.0)
    tokens = VerifiedTokens(max_age=60, clock=clock)
    tokens.put("token-a", _principal("a", expires_at=1_900))
    clock.now = 1_061.0
    assert tokens.get("token-a") is None


def test_the_map_is_bounded_and_forgets_the_oldest_first() -> None:
    tokens = VerifiedTokens(max_age=60, max_entries=2, clock=FakeClock(0.0))
    for name in ("a", "b", "c"):
        tokens.put(f"token-{name}", _principal(name, expires_at=100))
    assert len(tokens) == 2
    assert tokens.get("token-a") is None
    assert tokens.get("token-c") is not None


def test_a_forged_token_is_refused_after_the_real_one_was_accepted(
    make_gateway, token_factory: TokenFactory
) -> None:
    gateway = make_gateway()
    token = token_factory.token(roles=["officer"])
    for _ in range(2):  # the second answer comes from the remembered verification
        response = gateway.get("/api/v1/records/echo", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    head, payload, signature = token.split(".")
    flipped = "A" if signature[10] != "A" else "B"
    forged = f"{head}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    refused = gateway.get("/api/v1/records/echo", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
