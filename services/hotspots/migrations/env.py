"""Alembic environment of the hotspots service."""

from hotspots_service.models import Base
from servicekit.migrations import run_env

run_env(Base.metadata)
