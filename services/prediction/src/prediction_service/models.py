"""Import every table module here so Alembic and tests see the whole schema."""

from __future__ import annotations

from prediction_service.audit import AuditEntry
from prediction_service.db import Base
from prediction_service.indicators.models import AreaIndicator
from prediction_service.inference.models import PredictionLog
from prediction_service.jobs.models import TrainingJob
from prediction_service.registry.models import ModelVersion, PromotionEvent, ServedModel
from prediction_service.sync.models import Incident, SyncState

__all__ = [
    "AreaIndicator",
    "AuditEntry",
    "Base",
    "Incident",
    "ModelVersion",
    "PredictionLog",
    "PromotionEvent",
    "ServedModel",
    "SyncState",
    "TrainingJob",
]
