"""Area indicators (population, income, ...) uploaded per area and joined into features."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from prediction_service.db import Base


class AreaIndicator(Base):
    __tablename__ = "area_indicators"

    area: Mapped[str] = mapped_column(String(200), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200))
