"""Incident sync: run a pass now, see where the copy stands."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from prediction_service.audit import AuditEntry
from prediction_service.dependencies import Trainer, client_ip, request_id
from prediction_service.sync.models import SyncState
from prediction_service.sync.service import FEED_NAME, IncidentSync, incident_count
from prediction_service.timeutil import as_utc
from servicekit.audit import append_audit
from servicekit.db import SessionDep

router = APIRouter(prefix="/api/v1/prediction/sync", tags=["sync"])


class SyncStatus(BaseModel):
    configured: bool
    cursor: str | None
    incidents: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    upserted_total: int
    deleted_total: int


class SyncRun(BaseModel):
    upserted: int
    deleted: int
    pages: int
    cursor: str | None
    incidents: int


def _status(request: Request) -> SyncStatus:
    sync: IncidentSync = request.app.state.incident_sync
    with request.app.state.database.session(write=False) as session:
        state = session.get(SyncState, FEED_NAME)
        return SyncStatus(
            configured=sync.configured,
            cursor=state.cursor if state else None,
            incidents=incident_count(session),
            last_run_at=as_utc(state.last_run_at) if state else None,
            last_success_at=as_utc(state.last_success_at) if state else None,
            last_error=state.last_error if state else None,
            upserted_total=state.upserted_total if state else 0,
            deleted_total=state.deleted_total if state else 0,
        )


@router.get("", response_model=SyncStatus)
async def sync_status(request: Request, principal: Trainer) -> SyncStatus:
    """Where the local incident copy stands."""
    return await run_in_threadpool(_status, request)


@router.post("", response_model=SyncRun)
async def run_sync(request: Request, principal: Trainer, session: SessionDep) -> SyncRun:
    """Pull everything new from the records export feed now (resumes from the stored cursor)."""
    sync: IncidentSync = request.app.state.incident_sync
    result = await sync.run()
    status = await run_in_threadpool(_status, request)

    def _audit() -> None:
        append_audit(
            session,
            AuditEntry,
            actor=principal.subject,
            actor_roles=principal.roles,
            action="incidents.synced",
            target_type="sync",
            target_id=FEED_NAME,
            source_ip=client_ip(request),
            request_id=request_id(),
            details={"upserted": result.upserted, "deleted": result.deleted, "pages": result.pages},
        )

    await run_in_threadpool(_audit)
    return SyncRun(
        upserted=result.upserted,
        deleted=result.deleted,
        pages=result.pages,
        cursor=result.cursor,
        incidents=status.incidents,
    )
