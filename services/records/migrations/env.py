"""Alembic environment of the records service."""

from records_service.models import Base
from servicekit.migrations import run_env

run_env(Base.metadata)
