"""Idempotency-Key on creates: the same key and body replay the first answer; another body is 409.

Keys are kept per caller in a table. The key row is inserted before the work is done, inside the
same transaction, so a concurrent repeat waits on the unique index and then replays.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from records_service.db import Base, UTCDateTime, utcnow
from servicekit.errors import BadRequest, Conflict

MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("subject", "key", name="uq_idempotency_keys_subject_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def request_fingerprint(request: Request, payload: Any) -> str:
    """Hash of what makes two creates 'the same': method, path and the canonical body."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.url.path}\n{canonical}".encode()).hexdigest()


class IdempotentCreate:
    """One create under an optional Idempotency-Key.

    Usage: `replay = claim()`; if replay is not None, return it; else do the work and `store()`.
    """

    def __init__(self, session: Session, request: Request, *, subject: str, payload: Any) -> None:
        self.session = session
        self.key = request.headers.get("idempotency-key")
        if self.key is not None and not (0 < len(self.key) <= MAX_KEY_LENGTH):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
        self.subject = subject
        self.fingerprint = request_fingerprint(request, payload)
        self.record: IdempotencyRecord | None = None

    def claim(self) -> JSONResponse | None:
        """Reserve the key, or return the stored answer of an earlier identical request."""
        if self.key is None:
            return None
        existing = self._find()
        if existing is None:
            record = IdempotencyRecord(
                subject=self.subject, key=self.key, request_hash=self.fingerprint
            )
            try:
                with self.session.begin_nested():
                    self.session.add(record)
                    self.session.flush()
            except IntegrityError:
                # A concurrent request with the same key committed first.
                existing = self._find()
                if existing is None:  # pragma: no cover - it just made the conflict
                    raise
            else:
                self.record = record
                return None
        if existing.request_hash != self.fingerprint:
            raise Conflict("This Idempotency-Key was already used with a different request body.")
        if existing.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still being processed.")
        return JSONResponse(
            json.loads(existing.response_body or "null"),
            status_code=existing.status_code,
            headers={
                **json.loads(existing.response_headers or "{}"),
                "Idempotent-Replayed": "true",
            },
        )

    def store(self, *, status_code: int, body: Any, headers: dict[str, str]) -> None:
        """Remember the answer of the create for later repeats."""
        if self.record is None:
            return
        self.record.status_code = status_code
        self.record.response_body = json.dumps(body, default=str)
        self.record.response_headers = json.dumps(headers)
        self.session.flush()

    def _find(self) -> IdempotencyRecord | None:
        return self.session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.subject == self.subject, IdempotencyRecord.key == self.key
            )
        ).scalar_one_or_none()
