"""Access tokens (signed JWTs) and sessions with rotating, single-use refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth_service.clock import as_utc
from auth_service.context import AuthContext
from auth_service.keys import ensure_signing_key
from auth_service.models import AuthSession, RefreshToken, User
from servicekit.security import ACCESS_TOKEN_TYPE

REFRESH_TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """Refresh tokens and tickets are high-entropy, so a plain SHA-256 is the right store."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str | None = None
    refresh_expires_in: int | None = None

    def as_response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
            body["refresh_expires_in"] = self.refresh_expires_in
        return body


def sign_access_token(
    session: Session,
    context: AuthContext,
    *,
    subject: str,
    roles: list[str],
    station_id: str | None,
    now: datetime,
    not_after: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """A 15-minute access JWT (never outliving `not_after`) and its lifetime in seconds."""
    key = ensure_signing_key(session, box=context.box, now=now)
    expires = now + timedelta(seconds=context.settings.access_token_ttl_seconds)
    if not_after is not None:
        expires = min(expires, not_after)
    claims: dict[str, Any] = {
        "iss": context.settings.token_issuer,
        "aud": context.settings.token_audience,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
        "roles": sorted(roles),
        "station_id": station_id,
        **(extra or {}),
    }
    token = context.signer.sign(key, claims, typ=ACCESS_TOKEN_TYPE)
    return token, max(0, int((expires - now).total_seconds()))


def _new_refresh_token(session: Session, auth_session: AuthSession, *, now: datetime) -> str:
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    session.add(
        RefreshToken(session_id=auth_session.id, token_hash=token_hash(token), issued_at=now)
    )
    return token


def _tokens_for(
    session: Session, context: AuthContext, user: User, auth_session: AuthSession, now: datetime
) -> IssuedTokens:
    absolute_end = as_utc(auth_session.expires_at)
    access, expires_in = sign_access_token(
        session,
        context,
        subject=user.id,
        roles=list(user.roles),
        station_id=user.station_id,
        now=now,
        not_after=absolute_end,
        extra={"sid": auth_session.id},
    )
    refresh = _new_refresh_token(session, auth_session, now=now)
    idle_end = now + timedelta(seconds=context.settings.session_idle_seconds)
    refresh_in = int((min(idle_end, absolute_end) - now).total_seconds())
    return IssuedTokens(access, expires_in, refresh, refresh_in)


def start_session(
    session: Session, context: AuthContext, *, user: User, now: datetime
) -> IssuedTokens:
    """A new sign-in: a session (12 h at most) and its first refresh token."""
    auth_session = AuthSession(
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(seconds=context.settings.session_absolute_seconds),
    )
    session.add(auth_session)
    session.flush()
    return _tokens_for(session, context, user, auth_session, now)


@dataclass(frozen=True)
class RefreshOutcome:
    tokens: IssuedTokens | None
    failure: str | None = None  # unknown, reused, revoked, idle, absolute, account
    user_id: str | None = None
    session_id: str | None = None


def revoke(auth_session: AuthSession, *, now: datetime, reason: str) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason


def rotate_refresh_token(
    session: Session, context: AuthContext, *, presented: str, now: datetime
) -> RefreshOutcome:
    """Spend a refresh token for new tokens; a second use of any token revokes its family."""
    stored = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(presented))
    )
    if stored is None:
        return RefreshOutcome(None, "unknown")
    # Lock the family: concurrent refreshes of one session take turns.
    auth_session = session.get(AuthSession, stored.session_id, with_for_update=True)
    if auth_session is None:
        return RefreshOutcome(None, "unknown")
    ids = {"user_id": auth_session.user_id, "session_id": auth_session.id}
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        # Someone holds a copy of a token that was already rotated: end the whole family.
        revoke(auth_session, now=now, reason="reuse")
        return RefreshOutcome(None, "reused", **ids)
    if auth_session.revoked_at is not None:
        return RefreshOutcome(None, "revoked", **ids)
    if now >= as_utc(auth_session.expires_at):
        revoke(auth_session, now=now, reason="absolute_timeout")
        return RefreshOutcome(None, "absolute", **ids)
    idle = timedelta(seconds=context.settings.session_idle_seconds)
    if now - as_utc(auth_session.last_used_at) > idle:
        revoke(auth_session, now=now, reason="idle_timeout")
        return RefreshOutcome(None, "idle", **ids)
    user = session.get(User, auth_session.user_id)
    if user is None or user.disabled_at is not None or user.locked_at is not None:
        revoke(auth_session, now=now, reason="account")
        return RefreshOutcome(None, "account", **ids)
    auth_session.last_used_at = now
    return RefreshOutcome(_tokens_for(session, context, user, auth_session, now), None, **ids)


def revoke_by_refresh_token(session: Session, *, presented: str, now: datetime) -> str | None:
    """Logout: end the session the token belongs to (used or not); its id, if any."""
    stored = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(presented))
    )
    if stored is None:
        return None
    auth_session = session.get(AuthSession, stored.session_id, with_for_update=True)
    if auth_session is None:
        return None
    revoke(auth_session, now=now, reason="logout")
    return auth_session.id


# Ended sessions are published for this long past an access token's lifetime (clock leeway).
REVOCATION_MARGIN_SECONDS = 60


def recently_revoked_sessions(
    session: Session, context: AuthContext, *, now: datetime
) -> list[str]:
    """Ids of sessions ended recently enough that one of their access tokens may still be
    unexpired: the list every verifier checks a token's `sid` against."""
    window = context.settings.access_token_ttl_seconds + REVOCATION_MARGIN_SECONDS
    since = now - timedelta(seconds=window)
    return list(
        session.scalars(
            select(AuthSession.id)
            .where(AuthSession.revoked_at >= since)
            .order_by(AuthSession.revoked_at, AuthSession.id)
        )
    )


def revoke_user_sessions(
    session: Session, *, user_id: str, now: datetime, reason: str, keep: str | None = None
) -> int:
    """End every open session of a user (but `keep`, the caller's own, when given)."""
    query = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    result = session.execute(
        query.values(revoked_at=now, revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
