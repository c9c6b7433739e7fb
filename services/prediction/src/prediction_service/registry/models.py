"""Model registry: every trained version with its artifact, and which version each kind serves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from prediction_service.db import Base


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_model_versions_kind_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    version: Mapped[int] = mapped_column(Integer)
    algorithm: Mapped[str] = mapped_column(String(50))
    class_balanced: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_card: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    data_window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    n_rows: Mapped[int] = mapped_column(Integer)
    # Artifacts live in the database so every replica serves the same bytes.
    artifact: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    artifact_hmac: Mapped[str | None] = mapped_column(String(64))
    artifact_size: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class ServedModel(Base):
    """The version a kind serves; a row exists only after a promotion."""

    __tablename__ = "served_models"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"))
    previous_model_version_id: Mapped[str | None] = mapped_column(ForeignKey("model_versions.id"))
    promoted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    promoted_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)


class PromotionEvent(Base):
    """History of promotions and rollbacks, newest last."""

    __tablename__ = "promotion_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(30), index=True)
    model_version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"))
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
