"""The records audit chain: every change and every read of a confidential record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from records_service.db import Base
from servicekit.audit import AuditEntryMixin, append_audit
from servicekit.db import Database
from servicekit.errors import ProblemError, problem_response
from servicekit.security import CurrentPrincipal, Principal


class AuditEntry(AuditEntryMixin, Base):
    __tablename__ = "audit_entries"


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where: what every audit entry records about the caller."""

    principal: Principal
    source_ip: str | None
    request_id: str | None

    @property
    def subject(self) -> str:
        return self.principal.subject

    def audit(
        self,
        session: Session,
        *,
        action: str,
        target_type: str,
        target_id: str | None,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry for this actor to the audit chain (in the request's transaction)."""
        append_audit(
            session,
            AuditEntry,
            actor=self.principal.subject,
            actor_roles=sorted(self.principal.roles),
            action=action,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            source_ip=self.source_ip,
            request_id=self.request_id,
            details=details,
        )


def get_actor(request: Request, principal: CurrentPrincipal) -> Actor:
    client = request.client.host if request.client else None
    return Actor(
        principal=principal,
        source_ip=client,
        request_id=getattr(request.state, "request_id", None),
    )


ActorDep = Annotated[Actor, Depends(get_actor)]


def denied(
    error: ProblemError,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    outcome: str = "denied",
) -> ProblemError:
    """Mark an error as a refused access to be written to the audit chain.

    The request's own transaction is rolled back on the error, so the entry is appended by the
    error handler afterwards, in a transaction of its own (see install_denial_audit).
    """
    error.audit_record = {  # type: ignore[attr-defined]
        "actor": actor.principal.subject,
        "actor_roles": sorted(actor.principal.roles),
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "outcome": outcome,
        "source_ip": actor.source_ip,
        "request_id": actor.request_id,
        "details": {"status": error.status},
    }
    return error


def install_denial_audit(app: FastAPI) -> None:
    """Render problems as servicekit does, appending refused accesses to the audit chain first."""

    def _append(database: Database, record: dict[str, Any]) -> None:
        with database.session() as session:
            append_audit(session, AuditEntry, **record)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        record = getattr(exc, "audit_record", None)
        if record is not None:
            await run_in_threadpool(_append, request.app.state.database, record)
        return problem_response(
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            type_slug=exc.type_slug,
            errors=exc.errors,
            headers=exc.headers,
            extensions=exc.extensions,
        )
