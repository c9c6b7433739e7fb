"""Signing keys: generated on first start, sealed at rest, published as JWKS, rotated, retired."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from auth_service.clock import Clock, as_utc
from auth_service.crypto import SecretBox
from auth_service.models import SigningKey
from servicekit.db import Database
from servicekit.logging import get_logger
from servicekit.security import JWKSVerifier

log = get_logger(__name__)

ALGORITHM = "EdDSA"


def _thumbprint_kid(public_jwk: dict[str, Any]) -> str:
    # RFC 7638 thumbprint of an OKP key: a stable, collision-free kid.
    canonical = json.dumps(
        {"crv": public_jwk["crv"], "kty": public_jwk["kty"], "x": public_jwk["x"]},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def create_signing_key(session: Session, *, box: SecretBox, now: datetime) -> SigningKey:
    """Generate an Ed25519 key, seal its private half and store it as the newest signer."""
    private_key = Ed25519PrivateKey.generate()
    public_jwk: dict[str, Any] = jwt.algorithms.OKPAlgorithm.to_jwk(
        private_key.public_key(), as_dict=True
    )
    kid = _thumbprint_kid(public_jwk)
    public_jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        public_jwk=public_jwk,
        private_key_sealed=box.seal(pem),
        sealed_with=box.key_id,
        created_at=now,
    )
    session.add(key)
    session.flush()
    log.info("auth.signing_key_created", kid=kid)
    return key


def active_key(session: Session) -> SigningKey | None:
    """The key that signs: the newest one not rotated out."""
    return session.scalars(
        select(SigningKey)
        .where(SigningKey.rotated_out_at.is_(None), SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        .limit(1)
    ).first()


def ensure_signing_key(session: Session, *, box: SecretBox, now: datetime) -> SigningKey:
    """The active key, generating the first one on an empty database."""
    key = active_key(session)
    if key is None:
        key = create_signing_key(session, box=box, now=now)
    return key


def verifying_keys(session: Session, *, now: datetime) -> list[SigningKey]:
    """Keys whose tokens are still accepted: not retired, and not past their retire time."""
    return list(
        session.scalars(
            select(SigningKey)
            .where(
                SigningKey.retired_at.is_(None),
                or_(SigningKey.retire_after.is_(None), SigningKey.retire_after > now),
            )
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    )


def jwks_document(session: Session, *, now: datetime) -> dict[str, Any]:
    return {"keys": [dict(key.public_jwk) for key in verifying_keys(session, now=now)]}


def rotate_signing_key(
    session: Session, *, box: SecretBox, now: datetime, keep_verifying: timedelta
) -> tuple[SigningKey, list[SigningKey]]:
    """A new key signs from now on; the old ones verify for `keep_verifying`, then retire."""
    old = list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.rotated_out_at.is_(None), SigningKey.retired_at.is_(None))
            .with_for_update()
        )
    )
    for key in old:
        key.rotated_out_at = now
        key.retire_after = now + keep_verifying
    new = create_signing_key(session, box=box, now=now + timedelta(microseconds=1))
    return new, old


def retire_expired_keys(session: Session, *, now: datetime) -> list[str]:
    """Mark keys past their retire time as retired (they have left JWKS already)."""
    keys = session.scalars(
        select(SigningKey).where(
            SigningKey.retired_at.is_(None),
            SigningKey.retire_after.is_not(None),
            SigningKey.retire_after <= now,
        )
    ).all()
    for key in keys:
        key.retired_at = as_utc(key.retire_after) if key.retire_after else now
    return [key.kid for key in keys]


class Signer:
    """Signs access tokens with the active key; caches the decrypted key per kid."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._cache: dict[str, Ed25519PrivateKey] = {}

    def private_key(self, key: SigningKey) -> Ed25519PrivateKey:
        cached = self._cache.get(key.kid)
        if cached is None:
            loaded = serialization.load_pem_private_key(
                self._box.open(key.private_key_sealed), password=None
            )
            if not isinstance(loaded, Ed25519PrivateKey):
                raise TypeError(f"signing key {key.kid} is not Ed25519")
            self._cache[key.kid] = cached = loaded
        return cached

    def sign(self, key: SigningKey, claims: dict[str, Any], *, typ: str) -> str:
        return jwt.encode(
            claims,
            self.private_key(key),
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": typ},
        )


class DatabaseKeysVerifier(JWKSVerifier):
    """servicekit's verifier, fed from auth's own key table instead of over HTTP.

    Same checks as every other service; a key rotated in by another replica is picked up by
    the verifier's unknown-kid refetch, a retired one drops out at the next cache refresh.
    """

    def __init__(
        self, *, database: Database, clock: Clock, issuer: str, audience: str, cache_seconds: float
    ) -> None:
        super().__init__(
            jwks_url=None, issuer=issuer, audience=audience, cache_seconds=cache_seconds
        )
        self._database = database
        self._time = clock

    def _read(self) -> dict[str, Any]:
        with self._database.session(write=False) as session:
            return jwks_document(session, now=self._time.now())

    async def _fetch(self) -> None:
        self._load(await asyncio.to_thread(self._read))

    def forget(self) -> None:
        """Reload on the next verification (this replica just rotated or retired a key)."""
        self._fetched_at = float("-inf")


def reseal_all(session: Session, *, box: SecretBox) -> int:
    """Re-seal every stored secret under the current key-encryption key; how many changed."""
    from auth_service.models import User

    changed = 0
    for key in session.scalars(select(SigningKey).with_for_update()):
        key.private_key_sealed = box.reseal(key.private_key_sealed)
        key.sealed_with = box.key_id
        changed += 1
    users = session.scalars(
        select(User)
        .where(or_(User.totp_secret_sealed.is_not(None), User.totp_pending_sealed.is_not(None)))
        .with_for_update()
    )
    for user in users:
        if user.totp_secret_sealed:
            user.totp_secret_sealed = box.reseal(user.totp_secret_sealed)
        if user.totp_pending_sealed:
            user.totp_pending_sealed = box.reseal(user.totp_pending_sealed)
        changed += 1
    return changed
