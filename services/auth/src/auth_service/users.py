"""User administration and citizen self-registration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth_service.audit import record
from auth_service.clock import as_utc
from auth_service.context import AuthContext, RequestMeta
from auth_service.exceptions import UsernameTaken, WeakPassword
from auth_service.models import User
from auth_service.passwords import password_problems
from auth_service.schemas import UserPublic
from auth_service.service import is_staff, normalize_username
from auth_service.tokens import revoke_user_sessions
from servicekit.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from servicekit.pagination import Page, PageParams, make_page
from servicekit.security import ROLE_CITIZEN, Principal


def to_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        email=user.email,
        display_name=user.display_name,
        roles=list(user.roles),
        station_id=user.station_id,
        disabled=user.disabled_at is not None,
        locked=user.locked_at is not None,
        totp_enrolled=user.totp_enabled_at is not None,
        last_login_at=as_utc(user.last_login_at) if user.last_login_at else None,
        created_at=as_utc(user.created_at),
        updated_at=as_utc(user.updated_at),
        version=user.version,
    )


def check_password(context: AuthContext, password: str, *, user_inputs: list[str]) -> None:
    problems = password_problems(
        password, min_score=context.settings.min_password_score, user_inputs=user_inputs
    )
    if problems:
        raise WeakPassword(
            " ".join(problems),
            errors=[
                {"field": "password", "location": "body", "message": p, "code": "weak_password"}
                for p in problems
            ],
        )


def _check_station(roles: list[str], station_id: str | None) -> None:
    if is_staff(roles) and not station_id:
        raise BadRequest(
            "Staff accounts belong to a station: station_id is required.",
            errors=[
                {
                    "field": "station_id",
                    "location": "body",
                    "message": "required for staff",
                    "code": "missing",
                }
            ],
        )
    if roles == [ROLE_CITIZEN] and station_id:
        raise BadRequest("Citizen accounts have no station.")


def create_user(
    session: Session,
    context: AuthContext,
    *,
    username: str,
    password_hash: str,
    roles: list[str],
    station_id: str | None,
    display_name: str,
    email: str | None,
    now: datetime,
) -> User:
    """Insert a user; 409 when the username or e-mail exists."""
    _check_station(roles, station_id)
    name = normalize_username(username)
    email = email.lower() if email else None
    clash = session.scalar(
        select(User.id).where(or_(User.username == name, *([User.email == email] if email else [])))
    )
    if clash is not None:
        raise UsernameTaken("That username or e-mail is already in use.")
    user = User(
        username=name,
        email=email,
        display_name=display_name,
        password_hash=password_hash,
        roles=sorted(set(roles)),
        station_id=station_id if is_staff(roles) else None,
        created_at=now,
        updated_at=now,
        version=1,
        totp_last_step=0,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise UsernameTaken("That username or e-mail is already in use.") from exc
    return user


def list_users(
    session: Session, *, page: PageParams, role: str | None, station_id: str | None
) -> Page[UserPublic]:
    query = select(User).order_by(User.username)
    if page.cursor:
        (after,) = page.cursor[:1] or [None]
        if not isinstance(after, str):
            raise BadRequest("The cursor is not valid; start again without it.")
        query = query.where(User.username > after)
    if station_id:
        query = query.where(User.station_id == station_id)
    users = list(session.scalars(query.limit(page.limit + 1 if not role else None)))
    if role:
        users = [u for u in users if role in u.roles][: page.limit + 1]
    result = make_page(users, limit=page.limit, key=lambda u: [u.username])
    return Page(items=[to_public(u) for u in result.items], next_cursor=result.next_cursor)


def get_user(session: Session, user_id: str, *, for_update: bool = False) -> User:
    user = session.get(User, user_id, with_for_update=for_update)
    if user is None:
        raise NotFound("No user with this id.")
    return user


def check_version(user: User, if_match: str | None) -> None:
    from servicekit.errors import PreconditionRequired

    if if_match is None:
        raise PreconditionRequired("Send If-Match with the user's ETag (its version).")
    expected = if_match.strip().removeprefix("W/").strip('"')
    if expected != str(user.version):
        raise PreconditionFailed("The user has changed since you read it; reload and retry.")


def update_user(
    session: Session,
    *,
    user: User,
    changes: dict[str, object],
    actor: Principal,
    meta: RequestMeta,
    now: datetime,
) -> User:
    roles = list(changes.get("roles") or user.roles)  # type: ignore[call-overload]
    station = changes.get("station_id", user.station_id)
    _check_station(roles, station)  # type: ignore[arg-type]
    if user.id == actor.subject and "admin" in user.roles and "admin" not in roles:
        raise Conflict("You cannot remove your own admin role; ask another administrator.")
    before = {"roles": list(user.roles), "station_id": user.station_id}
    if "display_name" in changes and changes["display_name"] is not None:
        user.display_name = str(changes["display_name"])
    user.roles = sorted(set(roles))
    user.station_id = station if is_staff(roles) else None  # type: ignore[assignment]
    after = {"roles": list(user.roles), "station_id": user.station_id}
    user.updated_at = now
    user.version += 1
    if before != after:
        # Tokens already issued carry the old roles; end the sessions so new ones carry the new.
        revoke_user_sessions(session, user_id=user.id, now=now, reason="roles_changed")
        record(
            session,
            meta=meta,
            actor=actor.subject,
            actor_roles=actor.roles,
            action="user.roles_changed",
            target_type="user",
            target_id=user.id,
            details={"before": before, "after": after},
            now=now,
        )
    return user


def set_disabled(
    session: Session,
    *,
    user: User,
    disabled: bool,
    actor: Principal,
    meta: RequestMeta,
    now: datetime,
) -> User:
    if disabled and user.id == actor.subject:
        raise Conflict("You cannot disable your own account.")
    if (user.disabled_at is not None) == disabled:
        return user
    user.disabled_at = now if disabled else None
    user.updated_at = now
    user.version += 1
    if disabled:
        revoke_user_sessions(session, user_id=user.id, now=now, reason="disabled")
    record(
        session,
        meta=meta,
        actor=actor.subject,
        actor_roles=actor.roles,
        action="user.disabled" if disabled else "user.enabled",
        target_type="user",
        target_id=user.id,
        now=now,
    )
    return user


def unlock(
    session: Session, *, user: User, actor: Principal, meta: RequestMeta, now: datetime
) -> User:
    was_locked = user.locked_at is not None
    user.locked_at = None
    user.failures_reset_at = now  # earlier failures no longer count towards a new lock
    user.updated_at = now
    user.version += 1
    record(
        session,
        meta=meta,
        actor=actor.subject,
        actor_roles=actor.roles,
        action="account.unlocked",
        target_type="user",
        target_id=user.id,
        details={"was_locked": was_locked},
        now=now,
    )
    return user


def reset_totp(
    session: Session, *, user: User, actor: Principal, meta: RequestMeta, now: datetime
) -> User:
    """A lost authenticator: the next sign-in enrols a new one."""
    user.totp_secret_sealed = None
    user.totp_pending_sealed = None
    user.totp_enabled_at = None
    user.updated_at = now
    user.version += 1
    revoke_user_sessions(session, user_id=user.id, now=now, reason="totp_reset")
    record(
        session,
        meta=meta,
        actor=actor.subject,
        actor_roles=actor.roles,
        action="totp.reset",
        target_type="user",
        target_id=user.id,
        now=now,
    )
    return user
