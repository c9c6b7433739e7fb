"""Encryption at rest of signing keys and TOTP secrets with a key from the environment."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from auth_service.config import Settings
from servicekit.logging import get_logger

log = get_logger(__name__)

# Publicly known on purpose: only for AUTH_ALLOW_DEV_KEY=true on a developer's machine.
DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"stationhouse-insecure-dev-key").digest())


class KeyEncryptionError(RuntimeError):
    """The key-encryption key is missing, malformed, or not the one the data was sealed with."""


class SecretBox:
    """Seals small secrets with Fernet (AES-128-CBC + HMAC-SHA256).

    The first key seals; older keys after it (comma separated) still open, so the key can be
    changed: set "new,old", start once (everything is re-sealed under new), then drop old.
    """

    def __init__(self, key: bytes, *older: bytes) -> None:
        try:
            fernets = [Fernet(k) for k in (key, *older)]
        except (ValueError, TypeError) as exc:
            raise KeyEncryptionError(
                "AUTH_KEY_ENCRYPTION_KEY must be a Fernet key: url-safe base64 of 32 random bytes"
            ) from exc
        self._fernet = MultiFernet(fernets)
        self.has_older_keys = bool(older)
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

    def reseal(self, sealed: str) -> str:
        """The same secret sealed under the first (current) key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise KeyEncryptionError(
                "a stored secret cannot be decrypted with AUTH_KEY_ENCRYPTION_KEY"
            ) from exc


def secret_box_from(settings: Settings) -> SecretBox:
    """The configured box; refuses to run without a key unless dev keys are allowed."""
    if settings.key_encryption_key is not None and settings.key_encryption_key.get_secret_value():
        # "current" or "current,older,...": the first seals, all open.
        keys = [
            part.strip().encode()
            for part in settings.key_encryption_key.get_secret_value().split(",")
            if part.strip()
        ]
        if not keys:
            raise KeyEncryptionError("AUTH_KEY_ENCRYPTION_KEY is empty")
        return SecretBox(*keys)
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
