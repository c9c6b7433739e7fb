"""Idempotency-Key on records' creates: the shared servicekit logic over records' own table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, Session, mapped_column

from records_service.db import Base, UTCDateTime, utcnow
from servicekit.idempotency import IdempotencyRecordMixin, IdempotentCreate, fingerprint


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def idempotent_create(
    session: Session, request: Request, *, subject: str, payload: Any
) -> IdempotentCreate[IdempotencyRecord]:
    """The create's key (from the Idempotency-Key header) and fingerprint (method, path, body)."""
    return IdempotentCreate(
        session,
        IdempotencyRecord,
        key=request.headers.get("idempotency-key"),
        subject=subject,
        fingerprint=fingerprint(f"{request.method} {request.url.path}", payload),
    )
