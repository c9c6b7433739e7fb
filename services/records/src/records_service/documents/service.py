"""Documents: who may attach and read them, and the rows that describe stored files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from records_service import access
from records_service.audit import Actor, denied
from records_service.cases import service as cases
from records_service.concurrency import flush_or_412
from records_service.db import utcnow
from records_service.documents.filetypes import detect
from records_service.documents.models import Document
from records_service.documents.schemas import DocumentPublic
from records_service.documents.storage import DocumentStore
from records_service.documents.upload import ReceivedFile
from records_service.incidents import service as incidents
from records_service.persons import service as persons
from servicekit.errors import Conflict, Forbidden, NotFound
from servicekit.security import Principal

OwnerType = Literal["incident", "person", "case"]
ANALYST_HIDDEN = frozenset({"title", "original_filename", "uploaded_by"})


def owner_station(
    session: Session, *, actor: Actor, owner_type: str, owner_id: str, write: bool
) -> str:
    """The station of the record a document belongs to; checks the caller may see (or write) it."""
    if owner_type == "incident":
        incident = incidents.visible_incident(
            session, actor=actor, incident_id=owner_id, audit_read=False
        )
        if write:
            access.require_write(actor.principal, incident.station_id)
        return incident.station_id
    if owner_type == "person":
        person = persons.visible_person(session, actor=actor, person_id=owner_id, audit=False)
        if write:
            access.require_write(actor.principal, person.station_id)
        return person.station_id
    if owner_type == "case":
        case = cases.visible_case(session, actor=actor, case_id=owner_id)
        if write:
            cases.require_case_writer(actor.principal, case)
        return case.station_id
    raise NotFound("Documents belong to an incident, a person or a case.")


def document_view(document: Document, principal: Principal) -> dict[str, Any]:
    public = DocumentPublic(
        id=document.id,
        owner_type=document.owner_type,
        owner_id=document.owner_id,
        station_id=document.station_id,
        title=document.title,
        original_filename=document.original_filename,
        media_type=document.media_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        deleted=document.deleted_at is not None,
        version=document.version,
        uploaded_by=document.uploaded_by,
        created_at=document.created_at,
        updated_at=document.updated_at,
    )
    hidden = set() if access.sees_unmasked(principal) else set(ANALYST_HIDDEN)
    return public.model_dump(mode="json", exclude=hidden)


def store_document(
    session: Session,
    *,
    actor: Actor,
    store: DocumentStore,
    owner_type: str,
    owner_id: str,
    title: str | None,
    received: ReceivedFile,
) -> Document:
    """Check the file's type from its bytes, store it by hash, and describe it in a row."""
    station_id = owner_station(
        session, actor=actor, owner_type=owner_type, owner_id=owner_id, write=True
    )
    detected = detect(received.path, claimed_type=received.claimed_type, filename=received.filename)
    store.put(sha256=received.sha256, source=received.path)
    now = utcnow()
    document = Document(
        owner_type=owner_type,
        owner_id=owner_id,
        station_id=station_id,
        title=title,
        original_filename=received.filename,
        media_type=detected.media_type,
        size_bytes=received.size,
        sha256=received.sha256,
        uploaded_by=actor.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(document)
    session.flush()
    actor.audit(
        session,
        action="document.upload",
        target_type="document",
        target_id=document.id,
        details={
            "owner_type": owner_type,
            "owner_id": owner_id,
            "sha256": received.sha256,
            "size": received.size,
            "media_type": detected.media_type,
        },
    )
    return document


def visible_document(
    session: Session, *, actor: Actor, document_id: str, action: str | None = "document.read"
) -> Document:
    """A document whose owner the caller may see; reads are audited."""
    access.require_read(actor.principal)
    document = session.get(Document, document_id)
    if document is None or (
        document.deleted_at is not None and not actor.principal.has_any("admin")
    ):
        raise NotFound("No such document.")
    owner_station(
        session,
        actor=actor,
        owner_type=document.owner_type,
        owner_id=document.owner_id,
        write=False,
    )
    if action is not None:
        actor.audit(session, action=action, target_type="document", target_id=document.id)
    return document


def require_content_reader(actor: Actor, document: Document) -> None:
    """Analysts see that a document exists, never its content."""
    if not access.sees_unmasked(actor.principal):
        raise denied(
            Forbidden("Document contents are withheld from your role."),
            actor=actor,
            action="document.download",
            target_type="document",
            target_id=document.id,
        )


def list_documents(
    session: Session, *, actor: Actor, owner_type: str, owner_id: str
) -> list[Document]:
    owner_station(session, actor=actor, owner_type=owner_type, owner_id=owner_id, write=False)
    statement = select(Document).where(
        Document.owner_type == owner_type, Document.owner_id == owner_id
    )
    if not actor.principal.has_any("admin"):
        statement = statement.where(Document.deleted_at.is_(None))
    rows = list(session.execute(statement.order_by(Document.created_at, Document.id)).scalars())
    actor.audit(
        session,
        action="document.list",
        target_type=owner_type,
        target_id=owner_id,
        details={"documents": [row.id for row in rows]},
    )
    return rows


def retitle(session: Session, *, actor: Actor, document: Document, title: str | None) -> None:
    owner_station(
        session, actor=actor, owner_type=document.owner_type, owner_id=document.owner_id, write=True
    )
    document.title = title
    document.updated_at = utcnow()
    flush_or_412(session)
    actor.audit(session, action="document.update", target_type="document", target_id=document.id)


def delete_document(session: Session, *, actor: Actor, document: Document, reason: str) -> None:
    access.require_admin(actor.principal)
    if document.deleted_at is not None:
        raise Conflict("The document is already deleted.")
    document.deleted_at = utcnow()
    document.deleted_by = actor.subject
    document.delete_reason = reason
    document.updated_at = utcnow()
    flush_or_412(session)
    actor.audit(
        session,
        action="document.delete",
        target_type="document",
        target_id=document.id,
        details={"reason": reason},
    )


def restore_document(session: Session, *, actor: Actor, document: Document) -> None:
    access.require_admin(actor.principal)
    if document.deleted_at is None:
        raise Conflict("The document is not deleted.")
    document.deleted_at = None
    document.deleted_by = None
    document.delete_reason = None
    document.updated_at = utcnow()
    flush_or_412(session)
    actor.audit(session, action="document.restore", target_type="document", target_id=document.id)


def discard_scratch(received: ReceivedFile | None) -> None:
    if received is not None:
        Path(received.path).unlink(missing_ok=True)
