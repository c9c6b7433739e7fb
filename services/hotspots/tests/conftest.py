"""Fixtures: the hotspots app on a fresh, migrated database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hotspots_service.config import Settings
from hotspots_service.db import MIGRATIONS_PATH
from hotspots_service.main import create_app
from hotspots_service.models import Base
from servicekit.migrations import upgrade_to_head
from servicekit.testing import DatabaseFactory, TokenFactory, clear_tables


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    url = database_factory.create("hotspots")
    upgrade_to_head(MIGRATIONS_PATH, url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_json=True)


@pytest.fixture
def client(settings: Settings, token_factory: TokenFactory) -> Iterator[TestClient]:
    app = create_app(settings, verifier=token_factory.verifier())
    with TestClient(app) as test_client:
        yield test_client
    clear_tables(settings.database_url, Base.metadata)
