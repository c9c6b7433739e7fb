"""Password hashing (argon2id) and the strength rule (length plus zxcvbn, no composition rules)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn

from auth_service.config import Settings

MIN_LENGTH = 8
MAX_LENGTH = 256
# zxcvbn's cost grows with length; beyond this it adds nothing for a policy decision.
ZXCVBN_PREFIX = 72  # zxcvbn refuses longer input


class PasswordHasher:
    """argon2id with the configured parameters, and a dummy hash for unknown users."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.time_cost = time_cost
        self.memory_kib = memory_kib
        self.parallelism = parallelism
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism),)
        )
        # Verifying against this costs what a real verification costs, so an unknown user
        # answers in about the same time as a wrong password.
        self._dummy = self._hash.hash(secrets.token_urlsafe(24))

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, password_hash: str) -> bool:
        return self._hash.verify(password, password_hash)

    def verify_dummy(self, password: str) -> None:
        self._hash.verify(password, self._dummy)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hash.current_hasher.check_needs_rehash(password_hash)

    def describe(self) -> str:
        return f"argon2id t={self.time_cost} m={self.memory_kib} KiB p={self.parallelism}"


def password_problems(
    password: str, *, min_score: int, user_inputs: Sequence[str] = ()
) -> list[str]:
    """Why a new password is refused (empty when it is acceptable)."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters; a passphrase of several words is best."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    inputs = [part for value in user_inputs if value for part in value.replace("@", " ").split()]
    result = zxcvbn(password[:ZXCVBN_PREFIX], user_inputs=inputs)
    if result["score"] >= min_score:
        return []
    feedback = result.get("feedback") or {}
    reasons = [feedback.get("warning") or "This password is too easy to guess."]
    reasons += list(feedback.get("suggestions") or [])
    return [reason for reason in reasons if reason]
