"""pytest plugin (loaded with `-p servicekit.testing`): fresh migrated databases, signed test
tokens, and real service processes for cross-service tests.

Set STATIONHOUSE_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
to run every service's tests on PostgreSQL: each service gets a throwaway database, dropped at
the end of the session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

from servicekit.db import normalize_url
from servicekit.security import ACCESS_TOKEN_TYPE, JWKSVerifier

POSTGRES_ENV = "STATIONHOUSE_TEST_POSTGRES_URL"
TEST_ISSUER = "stationhouse-auth"
TEST_AUDIENCE = "stationhouse"


def postgres_server_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    return normalize_url(url) if url else None


class DatabaseFactory:
    """Hands out empty databases: SQLite files, or throwaway PostgreSQL databases."""

    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self.server_url = postgres_server_url()
        self.created: list[str] = []

    def create(self, name: str) -> str:
        if self.server_url is None:
            return f"sqlite:///{self.tmp_dir / f'{name}-{uuid.uuid4().hex[:8]}.db'}"
        db_name = f"sh_test_{name}_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        admin.dispose()
        self.created.append(db_name)
        return make_url(self.server_url).set(database=db_name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self.server_url is None:
            return
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for db_name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


def clear_tables(url: str, metadata: MetaData) -> None:
    """Empty every table of `metadata` (children first); the schema and alembic_version stay."""
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            if names:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()


@dataclass
class TokenFactory:
    """Signs access tokens exactly as the auth service does, with a test key."""

    issuer: str = TEST_ISSUER
    audience: str = TEST_AUDIENCE
    kid: str = "test-key-1"
    private_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": "EdDSA", "use": "sig"})
        return {"keys": [jwk]}

    def verifier(self) -> JWKSVerifier:
        return JWKSVerifier.from_jwks(self.jwks(), issuer=self.issuer, audience=self.audience)

    def token(
        self,
        *,
        subject: str | None = None,
        roles: list[str] | tuple[str, ...] = ("officer",),
        station_id: str | None = "ST-1",
        ttl_seconds: int = 900,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject or f"user-{uuid.uuid4().hex[:8]}",
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
            "station_id": station_id,
            **extra,
        }
        return jwt.encode(
            claims,
            self.private_key,
            algorithm="EdDSA",
            headers={"kid": self.kid, "typ": ACCESS_TOKEN_TYPE},
        )

    def headers(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}


@pytest.fixture(scope="session")
def token_factory() -> TokenFactory:
    return TokenFactory()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """A real service process (python -m servicekit.serve ...) for cross-service tests."""

    app: str
    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float = 30.0) -> ServiceProcess:
        env = {**os.environ, **self.env}
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "servicekit.serve", self.app, "--port", str(self.port)],
            env=env,
            stdout=out,
            stderr=out,
        )
        if wait_ready:
            self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float = 30.0, path: str = "/readyz") -> None:
        deadline = time.monotonic() + timeout
        last: str = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.app} exited with {self.process.returncode}: {self.logs()}"
                )
            try:
                response = httpx.get(self.url + path, timeout=1.0)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"{self.app} not ready after {timeout}s: {last} {self.logs()}")

    def logs(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""

    def stop(self, *, kill: bool = False, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def service_process(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start real service processes; all are stopped at the end of the test."""
    started: list[ServiceProcess] = []

    def start(app: str, env: Mapping[str, str], **kwargs: Any) -> ServiceProcess:
        name = app.split(".")[0]
        proc = ServiceProcess(
            app=app, env=env, log_path=tmp_path / f"{name}-{len(started)}.log", **kwargs
        )
        started.append(proc)
        return proc.start()

    yield start
    for proc in reversed(started):
        proc.stop()
