"""The auth service's audit trail on servicekit's hash chain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from auth_service.context import RequestMeta
from auth_service.models import AuditEntry
from servicekit.audit import append_audit


def record(
    session: Session,
    *,
    meta: RequestMeta | None,
    actor: str,
    action: str,
    now: datetime,
    actor_roles: Iterable[str] = (),
    target_type: str | None = None,
    target_id: str | None = None,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry inside the caller's transaction."""
    append_audit(
        session,
        AuditEntry,
        actor=actor[:200],
        actor_roles=actor_roles,
        action=action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        source_ip=meta.source_ip if meta else None,
        request_id=meta.request_id if meta else None,
        details=details,
        occurred_at=now,
    )
