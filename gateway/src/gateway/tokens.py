"""Principals of access tokens the gateway has already verified, kept until they expire.

Checking an EdDSA signature costs more CPU than everything else the gateway does for a request,
and a client sends the same token with every request for up to 15 minutes. An entry never
outlives its token's `exp`, nor the verifier's key cache (so a retired key stops being honoured
here no later than in the verifier itself). Keys are SHA-256 digests: bearer tokens themselves
are not kept in a long-lived map. The edge check still asks the verifier whether auth has ended
the token's session on every hit. Services still verify every token themselves.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from servicekit.security import Principal


class VerifiedTokens:
    """A bounded map from token digest to (principal, valid until); oldest entries go first."""

    def __init__(
        self, *, max_age: float, max_entries: int = 10_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[Principal, float]] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Principal | None:
        """The principal of a token verified earlier, if it is still valid."""
        key = self._key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        principal, valid_until = entry
        if self._clock() >= valid_until:
            del self._entries[key]
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        """Remember a token the verifier accepted."""
        valid_until = min(float(principal.expires_at), self._clock() + self.max_age)
        if len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[self._key(token)] = (principal, valid_until)

    def __len__(self) -> int:
        return len(self._entries)
