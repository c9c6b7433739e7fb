"""Alembic environment of the hotspots service."""

from servicekit.migrations import run_env
from hotspots_service.models import Base

run_env(Base.metadata)
