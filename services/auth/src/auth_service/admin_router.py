"""Administrator routes: users, signing keys, audit chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from auth_service import users
from auth_service.audit import record
from auth_service.clock import as_utc
from auth_service.context import AuthContextDep, RequestMetaDep
from auth_service.keys import retire_expired_keys, rotate_signing_key
from auth_service.models import AuditEntry, IdempotencyRecord, SigningKey, User
from auth_service.schemas import (
    PLAIN_TEXT,
    AuditEntryPublic,
    AuditVerification,
    SigningKeyPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from servicekit.audit import verify_audit_chain
from servicekit.db import SessionDep
from servicekit.errors import BadRequest, Conflict, NotFound
from servicekit.idempotency import IdempotentCreate, fingerprint
from servicekit.pagination import Page, PageDep, make_page
from servicekit.security import ROLE_ADMIN, Principal, require_roles

AdminDep = Annotated[Principal, Depends(require_roles(ROLE_ADMIN))]
UserIdPath = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{1,36}$", description="User id")]
KidPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Key id")]

router = APIRouter(prefix="/api/v1/auth", tags=["auth admin"])


def _etag(user: UserPublic, response: Response) -> UserPublic:
    response.headers["ETag"] = f'"{user.version}"'
    return user


@router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff (or citizen) account (Idempotency-Key accepted)",
)
def create_user(
    body: UserCreate,
    admin: AdminDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    idempotent = IdempotentCreate(
        session,
        IdempotencyRecord,
        key=idempotency_key,
        subject=admin.subject,
        fingerprint=fingerprint(
            "POST /api/v1/auth/users", body.model_dump(mode="json"), secret_fields={"password"}
        ),
        created_at=context.clock.now(),
    )
    replay = idempotent.claim()
    if replay is not None:
        return replay
    users.check_password(
        context, body.password, user_inputs=[body.username, body.display_name, body.email or ""]
    )
    now = context.clock.now()
    user = users.create_user(
        session,
        context,
        username=body.username,
        password_hash=context.hasher.hash(body.password),
        roles=list(body.roles),
        station_id=body.station_id,
        display_name=body.display_name,
        email=str(body.email) if body.email else None,
        now=now,
    )
    record(
        session,
        meta=meta,
        actor=admin.subject,
        actor_roles=admin.roles,
        action="user.created",
        target_type="user",
        target_id=user.id,
        details={"roles": list(user.roles), "station_id": user.station_id},
        now=now,
    )
    public = users.to_public(user).model_dump(mode="json")
    headers = {"Location": f"/api/v1/auth/users/{user.id}", "ETag": f'"{user.version}"'}
    idempotent.store(status_code=201, body=public, headers=headers)
    return JSONResponse(public, status_code=201, headers=headers)


@router.get("/users", response_model=Page[UserPublic], summary="List users (cursor pages)")
def list_users(
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    role: Annotated[str | None, Query(max_length=20, pattern=PLAIN_TEXT)] = None,
    station_id: Annotated[str | None, Query(max_length=64, pattern=PLAIN_TEXT)] = None,
) -> Page[UserPublic]:
    return users.list_users(session, page=page, role=role, station_id=station_id)


@router.get("/users/{user_id}", response_model=UserPublic, summary="One user")
def get_user(
    user_id: UserIdPath, _admin: AdminDep, session: SessionDep, response: Response
) -> UserPublic:
    return _etag(users.to_public(users.get_user(session, user_id)), response)


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    summary="Change a user's roles, station or name (If-Match required)",
)
def update_user(
    user_id: UserIdPath,
    body: UserUpdate,
    admin: AdminDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> UserPublic:
    user = users.get_user(session, user_id, for_update=True)
    users.check_version(user, if_match)
    user = users.update_user(
        session,
        user=user,
        changes=body.model_dump(exclude_unset=True),
        actor=admin,
        meta=meta,
        now=context.clock.now(),
    )
    return _etag(users.to_public(user), response)


def _locked_user(session: SessionDep, user_id: UserIdPath) -> User:
    return users.get_user(session, user_id, for_update=True)


LockedUserDep = Annotated[User, Depends(_locked_user)]


@router.post(
    "/users/{user_id}/disable",
    response_model=UserPublic,
    summary="Disable an account and end its sessions",
)
def disable_user(
    admin: AdminDep,  # first: nobody learns whether a user exists before being authorised
    user: LockedUserDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
    response: Response,
) -> UserPublic:
    user = users.set_disabled(
        session, user=user, disabled=True, actor=admin, meta=meta, now=context.clock.now()
    )
    return _etag(users.to_public(user), response)


@router.post("/users/{user_id}/enable", response_model=UserPublic, summary="Enable an account")
def enable_user(
    admin: AdminDep,  # first: nobody learns whether a user exists before being authorised
    user: LockedUserDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
    response: Response,
) -> UserPublic:
    user = users.set_disabled(
        session, user=user, disabled=False, actor=admin, meta=meta, now=context.clock.now()
    )
    return _etag(users.to_public(user), response)


@router.post(
    "/users/{user_id}/unlock",
    response_model=UserPublic,
    summary="Unlock an account locked by failed sign-ins",
)
def unlock_user(
    admin: AdminDep,  # first: nobody learns whether a user exists before being authorised
    user: LockedUserDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
    response: Response,
) -> UserPublic:
    user = users.unlock(session, user=user, actor=admin, meta=meta, now=context.clock.now())
    return _etag(users.to_public(user), response)


@router.post(
    "/users/{user_id}/reset-totp",
    response_model=UserPublic,
    summary="Forget the second factor; the next sign-in enrols a new one",
)
def reset_user_totp(
    admin: AdminDep,  # first: nobody learns whether a user exists before being authorised
    user: LockedUserDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
    response: Response,
) -> UserPublic:
    user = users.reset_totp(session, user=user, actor=admin, meta=meta, now=context.clock.now())
    return _etag(users.to_public(user), response)


def _key_public(key: SigningKey) -> SigningKeyPublic:
    if key.retired_at is not None:
        key_status = "retired"
    elif key.rotated_out_at is not None:
        key_status = "verifying"
    else:
        key_status = "active"
    return SigningKeyPublic(
        kid=key.kid,
        algorithm=key.algorithm,
        status=key_status,
        created_at=as_utc(key.created_at),
        rotated_out_at=as_utc(key.rotated_out_at) if key.rotated_out_at else None,
        retire_after=as_utc(key.retire_after) if key.retire_after else None,
        retired_at=as_utc(key.retired_at) if key.retired_at else None,
    )


@router.get("/keys", response_model=list[SigningKeyPublic], summary="Signing keys and status")
def list_keys(
    _admin: AdminDep, session: SessionDep, context: AuthContextDep
) -> list[SigningKeyPublic]:
    now = context.clock.now()
    keys = session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())).all()
    result = []
    for key in keys:
        public = _key_public(key)
        if public.status == "verifying" and key.retire_after and as_utc(key.retire_after) <= now:
            public.status = "retired"
        result.append(public)
    return result


@router.post(
    "/keys/rotate",
    response_model=SigningKeyPublic,
    status_code=status.HTTP_201_CREATED,
    summary="New signing key; the old one verifies until its tokens have expired",
)
def rotate_keys(
    admin: AdminDep, session: SessionDep, context: AuthContextDep, meta: RequestMetaDep
) -> SigningKeyPublic:
    now = context.clock.now()
    retired = retire_expired_keys(session, now=now)
    keep = timedelta(
        seconds=context.settings.access_token_ttl_seconds
        + context.settings.key_retire_grace_seconds
    )
    new, old = rotate_signing_key(session, box=context.box, now=now, keep_verifying=keep)
    record(
        session,
        meta=meta,
        actor=admin.subject,
        actor_roles=admin.roles,
        action="keys.rotated",
        target_type="signing_key",
        target_id=new.kid,
        details={
            "rotated_out": [k.kid for k in old],
            "retire_after": (now + keep).isoformat(),
            "retired": retired,
        },
        now=now,
    )
    session.flush()
    context.verifier.forget()
    return _key_public(new)


@router.post(
    "/keys/{kid}/retire",
    response_model=SigningKeyPublic,
    summary="Retire a rotated-out key now (e.g. suspected compromise): its tokens stop working",
)
def retire_key(
    kid: KidPath,
    admin: AdminDep,
    session: SessionDep,
    context: AuthContextDep,
    meta: RequestMetaDep,
) -> SigningKeyPublic:
    key = session.get(SigningKey, kid, with_for_update=True)
    if key is None:
        raise NotFound("No signing key with this kid.")
    if key.rotated_out_at is None:
        raise Conflict("The active key cannot be retired; rotate first.")
    now = context.clock.now()
    if key.retired_at is None:
        key.retired_at = now
        record(
            session,
            meta=meta,
            actor=admin.subject,
            actor_roles=admin.roles,
            action="keys.retired",
            target_type="signing_key",
            target_id=kid,
            now=now,
        )
    session.flush()
    context.verifier.forget()
    return _key_public(key)


@router.get(
    "/audit/verify",
    response_model=AuditVerification,
    summary="Recompute the audit hash chain; names the first broken entry",
)
def verify_audit(_admin: AdminDep, session: SessionDep) -> AuditVerification:
    result = verify_audit_chain(session, AuditEntry)
    return AuditVerification(
        ok=result.ok,
        checked=result.checked,
        first_broken_id=result.first_broken_id,
        reason=result.reason,
    )


@router.get("/audit", response_model=Page[AuditEntryPublic], summary="Audit entries, newest first")
def list_audit(
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    action: Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)] = None,
    target_id: Annotated[str | None, Query(max_length=100, pattern=PLAIN_TEXT)] = None,
) -> Page[AuditEntryPublic]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if page.cursor:
        after = page.cursor[0] if page.cursor else None
        if not isinstance(after, int):
            raise BadRequest("The cursor is not valid; start again without it.")
        query = query.where(AuditEntry.id < after)
    if action:
        query = query.where(AuditEntry.action == action)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    rows = list(session.scalars(query.limit(page.limit + 1)))
    result = make_page(rows, limit=page.limit, key=lambda e: [e.id])
    return Page(
        items=[AuditEntryPublic.model_validate(e) for e in result.items],
        next_cursor=result.next_cursor,
    )
