"""The auth service's FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from auth_service.accounts import parse_service_accounts, sync_service_accounts
from auth_service.admin_router import router as admin_router
from auth_service.clock import Clock, SystemClock
from auth_service.config import Settings
from auth_service.context import AuthContext
from auth_service.crypto import secret_box_from
from auth_service.db import MIGRATIONS_PATH
from auth_service.keys import DatabaseKeysVerifier, Signer, ensure_signing_key, reseal_all
from auth_service.passwords import PasswordHasher
from auth_service.router import router
from servicekit.app import create_service_app
from servicekit.logging import get_logger
from servicekit.migrations import is_at_head
from servicekit.security import JWKSVerifier

log = get_logger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    verifier: JWKSVerifier | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Build the auth service (uvicorn factory: auth_service.main:create_app).

    Auth verifies its own access tokens with servicekit's verifier reading its key table;
    `verifier` replaces that (only for special deployments; tests use the real one).
    """
    settings = settings or Settings()
    clock = clock or SystemClock()
    # Fail at construction, not at the first request: no key-encryption key, no service.
    box = secret_box_from(settings)
    accounts = parse_service_accounts(settings.service_accounts.get_secret_value())
    hasher = PasswordHasher.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = app.state.database
        keys_verifier = DatabaseKeysVerifier(
            database=database,
            clock=clock,
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            cache_seconds=min(settings.jwks_cache_seconds, 30.0),
        )
        if verifier is None:
            await app.state.verifier.aclose()
            app.state.verifier = keys_verifier
        app.state.auth = AuthContext(
            settings=settings,
            database=database,
            clock=clock,
            box=box,
            hasher=hasher,
            signer=Signer(box),
            verifier=keys_verifier,
        )
        if is_at_head(database.engine, MIGRATIONS_PATH):
            with database.session() as session:
                now = clock.now()
                if box.has_older_keys:
                    resealed = reseal_all(session, box=box)
                    log.warning(
                        "auth.secrets_resealed",
                        count=resealed,
                        detail="drop the older AUTH_KEY_ENCRYPTION_KEY entries now",
                    )
                key = ensure_signing_key(session, box=box, now=now)
                # Opening the active key proves AUTH_KEY_ENCRYPTION_KEY is the right one.
                app.state.auth.signer.private_key(key)
                sync_service_accounts(session, accounts=accounts, hasher=hasher, now=now)
        else:
            log.error("auth.not_migrated", detail="run `stationhouse migrate`")
        yield

    return create_service_app(
        name="auth",
        settings=settings,
        routers=[router, admin_router],
        migrations_path=MIGRATIONS_PATH,
        verifier=verifier,
        lifespan=lifespan,
    )
