"""Complaint logic: citizens see only their own; officers triage into incidents or close."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from records_service.audit import Actor
from records_service.complaints.models import Complaint, ComplaintAttachment, ComplaintStatus
from records_service.complaints.schemas import (
    AttachmentPublic,
    ComplaintClose,
    ComplaintCreate,
    ComplaintPublic,
    ComplaintStaffView,
    ComplaintTriage,
)
from records_service.concurrency import flush_or_412
from records_service.db import utcnow
from records_service.documents.models import Document
from records_service.incidents import service as incidents
from records_service.incidents.schemas import IncidentCreate
from records_service.sequences import take_numbers
from servicekit.errors import Conflict, Forbidden, NotFound
from servicekit.logging import get_logger
from servicekit.security import ROLE_ADMIN, ROLE_CITIZEN, ROLE_OFFICER, ROLE_SUPERVISOR, Principal

log = get_logger(__name__)

TRIAGE_ROLES = (ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER)
REFERENCE_PREFIX = "CMP"


def is_triager(principal: Principal) -> bool:
    return principal.has_any(*TRIAGE_ROLES)


def require_citizen(principal: Principal) -> None:
    if not principal.has_any(ROLE_CITIZEN):
        raise Forbidden("Complaints are filed by citizens' accounts.")


def require_triager(principal: Principal) -> None:
    if not is_triager(principal):
        raise Forbidden("Only officers, supervisors and admins handle complaints.")


def complaint_view(
    complaint: Complaint, attachments: list[ComplaintAttachment], principal: Principal
) -> dict[str, Any]:
    """The complaint as this caller may see it (staff see who filed and who triaged)."""
    fields: dict[str, Any] = {
        "id": complaint.id,
        "reference": complaint.reference,
        "status": complaint.status,
        "closing_reason": complaint.closing_reason,
        "crime_id": complaint.crime_id,
        "description": complaint.description,
        "occurred_from": complaint.occurred_from,
        "occurred_to": complaint.occurred_to,
        "location_text": complaint.location_text,
        "lat": complaint.lat,
        "lon": complaint.lon,
        "category_hint": complaint.category_hint,
        "contact": complaint.contact,
        "attachments": [
            AttachmentPublic(
                id=a.id,
                filename=a.filename,
                media_type=a.media_type,
                size=a.size,
                sha256=a.sha256,
                created_at=a.created_at,
            )
            for a in attachments
        ],
        "version": complaint.version,
        "created_at": complaint.created_at,
        "updated_at": complaint.updated_at,
    }
    if is_triager(principal):
        view: ComplaintPublic = ComplaintStaffView(
            **fields,
            citizen_subject=complaint.citizen_subject,
            incident_id=complaint.incident_id,
            triaged_by=complaint.triaged_by,
            triaged_at=complaint.triaged_at,
        )
    else:
        view = ComplaintPublic(**fields)
    return view.model_dump(mode="json")


def file_complaint(session: Session, *, actor: Actor, payload: ComplaintCreate) -> Complaint:
    """A citizen files a complaint and gets a reference number."""
    require_citizen(actor.principal)
    now = utcnow()
    number = take_numbers(session, name=f"complaint:{now.year}")
    complaint = Complaint(
        reference=f"{REFERENCE_PREFIX}-{now.year}-{number:06d}",
        citizen_subject=actor.subject,
        description=payload.description,
        category_hint=payload.category_hint,
        occurred_from=payload.occurred_from,
        occurred_to=payload.occurred_to,
        location_text=payload.location_text,
        lat=payload.lat,
        lon=payload.lon,
        contact=payload.contact,
        status=ComplaintStatus.SUBMITTED.value,
        created_at=now,
        updated_at=now,
    )
    session.add(complaint)
    session.flush()
    actor.audit(
        session,
        action="complaint.create",
        target_type="complaint",
        target_id=complaint.id,
        details={"reference": complaint.reference},
    )
    log.info("complaint.filed", complaint_id=complaint.id)
    return complaint


def visible_complaint(
    session: Session, *, actor: Actor, complaint_id: str, audit_read: bool = True
) -> Complaint:
    """The complaint if the caller may see it: its citizen, or staff who handle complaints.

    Anyone else gets 404, exactly as for an id that does not exist.
    """
    principal = actor.principal
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("No complaint with this id.")
    if is_triager(principal):
        if audit_read:
            actor.audit(
                session, action="complaint.read", target_type="complaint", target_id=complaint.id
            )
        return complaint
    if principal.has_any(ROLE_CITIZEN) and complaint.citizen_subject == principal.subject:
        return complaint
    raise NotFound("No complaint with this id.")


def attachments_of(session: Session, complaint_id: str) -> list[ComplaintAttachment]:
    return list(
        session.execute(
            select(ComplaintAttachment)
            .where(ComplaintAttachment.complaint_id == complaint_id)
            .order_by(ComplaintAttachment.created_at, ComplaintAttachment.id)
        ).scalars()
    )


def complaint_query(*, principal: Principal, status: str | None) -> Select[Complaint]:
    """Citizens list their own complaints; staff who handle complaints list all."""
    statement = select(Complaint)
    if not is_triager(principal):
        require_citizen(principal)
        statement = statement.where(Complaint.citizen_subject == principal.subject)
    if status is not None:
        statement = statement.where(Complaint.status == status)
    return statement


def _require_open(complaint: Complaint) -> None:
    if complaint.status != ComplaintStatus.SUBMITTED.value:
        raise Conflict(f"The complaint is already {complaint.status}.")


def triage(
    session: Session, *, actor: Actor, complaint: Complaint, decision: ComplaintTriage
) -> Complaint:
    """Create a draft incident from the complaint (attachments become its documents)."""
    require_triager(actor.principal)
    _require_open(complaint)
    incident = incidents.create_incident(
        session,
        actor=actor,
        payload=IncidentCreate(
            category=decision.category,
            occurred_from=complaint.occurred_from,
            occurred_to=complaint.occurred_to,
            reported_at=complaint.created_at,
            address=complaint.location_text,
            lat=complaint.lat,
            lon=complaint.lon,
            area=decision.area,
            premises_type=decision.premises_type,
            narrative=f"From citizen complaint {complaint.reference}:\n{complaint.description}",
            source_code=f"complaint:{complaint.reference}",
            station_id=decision.station_id,
        ),
    )
    now = utcnow()
    for attachment in attachments_of(session, complaint.id):
        session.add(
            Document(
                owner_type="incident",
                owner_id=incident.id,
                station_id=incident.station_id,
                title=f"Attachment of complaint {complaint.reference}",
                original_filename=attachment.filename,
                media_type=attachment.media_type,
                size_bytes=attachment.size,
                sha256=attachment.sha256,
                uploaded_by=complaint.citizen_subject,
                created_at=now,
                updated_at=now,
            )
        )
    complaint.status = ComplaintStatus.TRIAGED.value
    complaint.incident_id = incident.id
    complaint.crime_id = incident.crime_id
    complaint.triaged_by = actor.subject
    complaint.triaged_at = now
    complaint.updated_at = now
    flush_or_412(session)
    actor.audit(
        session,
        action="complaint.triage",
        target_type="complaint",
        target_id=complaint.id,
        details={"incident_id": incident.id, "crime_id": incident.crime_id},
    )
    return complaint


def close(
    session: Session, *, actor: Actor, complaint: Complaint, decision: ComplaintClose
) -> Complaint:
    """Close without an incident, with a reason the citizen reads."""
    require_triager(actor.principal)
    _require_open(complaint)
    now = utcnow()
    complaint.status = ComplaintStatus.CLOSED.value
    complaint.closing_reason = decision.reason
    complaint.triaged_by = actor.subject
    complaint.triaged_at = now
    complaint.updated_at = now
    flush_or_412(session)
    actor.audit(
        session,
        action="complaint.close",
        target_type="complaint",
        target_id=complaint.id,
        details={"reason": decision.reason},
    )
    return complaint
