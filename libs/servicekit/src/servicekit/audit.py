"""Append-only, hash-chained audit log.

Each entry stores the SHA-256 of the entry before it and of its own canonical content, so
editing, inserting or deleting any row but the newest breaks the chain at that row. A service
declares its table with the mixin and appends through `append_audit`, which serialises writers
(PostgreSQL advisory lock; SQLite's write lock) so the chain never forks.

    class AuditEntry(AuditEntryMixin, Base):
        __tablename__ = "audit_entries"
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

GENESIS_HASH = "0" * 64
CONTENT_FIELDS = (
    "id",
    "occurred_at",
    "actor",
    "actor_roles",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "source_ip",
    "request_id",
    "details",
    "prev_hash",
)


class AuditEntryMixin:
    """Columns of an audit entry; ids are assigned in chain order, never by the database."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(100), index=True)
    target_type: Mapped[str | None] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(100), index=True)
    outcome: Mapped[str] = mapped_column(String(30))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


AuditModel = TypeVar("AuditModel", bound=AuditEntryMixin)


def _utc_text(value: datetime) -> str:
    # SQLite returns naive datetimes (stored as UTC); PostgreSQL returns aware ones.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_content(entry: AuditEntryMixin) -> bytes:
    """The bytes an entry's hash covers: its fields as sorted, compact JSON."""
    fields: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = getattr(entry, name)
        fields[name] = _utc_text(value) if isinstance(value, datetime) else value
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntryMixin) -> str:
    return hashlib.sha256(entry.prev_hash.encode() + canonical_content(entry)).hexdigest()


def _lock_chain(session: Session, table_name: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"audit-chain:{table_name}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _in_sqlite_read_transaction(session: Session) -> bool:
    connection = session.connection()
    return connection.dialect.name == "sqlite" and not connection.get_execution_options().get(
        "sqlite_immediate"
    )


def append_audit(
    session: Session,
    model: type[AuditModel],
    *,
    actor: str,
    actor_roles: Iterable[str] = (),
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = "success",
    source_ip: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditModel:
    """Append one entry to the chain inside the caller's transaction.

    Inside a SQLite read transaction (a GET request) the entry is written in its own short
    write transaction instead: upgrading a read snapshot to a writer fails at once when another
    writer committed meanwhile.
    """
    values = {
        "actor": actor,
        "actor_roles": ",".join(sorted(actor_roles)),
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "outcome": outcome,
        "source_ip": source_ip,
        "request_id": request_id,
        "details": None
        if details is None
        else json.dumps(details, sort_keys=True, separators=(",", ":"), default=str),
        "occurred_at": (occurred_at or datetime.now(UTC)).astimezone(UTC),
    }
    if _in_sqlite_read_transaction(session):
        engine = session.get_bind().engine.execution_options(sqlite_immediate=True)
        with Session(engine, expire_on_commit=False) as own:
            entry = _append(own, model, values)
            own.commit()
        return entry
    return _append(session, model, values)


def _append(session: Session, model: type[AuditModel], values: dict[str, Any]) -> AuditModel:
    table_name = model.__tablename__  # type: ignore[attr-defined]
    _lock_chain(session, table_name)
    last = session.execute(
        select(model.id, model.entry_hash).order_by(model.id.desc()).limit(1)
    ).first()
    entry = model(**values)
    entry.id = (last.id + 1) if last else 1
    entry.prev_hash = last.entry_hash if last else GENESIS_HASH
    # Hash what the database will give back: microsecond UTC, as stored.
    entry.occurred_at = entry.occurred_at.replace(tzinfo=UTC)
    entry.entry_hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str | None = None
    last_hash: str | None = None


def verify_audit_chain(
    session: Session, model: type[AuditModel], *, batch_size: int = 5000
) -> ChainVerification:
    """Recompute every hash in order; name the first row whose content or link is wrong."""
    expected_prev = GENESIS_HASH
    expected_id = 1
    checked = 0
    rows = session.execute(select(model).order_by(model.id).execution_options(yield_per=batch_size))
    for entry in rows.scalars():
        if entry.id != expected_id:
            return ChainVerification(
                False, checked, entry.id, f"expected entry {expected_id}, found {entry.id}"
            )
        if entry.prev_hash != expected_prev:
            return ChainVerification(
                False, checked, entry.id, "link to the previous entry does not match"
            )
        if entry_hash(entry) != entry.entry_hash:
            return ChainVerification(False, checked, entry.id, "content does not match its hash")
        expected_prev = entry.entry_hash
        expected_id += 1
        checked += 1
    return ChainVerification(True, checked, None, None, expected_prev)
