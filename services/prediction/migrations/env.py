"""Alembic environment of the prediction service."""

from prediction_service.models import Base
from servicekit.migrations import run_env

run_env(Base.metadata)
