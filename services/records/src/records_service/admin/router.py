"""Admin endpoints of the records service: the audit chain."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from records_service import access
from records_service.audit import ActorDep, AuditEntry
from records_service.validation import Text
from servicekit.audit import verify_audit_chain
from servicekit.db import SessionDep
from servicekit.pagination import PageDep, encode_cursor

router = APIRouter(prefix="/api/v1/records/audit", tags=["audit"])


class ChainReport(BaseModel):
    ok: bool
    checked: int
    first_broken_id: int | None
    reason: str | None


class AuditEntryPublic(BaseModel):
    id: int
    occurred_at: str
    actor: str
    actor_roles: list[str]
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str
    source_ip: str | None
    request_id: str | None
    details: Any


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_cursor: str | None = None


@router.get("/verify", response_model=ChainReport, summary="Verify the audit chain (admin)")
def verify_chain(session: SessionDep, actor: ActorDep) -> ChainReport:
    """Recompute every hash; names the first entry that was changed, inserted or removed."""
    access.require_admin(actor.principal)
    result = verify_audit_chain(session, AuditEntry)
    return ChainReport(
        ok=result.ok,
        checked=result.checked,
        first_broken_id=result.first_broken_id,
        reason=result.reason,
    )


@router.get("", response_model=AuditPage, summary="Read the audit log (admin)")
def list_entries(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    target_id: Annotated[Text | None, Query(max_length=100)] = None,
    action: Annotated[Text | None, Query(max_length=100)] = None,
) -> AuditPage:
    """Newest first."""
    access.require_admin(actor.principal)
    statement = select(AuditEntry)
    if target_id is not None:
        statement = statement.where(AuditEntry.target_id == target_id)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if page.cursor is not None:
        statement = statement.where(AuditEntry.id < int(page.cursor[0]))
    rows = list(
        session.execute(statement.order_by(AuditEntry.id.desc()).limit(page.limit + 1)).scalars()
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].id])
    items = [
        AuditEntryPublic(
            id=row.id,
            occurred_at=row.occurred_at.isoformat(),
            actor=row.actor,
            actor_roles=[r for r in row.actor_roles.split(",") if r],
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            outcome=row.outcome,
            source_ip=row.source_ip,
            request_id=row.request_id,
            details=json.loads(row.details) if row.details else None,
        )
        for row in rows
    ]
    return AuditPage(items=items, next_cursor=next_cursor)
