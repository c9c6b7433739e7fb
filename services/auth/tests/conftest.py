"""Fixtures: the auth app on a fresh, migrated database (SQLite, or PostgreSQL in CI).

Argon2 runs with tiny parameters here (settings only; production defaults are untouched) and
time comes from a clock the tests move forward instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from auth_service.accounts import create_first_admin
from auth_service.config import Settings
from auth_service.db import MIGRATIONS_PATH
from auth_service.main import create_app
from auth_service.models import Base, User
from servicekit.migrations import upgrade_to_head
from servicekit.testing import DatabaseFactory, clear_tables

STRONG_PASSWORD = "violet tractor hums under nine moons"
SERVICE_SECRET = "prediction-secret-0123456789abcdef"


@dataclass
class MovableClock:
    """Real time plus an offset the test controls."""

    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    url = database_factory.create("auth")
    upgrade_to_head(MIGRATIONS_PATH, url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=True,
        key_encryption_key=Fernet.generate_key().decode(),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        service_accounts=f"prediction:{SERVICE_SECRET}",
    )


@pytest.fixture
def service_secret() -> str:
    return SERVICE_SECRET


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def app(settings: Settings, clock: MovableClock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: FastAPI, settings: Settings) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
    clear_tables(settings.database_url, Base.metadata)


class AuthHelper:
    """Small factories and flows on the real app (users are made directly in its database)."""

    def __init__(self, client: TestClient, clock: MovableClock) -> None:
        self.client = client
        self.clock = clock
        self.context = client.app.state.auth  # type: ignore[attr-defined]
        self.totp_secrets: dict[str, str] = {}
        self._last_step: dict[str, int] = {}

    def make_user(
        self,
        username: str,
        *,
        roles: tuple[str, ...] = ("officer",),
        station_id: str | None = "ST-1",
        password: str = STRONG_PASSWORD,
        enrol_totp: bool = True,
    ) -> User:
        now = self.clock.now()
        secret = pyotp.random_base32() if enrol_totp else None
        with self.context.database.session() as session:
            user = User(
                username=username,
                email=None,
                display_name=username.title(),
                password_hash=self.context.hasher.hash(password),
                roles=sorted(roles),
                station_id=station_id,
                created_at=now,
                updated_at=now,
                version=1,
                totp_last_step=0,
                totp_secret_sealed=self.context.box.seal(secret.encode()) if secret else None,
                totp_enabled_at=now if secret else None,
            )
            session.add(user)
            session.flush()
        if secret:
            self.totp_secrets[username] = secret
        return user

    def code(self, username: str) -> str:
        """A code not used before: the current step, else the next one the server allows.

        Never the previous step: the server may already be one step further when it checks.
        """
        secret = self.totp_secrets[username]
        current = int(self.clock.now().timestamp()) // 30
        step = max(current, self._last_step.get(username, 0) + 1)
        if step > current + 1:
            self.clock.advance(seconds=30)
            return self.code(username)
        self._last_step[username] = step
        return pyotp.TOTP(secret).generate_otp(step)

    def login(self, username: str, password: str = STRONG_PASSWORD, **form: str) -> Any:
        data = {"grant_type": "password", "username": username, "password": password, **form}
        return self.client.post("/api/v1/auth/token", data=data)

    def login_ok(self, username: str, password: str = STRONG_PASSWORD) -> dict[str, Any]:
        form = {"totp": self.code(username)} if username in self.totp_secrets else {}
        response = self.login(username, password, **form)
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post(
            "/api/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def bearer(self, tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    def admin_headers(self, username: str = "chief") -> dict[str, str]:
        if username not in self.totp_secrets:
            self.make_user(username, roles=("admin",), station_id="HQ")
        return self.bearer(self.login_ok(username))

    def user_row(self, username: str) -> User:
        with self.context.database.session(write=False) as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None
            return user


@pytest.fixture
def auth(client: TestClient, clock: MovableClock) -> AuthHelper:
    return AuthHelper(client, clock)


__all__ = ["STRONG_PASSWORD", "AuthHelper", "MovableClock", "create_first_admin"]
