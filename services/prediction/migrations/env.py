"""Alembic environment of the prediction service."""

from servicekit.migrations import run_env
from prediction_service.models import Base

run_env(Base.metadata)
