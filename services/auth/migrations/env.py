"""Alembic environment of the auth service."""

from servicekit.migrations import run_env
from auth_service.models import Base

run_env(Base.metadata)
