"""Sign-in flows: password (+ TOTP), refresh, client credentials, logout, TOTP enrolment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auth_service import totp
from auth_service.audit import record
from auth_service.clock import as_utc
from auth_service.context import AuthContext, RequestMeta
from auth_service.exceptions import (
    AccountLocked,
    InvalidClient,
    InvalidEnrolmentTicket,
    InvalidGrant,
    InvalidTotpCode,
    TotpEnrolmentRequired,
    TotpRequired,
)
from auth_service.models import EnrolmentTicket, LoginFailure, ServiceAccount, User
from auth_service.tokens import (
    IssuedTokens,
    revoke_by_refresh_token,
    rotate_refresh_token,
    sign_access_token,
    start_session,
    token_hash,
)
from servicekit.errors import BadRequest, Forbidden, ProblemError
from servicekit.logging import get_logger
from servicekit.security import ROLE_SERVICE, STAFF_ROLES

log = get_logger(__name__)

BAD_CREDENTIALS = "Incorrect username, password or one-time code."
SESSION_ENDED = "The refresh token is not valid; sign in again."


def normalize_username(username: str) -> str:
    return username.strip().lower()


def is_staff(roles: list[str]) -> bool:
    return bool(set(roles) & STAFF_ROLES)


def _record_failure(
    session: Session,
    context: AuthContext,
    *,
    user: User,
    reason: str,
    now: datetime,
    meta: RequestMeta,
) -> None:
    """Count a failed sign-in in the database and lock the account at the threshold."""
    session.add(LoginFailure(user_id=user.id, occurred_at=now, reason=reason))
    session.flush()
    since = now - timedelta(seconds=context.settings.lockout_window_seconds)
    if user.failures_reset_at is not None:
        since = max(since, as_utc(user.failures_reset_at))
    recent = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.user_id == user.id, LoginFailure.occurred_at > since)
    )
    record(
        session,
        meta=meta,
        actor=user.username,
        action="login",
        outcome="failure",
        target_type="user",
        target_id=user.id,
        details={"reason": reason, "recent_failures": recent},
        now=now,
    )
    if (recent or 0) >= context.settings.lockout_threshold and user.locked_at is None:
        user.locked_at = now
        user.version += 1
        record(
            session,
            meta=meta,
            actor="system",
            action="account.locked",
            target_type="user",
            target_id=user.id,
            details={"failures": recent, "window_seconds": context.settings.lockout_window_seconds},
            now=now,
        )
        log.warning("auth.account_locked", user_id=user.id)


@dataclass(frozen=True)
class _Snapshot:
    user_id: str
    password_hash: str


def password_login(
    context: AuthContext,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    meta: RequestMeta,
) -> IssuedTokens:
    """OAuth2 password grant with the second factor; raises a 401/403 problem otherwise."""
    name = normalize_username(username)
    with context.database.session(write=False) as session:
        found = session.scalar(select(User).where(User.username == name))
        snapshot = _Snapshot(found.id, found.password_hash) if found else None

    # argon2 runs outside any transaction: a slow hash never holds a database lock.
    if snapshot is None:
        context.hasher.verify_dummy(password)
        with context.database.session() as session:
            now = context.clock.now()
            record(
                session,
                meta=meta,
                actor=name or "(empty)",
                action="login",
                outcome="failure",
                details={"reason": "unknown_user"},
                now=now,
            )
        raise InvalidGrant(BAD_CREDENTIALS)
    password_ok = context.hasher.verify(password, snapshot.password_hash)
    rehashed = (
        context.hasher.hash(password)
        if password_ok and context.hasher.needs_rehash(snapshot.password_hash)
        else None
    )

    error: ProblemError | None = None
    tokens: IssuedTokens | None = None
    with context.database.session() as session:
        # The row lock makes concurrent attempts on one account (on any replica) take turns,
        # so the failure count and the lock are exact.
        user = session.get(User, snapshot.user_id, with_for_update=True)
        now = context.clock.now()
        if user is None:
            raise InvalidGrant(BAD_CREDENTIALS)
        if user.disabled_at is not None:
            record(
                session,
                meta=meta,
                actor=user.username,
                action="login",
                outcome="failure",
                target_type="user",
                target_id=user.id,
                details={"reason": "disabled"},
                now=now,
            )
            error = InvalidGrant(BAD_CREDENTIALS)
        elif user.locked_at is not None:
            record(
                session,
                meta=meta,
                actor=user.username,
                action="login",
                outcome="failure",
                target_type="user",
                target_id=user.id,
                details={"reason": "locked"},
                now=now,
            )
            # Only someone who knows the password learns that the account is locked.
            error = (
                AccountLocked("The account is locked; ask an administrator to unlock it.")
                if password_ok
                else InvalidGrant(BAD_CREDENTIALS)
            )
        elif not password_ok or user.password_hash != snapshot.password_hash:
            _record_failure(session, context, user=user, reason="password", now=now, meta=meta)
            error = InvalidGrant(BAD_CREDENTIALS)
        elif user.totp_enabled_at is not None and user.totp_secret_sealed:
            if not totp_code:
                error = TotpRequired(
                    "This account needs the one-time code from its authenticator app "
                    "(form field `totp`)."
                )
            else:
                secret = context.box.open(user.totp_secret_sealed).decode()
                step = totp.matching_step(secret, totp_code, now=now, last_step=user.totp_last_step)
                if step is None:
                    _record_failure(session, context, user=user, reason="totp", now=now, meta=meta)
                    error = InvalidGrant(BAD_CREDENTIALS)
                else:
                    user.totp_last_step = step
                    tokens = _succeed(
                        session, context, user=user, now=now, meta=meta, rehashed=rehashed
                    )
        elif is_staff(user.roles):
            ticket = _issue_enrolment_ticket(session, context, user=user, now=now)
            record(
                session,
                meta=meta,
                actor=user.username,
                actor_roles=user.roles,
                action="login",
                outcome="enrolment_required",
                target_type="user",
                target_id=user.id,
                now=now,
            )
            error = TotpEnrolmentRequired(
                "Staff accounts need a second factor. Use enrolment_token at "
                "POST /api/v1/auth/totp/enrolment, then confirm a code at "
                "POST /api/v1/auth/totp/enrolment/confirm.",
                enrolment_token=ticket,
                expires_in=context.settings.enrolment_ticket_seconds,
            )
        else:
            tokens = _succeed(session, context, user=user, now=now, meta=meta, rehashed=rehashed)
    # Raised after the commit: failures, locks and audit entries must persist.
    if error is not None:
        raise error
    assert tokens is not None
    return tokens


def _succeed(
    session: Session,
    context: AuthContext,
    *,
    user: User,
    now: datetime,
    meta: RequestMeta,
    rehashed: str | None,
) -> IssuedTokens:
    user.failures_reset_at = now
    user.last_login_at = now
    if rehashed is not None:
        user.password_hash = rehashed
    record(
        session,
        meta=meta,
        actor=user.username,
        actor_roles=user.roles,
        action="login",
        target_type="user",
        target_id=user.id,
        now=now,
    )
    return start_session(session, context, user=user, now=now)


def _issue_enrolment_ticket(
    session: Session, context: AuthContext, *, user: User, now: datetime
) -> str:
    ticket = secrets.token_urlsafe(32)
    session.add(
        EnrolmentTicket(
            user_id=user.id,
            ticket_hash=token_hash(ticket),
            expires_at=now + timedelta(seconds=context.settings.enrolment_ticket_seconds),
        )
    )
    return ticket


def _ticket_user(session: Session, *, ticket: str, now: datetime) -> tuple[EnrolmentTicket, User]:
    stored = session.scalar(
        select(EnrolmentTicket).where(EnrolmentTicket.ticket_hash == token_hash(ticket))
    )
    if stored is None or stored.used_at is not None or as_utc(stored.expires_at) <= now:
        raise InvalidEnrolmentTicket("The enrolment ticket is not valid; sign in again.")
    user = session.get(User, stored.user_id, with_for_update=True)
    if user is None or user.disabled_at is not None or user.locked_at is not None:
        raise InvalidEnrolmentTicket("The enrolment ticket is not valid; sign in again.")
    if user.totp_enabled_at is not None:
        raise InvalidEnrolmentTicket("A second factor is already enrolled; sign in with it.")
    return stored, user


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str


def begin_enrolment(context: AuthContext, *, ticket: str) -> Enrolment:
    """A fresh TOTP secret for the ticket's user, pending until a code confirms it."""
    with context.database.session() as session:
        now = context.clock.now()
        _, user = _ticket_user(session, ticket=ticket, now=now)
        secret = totp.new_secret()
        user.totp_pending_sealed = context.box.seal(secret.encode())
        return Enrolment(
            secret=secret,
            provisioning_uri=totp.provisioning_uri(
                secret, account=user.username, issuer=context.settings.totp_issuer
            ),
        )


