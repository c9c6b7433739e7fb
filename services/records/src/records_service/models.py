"""Import every table module here so Alembic and tests see the whole schema."""

from __future__ import annotations

from records_service.db import Base

__all__ = ["Base"]
