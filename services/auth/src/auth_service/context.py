"""Everything the auth routes share, built once in the lifespan and kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from auth_service.clock import Clock
from auth_service.config import Settings
from auth_service.crypto import SecretBox
from auth_service.keys import DatabaseKeysVerifier, Signer
from auth_service.passwords import PasswordHasher
from servicekit.db import Database


@dataclass
class AuthContext:
    settings: Settings
    database: Database
    clock: Clock
    box: SecretBox
    hasher: PasswordHasher
    signer: Signer
    verifier: DatabaseKeysVerifier


def get_auth_context(request: Request) -> AuthContext:
    context: AuthContext = request.app.state.auth
    return context


AuthContextDep = Annotated[AuthContext, Depends(get_auth_context)]


@dataclass(frozen=True)
class RequestMeta:
    """Who is asking from where, for the audit trail."""

    source_ip: str | None
    request_id: str | None


def get_request_meta(request: Request) -> RequestMeta:
    return RequestMeta(
        source_ip=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
    )


RequestMetaDep = Annotated[RequestMeta, Depends(get_request_meta)]
