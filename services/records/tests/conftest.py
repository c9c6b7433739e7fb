"""Fixtures: the records app on a fresh, migrated database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from records_service.config import Settings
from records_service.db import MIGRATIONS_PATH
from records_service.main import create_app
from records_service.models import Base
from servicekit.db import normalize_url
from servicekit.migrations import upgrade_to_head
from servicekit.testing import DatabaseFactory, TokenFactory


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    url = database_factory.create("records")
    upgrade_to_head(MIGRATIONS_PATH, url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        log_json=True,
        documents_dir=str(tmp_path / "documents"),
        max_document_bytes=256 * 1024,
    )


Auth = Callable[..., dict[str, str]]


@pytest.fixture
def auth(token_factory: TokenFactory) -> Auth:
    """auth("officer", station="ST-1", subject=...) → Authorization headers for that caller."""

    def headers(role: str, *, station: str | None = "ST-1", subject: str | None = None) -> dict:
        return token_factory.headers(
            roles=[role], station_id=station, subject=subject or f"{role}-{station}"
        )

    return headers


@pytest.fixture
def client(settings: Settings, token_factory: TokenFactory) -> Iterator[TestClient]:
    app = create_app(settings, verifier=token_factory.verifier())
    with TestClient(app) as test_client:
        yield test_client
    empty_tables(settings.database_url)


def empty_tables(url: str) -> None:
    """Delete every row, children first: on small tables far quicker than TRUNCATE (PostgreSQL)."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()
