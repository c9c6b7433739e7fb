"""Request and response bodies of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from auth_service.clock import as_utc
from servicekit.pagination import Page
from servicekit.security import ROLE_CITIZEN, STAFF_ROLES

AssignableRole = Literal["admin", "supervisor", "officer", "analyst", "citizen"]
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{1,253}$"
# No control characters (PostgreSQL refuses NUL in text; nobody needs the others).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str | None = Field(
        default=None, description="Opaque, single-use; absent for client credentials"
    )
    refresh_expires_in: int | None = Field(
        default=None, description="Seconds until the session ends if not refreshed"
    )


class RefreshTokenBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class RevokedSessions(BaseModel):
    """Ended sessions (the `sid` claim of their access tokens), for every token verifier."""

    sessions: list[str]


class EnrolmentStart(BaseModel):
    enrolment_token: str = Field(min_length=1, max_length=512)


class EnrolmentSecret(BaseModel):
    secret: str = Field(description="Base32 secret, for typing into an authenticator")
    provisioning_uri: str = Field(description="otpauth:// URI, for a QR code")
    digits: int = 6
    period: int = 30


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class EnrolmentConfirm(BaseModel):
    enrolment_token: str = Field(min_length=1, max_length=512)
    code: str = Field(min_length=6, max_length=10)


def _check_roles(roles: list[str]) -> list[str]:
    unique = sorted(set(roles))
    if not unique:
        raise ValueError("at least one role is required")
    if ROLE_CITIZEN in unique and len(unique) > 1:
        raise ValueError("citizen cannot be combined with staff roles")
    return unique


class UserCreate(BaseModel):
    """An administrator creates a staff (or citizen) account."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str = Field(default="", max_length=200, pattern=PLAIN_TEXT)
    email: EmailStr | None = None
    roles: list[AssignableRole] = Field(min_length=1, max_length=5)
    station_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=PLAIN_TEXT)

    _roles = field_validator("roles")(classmethod(lambda cls, v: _check_roles(v)))


class CitizenRegister(BaseModel):
    """Self-registration of a citizen: the e-mail is the username."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    display_name: str = Field(default="", max_length=200, pattern=PLAIN_TEXT)


class UserUpdate(BaseModel):
    """Change roles, station or name (applied with exclude_unset)."""

    model_config = ConfigDict(extra="forbid")

    roles: list[AssignableRole] | None = Field(default=None, min_length=1, max_length=5)
    station_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=PLAIN_TEXT)
    display_name: str | None = Field(default=None, max_length=200, pattern=PLAIN_TEXT)

    _roles = field_validator("roles")(
        classmethod(lambda cls, v: None if v is None else _check_roles(v))
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    email: str | None
    display_name: str
    roles: list[str]
    station_id: str | None
    disabled: bool
    locked: bool
    totp_enrolled: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class Me(BaseModel):
    subject: str
    roles: list[str]
    station_id: str | None
    user: UserPublic | None = Field(default=None, description="Absent for service accounts")


UserPage = Page[UserPublic]


class SigningKeyPublic(BaseModel):
    kid: str
    algorithm: str
    status: Literal["active", "verifying", "retired"]
    created_at: datetime
    rotated_out_at: datetime | None
    retire_after: datetime | None
    retired_at: datetime | None


class AuditVerification(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: str
    actor_roles: str
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    source_ip: str | None
    request_id: str | None
    details: str | None

    _utc = field_validator("occurred_at")(classmethod(lambda cls, v: as_utc(v)))


STAFF_ROLE_NAMES = sorted(STAFF_ROLES)
