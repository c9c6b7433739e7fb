"""Idempotency-Key on creates: a repeat with the same key and body replays the first answer.

The key row is inserted before the work, in the same transaction, so a concurrent repeat waits
on the unique index and then replays. Passwords are left out of the fingerprint: a fast hash
of a request body must never become a fast hash of a password.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth_service.models import IdempotencyRecord
from servicekit.errors import BadRequest, Conflict

MAX_KEY_LENGTH = 200
SECRET_FIELDS = frozenset({"password"})


def fingerprint(route: str, payload: dict[str, Any]) -> str:
    public = {k: v for k, v in payload.items() if k not in SECRET_FIELDS}
    canonical = json.dumps(public, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


class IdempotentCreate:
    """`replay = claim()`; when not None return it, else do the work and `store()` the answer."""

    def __init__(
        self,
        session: Session,
        *,
        key: str | None,
        subject: str,
        route: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> None:
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
        self.session = session
        self.key = key
        self.subject = subject
        self.hash = fingerprint(route, payload)
        self.now = now
        self.record: IdempotencyRecord | None = None

    def _replay(self, record: IdempotencyRecord) -> JSONResponse:
        if record.request_hash != self.hash:
            raise Conflict("This Idempotency-Key was used with a different request.")
        if record.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still in progress.")
        headers = json.loads(record.response_headers or "{}")
        return JSONResponse(
            json.loads(record.response_body or "null"),
            status_code=record.status_code,
            headers=headers,
        )

    def _find(self) -> IdempotencyRecord | None:
        return self.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.subject == self.subject, IdempotencyRecord.key == self.key
            )
        )

    def claim(self) -> JSONResponse | None:
        if self.key is None:
            return None
        existing = self._find()
        if existing is not None:
            return self._replay(existing)
        record = IdempotencyRecord(
            subject=self.subject, key=self.key, request_hash=self.hash, created_at=self.now
        )
        try:
            with self.session.begin_nested():
                self.session.add(record)
                self.session.flush()
        except IntegrityError:
            existing = self._find()
            if existing is None:
                raise
            return self._replay(existing)
        self.record = record
        return None

    def store(self, *, status_code: int, body: Any, headers: dict[str, str]) -> None:
        if self.record is None:
            return
        self.record.status_code = status_code
        self.record.response_body = json.dumps(body, default=str)
        self.record.response_headers = json.dumps(headers)
