"""Encryption at rest of signing keys and TOTP secrets with a key from the environment."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from auth_service.config import Settings
from servicekit.logging import get_logger

log = get_logger(__name__)

# Publicly known on purpose: only for AUTH_ALLOW_DEV_KEY=true on a developer's machine.
DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"stationhouse-insecure-dev-key").digest())


class KeyEncryptionError(RuntimeError):
    """The key-encryption key is missing, malformed, or not the one the data was sealed with."""


class SecretBox:
    """Seals small secrets with Fernet (AES-128-CBC + HMAC-SHA256) under one key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise KeyEncryptionError(
                "AUTH_KEY_ENCRYPTION_KEY must be a Fernet key: url-safe base64 of 32 random bytes"
            ) from exc
        # Stored beside each sealed value so a wrong key is reported as such, not as corruption.
        self.key_id = hashlib.sha256(key).hexdigest()[:16]

    def seal(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode()

    def open(self, sealed: str) -> bytes:
        try:
            return self._fernet.decrypt(sealed.encode())
        except InvalidToken as exc:
            raise KeyEncryptionError(
                "a stored secret cannot be decrypted with AUTH_KEY_ENCRYPTION_KEY"
            ) from exc


def secret_box_from(settings: Settings) -> SecretBox:
    """The configured box; refuses to run without a key unless dev keys are allowed."""
    if settings.key_encryption_key is not None and settings.key_encryption_key.get_secret_value():
        return SecretBox(settings.key_encryption_key.get_secret_value().strip().encode())
    if settings.allow_dev_key:
        log.warning(
            "auth.insecure_dev_key",
            detail="AUTH_KEY_ENCRYPTION_KEY unset; using the public development key",
        )
        return SecretBox(DEV_KEY)
    raise KeyEncryptionError(
        'AUTH_KEY_ENCRYPTION_KEY is not set. Generate one with `python -c "from '
        'cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"` or, on a '
        "development machine only, set AUTH_ALLOW_DEV_KEY=true."
    )