def confirm_enrolment(
    context: AuthContext, *, ticket: str, code: str, meta: RequestMeta
) -> IssuedTokens:
    """Turn the pending secret on with a valid code and finish the sign-in."""
    with context.database.session() as session:
        now = context.clock.now()
        stored, user = _ticket_user(session, ticket=ticket, now=now)
        if not user.totp_pending_sealed:
            raise InvalidTotpCode("Start the enrolment first (POST /api/v1/auth/totp/enrolment).")
        secret = context.box.open(user.totp_pending_sealed).decode()
        step = totp.matching_step(secret, code, now=now, last_step=user.totp_last_step)
        if step is None:
            raise InvalidTotpCode("The code does not match; check the authenticator's clock.")
        stored.used_at = now
        user.totp_secret_sealed = user.totp_pending_sealed
        user.totp_pending_sealed = None
        user.totp_enabled_at = now
        user.totp_last_step = step
        user.version += 1
        record(
            session,
            meta=meta,
            actor=user.username,
            actor_roles=user.roles,
            action="totp.enrolled",
            target_type="user",
            target_id=user.id,
            now=now,
        )
        return _succeed(session, context, user=user, now=now, meta=meta, rehashed=None)


def refresh_login(context: AuthContext, *, refresh_token: str, meta: RequestMeta) -> IssuedTokens:
    """The refresh-token grant: rotate, or end the session on reuse and timeouts."""
    with context.database.session() as session:
        now = context.clock.now()
        outcome = rotate_refresh_token(session, context, presented=refresh_token, now=now)
        if outcome.failure is not None and outcome.failure != "unknown":
            record(
                session,
                meta=meta,
                actor=outcome.user_id or "unknown",
                action="refresh",
                outcome="failure",
                target_type="session",
                target_id=outcome.session_id,
                details={"reason": outcome.failure},
                now=now,
            )
    if outcome.tokens is None:
        raise InvalidGrant(SESSION_ENDED, reason=outcome.failure)
    return outcome.tokens


