"""Fixtures: the prediction app on a fresh, migrated database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from prediction_service.config import Settings
from prediction_service.db import MIGRATIONS_PATH
from prediction_service.main import create_app
from prediction_service.ml.threads import limit_native_threads
from prediction_service.models import Base
from servicekit.migrations import upgrade_to_head
from servicekit.testing import DatabaseFactory, TokenFactory, clear_tables

# The helpers module beside this file (tests import it as a plain module).
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def _one_native_thread() -> None:
    # As the service does in its worker threads: OpenMP spinning on a busy machine is slow.
    limit_native_threads(1)


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    url = database_factory.create("prediction")
    upgrade_to_head(MIGRATIONS_PATH, url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=True,
        sync_interval_seconds=0,
        job_poll_seconds=0,
        artifact_key="test-artifact-signing-key",
    )


@pytest.fixture
def client(settings: Settings, token_factory: TokenFactory) -> Iterator[TestClient]:
    app = create_app(settings, verifier=token_factory.verifier())
    with TestClient(app) as test_client:
        yield test_client
        app.state.job_runner.wait(timeout=60)
    clear_tables(settings.database_url, Base.metadata)


@pytest.fixture
def analyst(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.headers(roles=["analyst"], subject="analyst-1")


@pytest.fixture
def officer(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.headers(roles=["officer"], subject="officer-1")


@pytest.fixture
def admin(token_factory: TokenFactory) -> dict[str, str]:
    return token_factory.headers(roles=["admin"], subject="admin-1")
