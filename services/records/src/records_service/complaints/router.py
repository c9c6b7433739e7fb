"""Complaint endpoints: /api/v1/records/complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from records_service.audit import Actor, ActorDep
from records_service.complaints import service
from records_service.complaints.models import Complaint, ComplaintAttachment, ComplaintStatus
from records_service.complaints.schemas import (
    ComplaintClose,
    ComplaintCreate,
    ComplaintPage,
    ComplaintTriage,
)
from records_service.concurrency import require_if_match
from records_service.db import new_id, utcnow
from records_service.documents.filetypes import detect
from records_service.documents.router import content_disposition
from records_service.documents.storage import DocumentStore, iter_file
from records_service.documents.upload import ReceivedFile, receive_file
from records_service.idempotency import idempotent_create
from records_service.responses import versioned
from records_service.validation import Text
from servicekit.db import Database, SessionDep
from servicekit.errors import BadRequest, Conflict, NotFound
from servicekit.pagination import PageDep, encode_cursor

router = APIRouter(prefix="/api/v1/records/complaints", tags=["complaints"])

KIND = "complaint"
MAX_ATTACHMENTS = 10


def _answer(
    session: SessionDep, complaint: Complaint, actor: Actor, *, status_code: int = 200
) -> JSONResponse:
    body = service.complaint_view(
        complaint, service.attachments_of(session, complaint.id), actor.principal
    )
    return versioned(
        body,
        kind=KIND,
        object_id=complaint.id,
        version=complaint.version,
        status_code=status_code,
        location=f"/api/v1/records/complaints/{complaint.id}" if status_code == 201 else None,
    )


@router.post("", status_code=201, summary="File a complaint (citizens)")
def file_complaint(
    payload: ComplaintCreate, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    service.require_citizen(actor.principal)
    idempotent = idempotent_create(
        session, request, subject=actor.subject, payload=payload.model_dump(mode="json")
    )
    replay = idempotent.claim()
    if replay is not None:
        return replay
    complaint = service.file_complaint(session, actor=actor, payload=payload)
    answer = _answer(session, complaint, actor, status_code=201)
    idempotent.store(
        status_code=201,
        body=service.complaint_view(complaint, [], actor.principal),
        headers={"ETag": answer.headers["ETag"], "Location": answer.headers["Location"]},
    )
    return answer


@router.get("", response_model=ComplaintPage, summary="My complaints (citizens) or all (staff)")
def list_complaints(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    status: Annotated[ComplaintStatus | None, Query()] = None,
) -> dict[str, Any]:
    statement = service.complaint_query(
        principal=actor.principal, status=status.value if status else None
    )
    if page.cursor:
        try:
            created, complaint_id = str(page.cursor[0]), str(page.cursor[1])
            moment = datetime.fromisoformat(created)
        except (IndexError, ValueError):
            raise BadRequest("The cursor is not valid; start again without it.") from None
        statement = statement.where(
            (Complaint.created_at < moment)
            | ((Complaint.created_at == moment) & (Complaint.id < complaint_id))
        )
    rows = list(
        session.execute(
            statement.order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(
                page.limit + 1
            )
        ).scalars()
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id])
    return {
        "items": [
            service.complaint_view(c, service.attachments_of(session, c.id), actor.principal)
            for c in rows
        ],
        "next_cursor": next_cursor,
    }


@router.get("/{complaint_id}", summary="One complaint: its status and closing reason")
def read_complaint(complaint_id: Text, session: SessionDep, actor: ActorDep) -> JSONResponse:
    complaint = service.visible_complaint(session, actor=actor, complaint_id=complaint_id)
    return _answer(session, complaint, actor)


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.document_store
    return store


@router.post("/{complaint_id}/attachments", status_code=201, summary="Attach a file (citizen)")
async def attach(complaint_id: Text, request: Request, actor: ActorDep) -> JSONResponse:
    """Photos or documents for one's own open complaint; type checked from the content."""
    database: Database = request.app.state.database
    store = _store(request)
    limit: int = request.app.state.settings.max_document_bytes

    def may_attach() -> None:
        with database.session(write=False) as session:
            service.require_citizen(actor.principal)
            complaint = service.visible_complaint(
                session, actor=actor, complaint_id=complaint_id, audit_read=False
            )
            if complaint.status != ComplaintStatus.SUBMITTED.value:
                raise Conflict("Files can be added only while the complaint is open.")

    await run_in_threadpool(may_attach)
    received = await receive_file(request, scratch=store.scratch_dir(), limit=limit)

    def finish(received: ReceivedFile) -> JSONResponse:
        with database.session() as session:
            complaint = service.visible_complaint(
                session, actor=actor, complaint_id=complaint_id, audit_read=False
            )
            if len(service.attachments_of(session, complaint.id)) >= MAX_ATTACHMENTS:
                raise Conflict(f"A complaint holds at most {MAX_ATTACHMENTS} files.")
            detected = detect(
                received.path, claimed_type=received.claimed_type, filename=received.filename
            )
            store.put(sha256=received.sha256, source=received.path)
            attachment = ComplaintAttachment(
                id=new_id(),
                complaint_id=complaint.id,
                filename=received.filename,
                media_type=detected.media_type,
                size=received.size,
                sha256=received.sha256,
                created_at=utcnow(),
            )
            session.add(attachment)
            session.flush()
            actor.audit(
                session,
                action="complaint.attach",
                target_type=KIND,
                target_id=complaint.id,
                details={"sha256": received.sha256, "size": received.size},
            )
            return _answer(session, complaint, actor, status_code=201)

    try:
        return await run_in_threadpool(finish, received)
    finally:
        received.path.unlink(missing_ok=True)


@router.get("/{complaint_id}/attachments/{attachment_id}", summary="Download an attachment")
def download_attachment(
    complaint_id: Text, attachment_id: Text, request: Request, session: SessionDep, actor: ActorDep
) -> StreamingResponse:
    complaint = service.visible_complaint(
        session, actor=actor, complaint_id=complaint_id, audit_read=False
    )
    attachment = session.get(ComplaintAttachment, attachment_id)
    if attachment is None or attachment.complaint_id != complaint.id:
        raise NotFound("No such attachment.")
    handle = _store(request).open_verified(sha256=attachment.sha256)
    actor.audit(session, action="complaint.attachment.download", target_type=KIND,
                target_id=complaint.id, details={"attachment_id": attachment.id})  # fmt: skip
    return StreamingResponse(
        iter_file(handle),
        media_type=attachment.media_type,
        headers={
            "Content-Disposition": content_disposition(attachment.filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


def _for_decision(
    session: SessionDep, actor: Actor, request: Request, complaint_id: Text
) -> Complaint:
    service.require_triager(actor.principal)
    complaint = service.visible_complaint(
        session, actor=actor, complaint_id=complaint_id, audit_read=False
    )
    require_if_match(request, KIND, complaint.id, complaint.version)
    return complaint


@router.post("/{complaint_id}/triage", summary="Create an incident from the complaint (If-Match)")
def triage_complaint(
    complaint_id: Text,
    decision: ComplaintTriage,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    complaint = _for_decision(session, actor, request, complaint_id)
    service.triage(session, actor=actor, complaint=complaint, decision=decision)
    return _answer(session, complaint, actor)


@router.post("/{complaint_id}/close", summary="Close with a reason the citizen reads (If-Match)")
def close_complaint(
    complaint_id: Text,
    decision: ComplaintClose,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    complaint = _for_decision(session, actor, request, complaint_id)
    service.close(session, actor=actor, complaint=complaint, decision=decision)
    return _answer(session, complaint, actor)
