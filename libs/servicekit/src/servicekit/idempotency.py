"""Idempotency-Key on creates: the same key and body replay the first answer; another body is 409.

Keys are kept per caller in each service's own `idempotency_keys` table (a model built from
`IdempotencyRecordMixin`). The key row is inserted before the work is done, inside the same
transaction, so a concurrent repeat waits on the unique index and then replays; if the work
fails, the key row rolls back with it and the key can be used again.

Usage in a route:

    idempotent = IdempotentCreate(session, IdempotencyRecord, key=..., subject=..., fingerprint=...)
    replay = idempotent.claim()
    if replay is not None:
        return replay
    ...  # do the work
    idempotent.store(status_code=201, body=body, headers=headers)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from fastapi.responses import JSONResponse
from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from servicekit.errors import BadRequest, Conflict

MAX_KEY_LENGTH = 200
REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyRecordMixin:
    """Columns of a stored first answer; the service adds its own `id` and `created_at`."""

    subject: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[str | None] = mapped_column(Text)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("subject", "key", name="uq_idempotency_keys_subject_key"),)


Record = TypeVar("Record", bound=IdempotencyRecordMixin)


def fingerprint(route: str, payload: Any, *, secret_fields: Iterable[str] = ()) -> str:
    """Hash of what makes two creates 'the same': the route and the canonical body.

    `secret_fields` are left out (top level of a dict body): a fast hash of a request body must
    never become a fast hash of a password.
    """
    secrets = frozenset(secret_fields)
    if secrets and isinstance(payload, dict):
        payload = {k: v for k, v in payload.items() if k not in secrets}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


class IdempotentCreate(Generic[Record]):
    """One create under an optional Idempotency-Key (`key=None` makes it a plain create)."""

    def __init__(
        self,
        session: Session,
        model: type[Record],
        *,
        key: str | None,
        subject: str,
        fingerprint: str,
        **columns: Any,
    ) -> None:
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
        self.session = session
        self.model = model
        self.key = key
        self.subject = subject
        self.fingerprint = fingerprint
        self.columns = columns
        self.record: Record | None = None

    def claim(self) -> JSONResponse | None:
        """Reserve the key, or return the stored answer of an earlier identical request."""
        if self.key is None:
            return None
        existing = self._find()
        if existing is None:
            record = self.model()
            record.subject = self.subject
            record.key = self.key
            record.request_hash = self.fingerprint
            for name, value in self.columns.items():
                setattr(record, name, value)
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
        return self._replay(existing)

    def store(self, *, status_code: int, body: Any, headers: dict[str, str]) -> None:
        """Remember the answer of the create for later repeats."""
        if self.record is None:
            return
        self.record.status_code = status_code
        self.record.response_body = json.dumps(body, default=str)
        self.record.response_headers = json.dumps(headers)
        self.session.flush()

    def _replay(self, existing: Record) -> JSONResponse:
        if existing.request_hash != self.fingerprint:
            raise Conflict("This Idempotency-Key was already used with a different request body.")
        if existing.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still being processed.")
        return JSONResponse(
            json.loads(existing.response_body or "null"),
            status_code=existing.status_code,
            headers={**json.loads(existing.response_headers or "{}"), REPLAY_HEADER: "true"},
        )

    def _find(self) -> Record | None:
        return self.session.execute(
            select(self.model).where(self.model.subject == self.subject, self.model.key == self.key)
        ).scalar_one_or_none()
