"""Fixtures of the import tests: a Database on the session's migrated test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from records_service.complaints import models as _complaint_models  # noqa: F401
from records_service.imports import models as _import_models  # noqa: F401
from records_service.models import Base
from servicekit.db import Database
from servicekit.testing import clear_tables


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()
    clear_tables(database_url, Base.metadata)
