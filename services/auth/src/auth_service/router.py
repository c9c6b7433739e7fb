"""Public auth routes: token endpoint, JWKS, registration, TOTP enrolment, logout, me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response, status
from fastapi.responses import JSONResponse

from auth_service import service, users
from auth_service.audit import record
from auth_service.context import AuthContextDep, RequestMetaDep
from auth_service.exceptions import UnsupportedGrantType
from auth_service.keys import jwks_document
from auth_service.models import User
from auth_service.schemas import (
    PLAIN_TEXT,
    CitizenRegister,
    EnrolmentConfirm,
    EnrolmentSecret,
    EnrolmentStart,
    Me,
    PasswordChange,
    RefreshTokenBody,
    RevokedSessions,
    TokenResponse,
    UserPublic,
)
from auth_service.tokens import IssuedTokens, recently_revoked_sessions
from servicekit.db import SessionDep
from servicekit.errors import BadRequest, Forbidden
from servicekit.security import ROLE_CITIZEN, CurrentPrincipal

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_response(tokens: IssuedTokens) -> JSONResponse:
    return JSONResponse(tokens.as_response(), headers=NO_STORE)


def _require(value: str | None, name: str, grant: str) -> str:
    if not value:
        raise BadRequest(
            f"grant_type={grant} needs the form field `{name}`.",
            errors=[{"field": name, "location": "body", "message": "required", "code": "missing"}],
            error="invalid_request",
        )
    return value


@router.post(
    "/token",
    response_model=TokenResponse,
    summary="OAuth2 token endpoint: password (+ totp), refresh_token, client_credentials",
    responses={401: {"description": "Sign-in failed"}, 403: {"description": "Enrol TOTP"}},
)
def token(
    context: AuthContextDep,
    meta: RequestMetaDep,
    grant_type: Annotated[str, Form(max_length=40)],
    username: Annotated[str | None, Form(max_length=254, pattern=PLAIN_TEXT)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    totp: Annotated[
        str | None,
        Form(max_length=10, description="6-digit code from the authenticator (staff, enrolled)"),
    ] = None,
    refresh_token: Annotated[str | None, Form(max_length=512)] = None,
    client_id: Annotated[str | None, Form(max_length=64, pattern=PLAIN_TEXT)] = None,
    client_secret: Annotated[str | None, Form(max_length=512)] = None,
    scope: Annotated[str | None, Form(max_length=500)] = None,
) -> JSONResponse:
    """Form-encoded, as OAuth2 clients and FastAPI's OAuth2PasswordBearer expect.

    A staff account without a second factor gets 403 `totp-enrolment-required` with an
    `enrolment_token`; an enrolled one must send its current code in the `totp` field.
    """
    if grant_type == "password":
        tokens = service.password_login(
            context,
            username=_require(username, "username", grant_type),
            password=_require(password, "password", grant_type),
            totp_code=totp,
            meta=meta,
        )
    elif grant_type == "refresh_token":
        tokens = service.refresh_login(
            context, refresh_token=_require(refresh_token, "refresh_token", grant_type), meta=meta
        )
    elif grant_type == "client_credentials":
        tokens = service.client_credentials_login(
            context,
            client_id=_require(client_id, "client_id", grant_type),
            client_secret=_require(client_secret, "client_secret", grant_type),
            meta=meta,
        )
    else:
        raise UnsupportedGrantType(
            "grant_type must be password, refresh_token or client_credentials."
        )
    return _token_response(tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End a session")
def logout(body: RefreshTokenBody, context: AuthContextDep, meta: RequestMetaDep) -> Response:
    """Revoke the session of this refresh token; answers 204 whether or not it was known."""
    service.logout(context, refresh_token=body.refresh_token, meta=meta)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/totp/enrolment",
    response_model=EnrolmentSecret,
    summary="Start TOTP enrolment with the ticket from a first sign-in",
)
def start_enrolment(body: EnrolmentStart, context: AuthContextDep) -> JSONResponse:
    enrolment = service.begin_enrolment(context, ticket=body.enrolment_token)
    return JSONResponse(
        EnrolmentSecret(
            secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri
        ).model_dump(),
        headers=NO_STORE,
    )


@router.post(
    "/totp/enrolment/confirm",
    response_model=TokenResponse,
    summary="Confirm TOTP enrolment with a code; completes the sign-in",
)
def confirm_enrolment(
    body: EnrolmentConfirm, context: AuthContextDep, meta: RequestMetaDep
) -> JSONResponse:
    tokens = service.confirm_enrolment(
        context, ticket=body.enrolment_token, code=body.code, meta=meta
    )
    return _token_response(tokens)


@router.get(
    "/.well-known/jwks.json",
    summary="Public signing keys (RFC 7517), including keys still verifying after rotation",
)
def jwks(session: SessionDep, context: AuthContextDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=60"
    return jwks_document(session, now=context.clock.now())


@router.get(
    "/.well-known/revoked-sessions.json",
    response_model=RevokedSessions,
    summary="Sessions ended within an access token's lifetime, whose tokens must be refused",
)
def revoked_sessions(
    session: SessionDep, context: AuthContextDep, response: Response
) -> RevokedSessions:
    """Every service's token verifier polls this every few seconds (it holds only opaque
    session ids, never who they belonged to)."""
    response.headers["Cache-Control"] = "no-store"
    ids = recently_revoked_sessions(session, context, now=context.clock.now())
    return RevokedSessions(sessions=ids)


@router.post(
    "/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Citizen self-registration (e-mail and password)",
)
def register(
    body: CitizenRegister, session: SessionDep, context: AuthContextDep, meta: RequestMetaDep
) -> UserPublic:
    email = str(body.email).lower()
    users.check_password(context, body.password, user_inputs=[email, body.display_name])
    password_hash = context.hasher.hash(body.password)
    now = context.clock.now()
    user = users.create_user(
        session,
        context,
        username=email,
        password_hash=password_hash,
        roles=[ROLE_CITIZEN],
        station_id=None,
        display_name=body.display_name,
        email=email,
        now=now,
    )
    record(
        session,
        meta=meta,
        actor=email,
        actor_roles=[ROLE_CITIZEN],
        action="user.registered",
        target_type="user",
        target_id=user.id,
        now=now,
    )
    return users.to_public(user)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change your own password (your other sessions end)",
)
def change_password(
    body: PasswordChange, principal: CurrentPrincipal, context: AuthContextDep, meta: RequestMetaDep
) -> Response:
    if principal.subject.startswith("svc:"):
        raise Forbidden("Service accounts have no password to change.")
    sid = principal.claims.get("sid")
    service.change_password(
        context,
        user_id=principal.subject,
        session_id=str(sid) if sid else None,
        current_password=body.current_password,
        new_password=body.new_password,
        meta=meta,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me, summary="Who the access token belongs to")
def me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    user = None
    if not principal.subject.startswith("svc:"):
        found = session.get(User, principal.subject)
        user = users.to_public(found) if found else None
    return Me(
        subject=principal.subject,
        roles=sorted(principal.roles),
        station_id=principal.station_id,
        user=user,
    )
