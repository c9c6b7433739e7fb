"""Alembic environment of the records service."""

from servicekit.migrations import run_env
from records_service.models import Base

run_env(Base.metadata)