def logout(context: AuthContext, *, refresh_token: str, meta: RequestMeta) -> None:
    with context.database.session() as session:
        now = context.clock.now()
        session_id = revoke_by_refresh_token(session, presented=refresh_token, now=now)
        if session_id is not None:
            record(
                session,
                meta=meta,
                actor="session-holder",
                action="logout",
                target_type="session",
                target_id=session_id,
                now=now,
            )


def client_credentials_login(
    context: AuthContext, *, client_id: str, client_secret: str, meta: RequestMeta
) -> IssuedTokens:
    """OAuth2 client-credentials grant for service accounts: role `service`, no refresh."""
    with context.database.session(write=False) as session:
        account = session.get(ServiceAccount, client_id)
        secret_hash = account.secret_hash if account and account.active else None
    if secret_hash is None:
        context.hasher.verify_dummy(client_secret)
        ok = False
    else:
        ok = context.hasher.verify(client_secret, secret_hash)
    with context.database.session() as session:
        now = context.clock.now()
        record(
            session,
            meta=meta,
            actor=f"svc:{client_id}",
            actor_roles=[ROLE_SERVICE],
            action="login.client_credentials",
            outcome="success" if ok else "failure",
            target_type="service_account",
            target_id=client_id,
            now=now,
        )
        if ok:
            token, expires_in = sign_access_token(
                session,
                context,
                subject=f"svc:{client_id}",
                roles=[ROLE_SERVICE],
                station_id=None,
                now=now,
            )
    if not ok:
        raise InvalidClient("Unknown client or wrong client secret.")
    return IssuedTokens(token, expires_in)


def change_password(
    context: AuthContext,
    *,
    user_id: str,
    session_id: str | None,
    current_password: str,
    new_password: str,
    meta: RequestMeta,
) -> None:
    """A signed-in user changes their password; their other sessions end."""
    from auth_service.tokens import revoke_user_sessions
    from auth_service.users import check_password

    with context.database.session(write=False) as session:
        found = session.get(User, user_id)
        if found is None or found.disabled_at is not None:
            raise Forbidden("Only a signed-in user can change their password.")
        snapshot = _Snapshot(found.id, found.password_hash)
        inputs = [found.username, found.email or "", found.display_name]
    current_ok = context.hasher.verify(current_password, snapshot.password_hash)
    if current_ok:
        check_password(context, new_password, user_inputs=inputs)
        if new_password == current_password:
            raise BadRequest("The new password must differ from the current one.")
    new_hash = context.hasher.hash(new_password) if current_ok else None
    with context.database.session() as session:
        user = session.get(User, user_id, with_for_update=True)
        now = context.clock.now()
        if user is None:
            raise Forbidden("Only a signed-in user can change their password.")
        if new_hash is None or user.password_hash != snapshot.password_hash:
            _record_failure(
                session, context, user=user, reason="password_change", now=now, meta=meta
            )
        else:
            user.password_hash = new_hash
            user.updated_at = now
            user.version += 1
            revoke_user_sessions(
                session, user_id=user.id, now=now, reason="password_changed", keep=session_id
            )
            record(
                session,
                meta=meta,
                actor=user.username,
                actor_roles=user.roles,
                action="password.changed",
                target_type="user",
                target_id=user.id,
                now=now,
            )
            return
    raise BadRequest("The current password is not correct.")
