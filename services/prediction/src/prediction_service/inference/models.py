"""Every served prediction is logged: who asked, which model answered, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from prediction_service.db import Base


class PredictionLog(Base):
    __tablename__ = "prediction_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    actor_roles: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(40))
    model_kind: Mapped[str] = mapped_column(String(30))
    model_version_id: Mapped[str] = mapped_column(String(36), index=True)
    model_version: Mapped[int] = mapped_column(Integer)
    n_rows: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of the request body as received (POST) or of the query string (GET): an auditor
    # holding the input can prove it is the one this answer was given for. Null before 0003.
    input_sha256: Mapped[str | None] = mapped_column(String(64))
