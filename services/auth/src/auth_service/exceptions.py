"""Errors of the auth service; token-endpoint errors also carry the OAuth2 `error` code."""

from __future__ import annotations

from typing import Any

from servicekit.errors import BadRequest, Conflict, Forbidden, Unauthorized, UnprocessableContent


class InvalidGrant(Unauthorized):
    """Wrong credentials, or a refresh token that is unknown, used, revoked or expired."""

    type_slug, title = "invalid-grant", "Sign-in failed"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("error", "invalid_grant")
        super().__init__(detail, **kwargs)


class InvalidClient(Unauthorized):
    type_slug, title = "invalid-client", "Client authentication failed"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("error", "invalid_client")
        super().__init__(detail, **kwargs)


class AccountLocked(Unauthorized):
    type_slug, title = "account-locked", "Account locked"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("error", "invalid_grant")
        super().__init__(detail, **kwargs)


class TotpRequired(Unauthorized):
    """Password right; the account has a second factor and no code was sent."""

    type_slug, title = "totp-required", "One-time code required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("error", "invalid_grant")
        super().__init__(detail, **kwargs)


class TotpEnrolmentRequired(Forbidden):
    """Password right; a staff account must enrol a second factor before it gets tokens."""

    type_slug, title = "totp-enrolment-required", "Second factor enrolment required"


class UnsupportedGrantType(BadRequest):
    type_slug, title = "unsupported-grant-type", "Unsupported grant type"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("error", "unsupported_grant_type")
        super().__init__(detail, **kwargs)


class WeakPassword(UnprocessableContent):
    type_slug, title = "weak-password", "Password refused"


class UsernameTaken(Conflict):
    type_slug, title = "username-taken", "Username or e-mail already in use"


class InvalidEnrolmentTicket(Unauthorized):
    type_slug, title = "invalid-enrolment-ticket", "Enrolment ticket invalid or expired"


class InvalidTotpCode(BadRequest):
    type_slug, title = "invalid-totp-code", "One-time code incorrect"
