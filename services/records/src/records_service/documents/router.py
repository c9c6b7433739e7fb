"""Document endpoints: /api/v1/records/documents (streamed upload, verified download)."""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from records_service import access
from records_service.audit import Actor, ActorDep, denied
from records_service.concurrency import etag_for, require_if_match
from records_service.documents import service
from records_service.documents.models import Document
from records_service.documents.schemas import DocumentPage, DocumentUpdate
from records_service.documents.storage import DocumentIntegrityError, DocumentStore, iter_file
from records_service.documents.upload import ReceivedFile, receive_file
from records_service.idempotency import idempotent_create
from records_service.responses import versioned
from records_service.validation import Text
from servicekit.db import Database, SessionDep

router = APIRouter(prefix="/api/v1/records/documents", tags=["documents"])

KIND = "document"
OwnerTypeQuery = Annotated[Text, Query(pattern="^(incident|person|case)$")]
OwnerIdQuery = Annotated[Text, Query(min_length=1, max_length=36)]


def content_disposition(filename: str) -> str:
    """attachment; an ASCII fallback name plus the exact name percent-encoded (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name).strip(" .") or "document"
    encoded = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def _store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.document_store
    return store


def _answer(document: Document, actor: Actor, *, status_code: int = 200) -> JSONResponse:
    return versioned(
        service.document_view(document, actor.principal),
        kind=KIND,
        object_id=document.id,
        version=document.version,
        status_code=status_code,
        location=f"/api/v1/records/documents/{document.id}" if status_code == 201 else None,
    )


@router.post("", status_code=201, summary="Upload a document (multipart field 'file')")
async def upload_document(
    request: Request,
    actor: ActorDep,
    owner_type: OwnerTypeQuery,
    owner_id: OwnerIdQuery,
    title: Annotated[Text | None, Query(max_length=300)] = None,
) -> JSONResponse:
    """Streams the file to storage; its type comes from its bytes; size is limited."""
    database: Database = request.app.state.database
    store = _store(request)
    limit: int = request.app.state.settings.max_document_bytes

    def may_attach() -> None:
        with database.session(write=False) as session:
            service.owner_station(
                session, actor=actor, owner_type=owner_type, owner_id=owner_id, write=True
            )

    # Refuse before reading a byte of the body when the caller may not attach here.
    await run_in_threadpool(may_attach)
    received = await receive_file(request, scratch=store.scratch_dir(), limit=limit)

    def finish(received: ReceivedFile) -> JSONResponse:
        with database.session() as session:
            idempotent = idempotent_create(
                session,
                request,
                subject=actor.subject,
                payload={
                    "owner_type": owner_type,
                    "owner_id": owner_id,
                    "title": title,
                    "filename": received.filename,
                    "claimed_type": received.claimed_type,
                    "sha256": received.sha256,
                },
            )
            replay = idempotent.claim()
            if replay is not None:
                return replay
            document = service.store_document(
                session,
                actor=actor,
                store=store,
                owner_type=owner_type,
                owner_id=owner_id,
                title=title,
                received=received,
            )
            answer = _answer(document, actor, status_code=201)
            idempotent.store(
                status_code=201,
                body=service.document_view(document, actor.principal),
                headers={"ETag": answer.headers["ETag"], "Location": answer.headers["Location"]},
            )
            return answer

    try:
        return await run_in_threadpool(finish, received)
    finally:
        service.discard_scratch(received)


@router.get("", response_model=DocumentPage, summary="Documents of an incident, person or case")
def list_documents(
    session: SessionDep, actor: ActorDep, owner_type: OwnerTypeQuery, owner_id: OwnerIdQuery
) -> DocumentPage:
    rows = service.list_documents(session, actor=actor, owner_type=owner_type, owner_id=owner_id)
    return DocumentPage(items=[service.document_view(row, actor.principal) for row in rows])


@router.get("/{document_id}", summary="A document's description (audited)")
def read_document(document_id: Text, session: SessionDep, actor: ActorDep) -> JSONResponse:
    document = service.visible_document(session, actor=actor, document_id=document_id)
    return _answer(document, actor)


@router.get("/{document_id}/content", summary="Download; the bytes are checked against the hash")
def download_document(
    document_id: Text, request: Request, session: SessionDep, actor: ActorDep
) -> StreamingResponse:
    document = service.visible_document(session, actor=actor, document_id=document_id, action=None)
    service.require_content_reader(actor, document)
    try:
        handle = _store(request).open_verified(sha256=document.sha256)
    except DocumentIntegrityError as exc:
        raise denied(
            exc,
            actor=actor,
            action="document.download",
            target_type=KIND,
            target_id=document.id,
            outcome="integrity_failure",
        ) from exc
    actor.audit(session, action="document.download", target_type=KIND, target_id=document.id)
    headers: dict[str, Any] = {
        "Content-Disposition": content_disposition(document.original_filename),
        "Content-Length": str(document.size_bytes),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "Digest": f"sha-256={document.sha256}",
    }
    return StreamingResponse(iter_file(handle), media_type=document.media_type, headers=headers)


@router.patch("/{document_id}", summary="Change the title")
def update_document(
    document_id: Text,
    payload: DocumentUpdate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    document = service.visible_document(session, actor=actor, document_id=document_id, action=None)
    service.owner_station(
        session, actor=actor, owner_type=document.owner_type, owner_id=document.owner_id, write=True
    )
    require_if_match(request, KIND, document.id, document.version)
    service.retitle(session, actor=actor, document=document, title=payload.title)
    return _answer(document, actor)


@router.delete("/{document_id}", status_code=204, summary="Soft-delete (admin, with reason)")
def delete_document(
    document_id: Text,
    reason: Annotated[Text, Query(min_length=3, max_length=500)],
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    access.require_admin(actor.principal)
    document = service.visible_document(session, actor=actor, document_id=document_id, action=None)
    require_if_match(request, KIND, document.id, document.version)
    service.delete_document(session, actor=actor, document=document, reason=reason)
    etag = etag_for(KIND, document.id, document.version)
    return Response(status_code=204, headers={"ETag": etag})


@router.post("/{document_id}/restore", summary="Undo a soft delete (admin)")
def restore_document(
    document_id: Text, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_admin(actor.principal)
    document = service.visible_document(session, actor=actor, document_id=document_id, action=None)
    require_if_match(request, KIND, document.id, document.version)
    service.restore_document(session, actor=actor, document=document)
    return _answer(document, actor)
