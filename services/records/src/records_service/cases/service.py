"""Cases: only the assigned officer or a supervisor/admin writes; closing needs approved reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from records_service import access
from records_service.audit import Actor
from records_service.cases.models import Case, CaseDiaryEntry, CaseIncident, CaseStatus
from records_service.cases.schemas import CaseCreate, CasePublic, CaseUpdate
from records_service.concurrency import flush_or_412
from records_service.db import utcnow
from records_service.incidents import service as incidents
from records_service.incidents.models import Incident, ReviewStatus
from records_service.sequences import take_numbers
from servicekit.errors import Conflict, Forbidden, NotFound, UnprocessableContent
from servicekit.security import ROLE_OFFICER, Principal

ANALYST_HIDDEN = frozenset({"summary", "created_by"})


def case_incident_ids(session: Session, *, case: Case) -> list[str]:
    return list(
        session.execute(
            select(CaseIncident.incident_id)
            .where(CaseIncident.case_id == case.id)
            .order_by(CaseIncident.id)
        ).scalars()
    )


def case_view(session: Session, case: Case, principal: Principal) -> dict[str, Any]:
    public = CasePublic(
        id=case.id,
        case_number=case.case_number,
        title=case.title,
        summary=case.summary,
        station_id=case.station_id,
        assigned_officer=case.assigned_officer,
        status=case.status,
        incident_ids=case_incident_ids(session, case=case),
        closed_at=case.closed_at,
        deleted=case.deleted_at is not None,
        version=case.version,
        created_by=case.created_by,
        created_at=case.created_at,
        updated_at=case.updated_at,
    )
    hidden = set() if access.sees_unmasked(principal) else set(ANALYST_HIDDEN)
    return public.model_dump(mode="json", exclude=hidden)


def require_case_writer(principal: Principal, case: Case) -> None:
    """Only the assigned officer, a supervisor or an admin writes to a case."""
    if access.is_privileged(principal):
        return
    if principal.has_any(ROLE_OFFICER) and case.assigned_officer == principal.subject:
        return
    raise Forbidden("Only the assigned officer or a supervisor may write to this case.")


def visible_case(session: Session, *, actor: Actor, case_id: str) -> Case:
    access.require_read(actor.principal)
    case = session.get(Case, case_id)
    if case is None or (case.deleted_at is not None and not actor.principal.has_any("admin")):
        raise NotFound("No such case.")
    return case


def _linkable_incident(session: Session, *, actor: Actor, incident_id: str) -> Incident:
    incident = incidents.visible_incident(
        session, actor=actor, incident_id=incident_id, audit_read=False
    )
    access.require_write(actor.principal, incident.station_id)
    return incident


def create_case(session: Session, *, actor: Actor, payload: CaseCreate) -> Case:
    principal = actor.principal
    access.require_write(principal, principal.station_id)
    if payload.assigned_officer not in (None, principal.subject) and not access.is_privileged(
        principal
    ):
        raise Forbidden("Only a supervisor assigns a case to somebody else.")
    linked = [
        _linkable_incident(session, actor=actor, incident_id=incident_id)
        for incident_id in dict.fromkeys(payload.incident_ids)
    ]
    station_id = principal.station_id or linked[0].station_id
    now = utcnow()
    number = take_numbers(session, name=f"case_number:{now.year}")
    case = Case(
        case_number=f"CASE-{now.year}-{number:06d}",
        title=payload.title,
        summary=payload.summary,
        station_id=station_id,
        assigned_officer=payload.assigned_officer or principal.subject,
        status=CaseStatus.OPEN.value,
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    for incident in linked:
        session.add(CaseIncident(case_id=case.id, incident_id=incident.id, created_at=now))
    session.flush()
    actor.audit(
        session,
        action="case.create",
        target_type="case",
        target_id=case.id,
        details={"incidents": [i.id for i in linked], "assigned_officer": case.assigned_officer},
    )
    return case


def _changed(session: Session, actor: Actor, case: Case, action: str, details: Any) -> Case:
    case.updated_at = utcnow()
    flush_or_412(session)
    actor.audit(session, action=action, target_type="case", target_id=case.id, details=details)
    return case


def update_case(session: Session, *, actor: Actor, case: Case, payload: CaseUpdate) -> Case:
    require_case_writer(actor.principal, case)
    changes = payload.model_dump(exclude_unset=True)
    if "title" in changes and changes["title"] is None:
        raise UnprocessableContent("title cannot be emptied.")
    for name, value in changes.items():
        setattr(case, name, value)
    return _changed(session, actor, case, "case.update", {"fields": sorted(changes)})


def assign_case(session: Session, *, actor: Actor, case: Case, officer: str) -> Case:
    access.require_privileged(actor.principal)
    before = case.assigned_officer
    case.assigned_officer = officer
    return _changed(session, actor, case, "case.assign", {"from": before, "to": officer})


def link_incident(session: Session, *, actor: Actor, case: Case, incident_id: str) -> Case:
    require_case_writer(actor.principal, case)
    if case.status == CaseStatus.CLOSED.value:
        raise Conflict("The case is closed.")
    incident = _linkable_incident(session, actor=actor, incident_id=incident_id)
    try:
        with session.begin_nested():
            session.add(CaseIncident(case_id=case.id, incident_id=incident.id, created_at=utcnow()))
            session.flush()
    except IntegrityError as exc:
        raise Conflict("The incident is already linked to this case.") from exc
    return _changed(session, actor, case, "case.link_incident", {"incident_id": incident.id})


def change_case_status(session: Session, *, actor: Actor, case: Case, status: str) -> Case:
    """open/active/suspended by the case's writers; closing by a supervisor, after approval."""
    require_case_writer(actor.principal, case)
    if status == case.status:
        raise Conflict(f"The case is already {status}.")
    if status == CaseStatus.CLOSED.value or case.status == CaseStatus.CLOSED.value:
        access.require_privileged(actor.principal)
    if status == CaseStatus.CLOSED.value:
        unapproved = (
            session.execute(
                select(Incident.crime_id)
                .join(CaseIncident, CaseIncident.incident_id == Incident.id)
                .where(
                    CaseIncident.case_id == case.id,
                    Incident.review_status != ReviewStatus.APPROVED.value,
                )
            )
            .scalars()
            .all()
        )
        if unapproved:
            raise Conflict(
                "A case is closed only after its incidents are approved.",
                unapproved=sorted(unapproved),
            )
    before = case.status
    case.status = status
    case.closed_at = utcnow() if status == CaseStatus.CLOSED.value else None
    return _changed(session, actor, case, "case.status", {"from": before, "to": status})


def delete_case(session: Session, *, actor: Actor, case: Case, reason: str) -> Case:
    access.require_admin(actor.principal)
    if case.deleted_at is not None:
        raise Conflict("The case is already deleted.")
    case.deleted_at = utcnow()
    case.deleted_by = actor.subject
    case.delete_reason = reason
    return _changed(session, actor, case, "case.delete", {"reason": reason})


def restore_case(session: Session, *, actor: Actor, case: Case) -> Case:
    access.require_admin(actor.principal)
    if case.deleted_at is None:
        raise Conflict("The case is not deleted.")
    case.deleted_at = None
    case.deleted_by = None
    case.delete_reason = None
    return _changed(session, actor, case, "case.restore", None)


def add_diary_entry(
    session: Session, *, actor: Actor, case: Case, entry_at: datetime, text: str
) -> CaseDiaryEntry:
    require_case_writer(actor.principal, case)
    if case.status == CaseStatus.CLOSED.value:
        raise Conflict("The case is closed; reopen it to add to the diary.")
    now = utcnow()
    if entry_at > now:
        raise UnprocessableContent(
            "A diary entry cannot be dated in the future.",
            errors=[{"field": "entry_at", "message": "is in the future"}],
        )
    entry = CaseDiaryEntry(
        case_id=case.id, entry_at=entry_at, author=actor.subject, text=text, created_at=now
    )
    session.add(entry)
    session.flush()
    actor.audit(
        session,
        action="case.diary_entry",
        target_type="case",
        target_id=case.id,
        details={"entry_id": entry.id},
    )
    return entry


def diary_view(entry: CaseDiaryEntry, principal: Principal) -> dict[str, Any]:
    view = {
        "id": entry.id,
        "case_id": entry.case_id,
        "entry_at": entry.entry_at.isoformat(),
        "author": entry.author,
        "text": entry.text,
        "created_at": entry.created_at.isoformat(),
    }
    if not access.sees_unmasked(principal):
        view.pop("text")
    return view


def diary_entries(
    session: Session, *, case: Case, limit: int, after: tuple[datetime, str] | None
) -> list[CaseDiaryEntry]:
    statement = select(CaseDiaryEntry).where(CaseDiaryEntry.case_id == case.id)
    if after is not None:
        statement = statement.where(
            or_(
                CaseDiaryEntry.entry_at > after[0],
                and_(CaseDiaryEntry.entry_at == after[0], CaseDiaryEntry.id > after[1]),
            )
        )
    statement = statement.order_by(CaseDiaryEntry.entry_at, CaseDiaryEntry.id).limit(limit + 1)
    return list(session.execute(statement).scalars())


def list_cases(
    session: Session,
    *,
    principal: Principal,
    station_id: str | None,
    assigned_officer: str | None,
    status: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Case]:
    """Newest first; keyset pagination on (created_at, id)."""
    statement = select(Case)
    if not principal.has_any("admin"):
        statement = statement.where(Case.deleted_at.is_(None))
    if station_id is not None:
        statement = statement.where(Case.station_id == station_id)
    if assigned_officer is not None:
        statement = statement.where(Case.assigned_officer == assigned_officer)
    if status is not None:
        statement = statement.where(Case.status == status)
    if after is not None:
        statement = statement.where(
            or_(
                Case.created_at < after[0],
                and_(Case.created_at == after[0], Case.id < after[1]),
            )
        )
    statement = statement.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    return list(session.execute(statement).scalars())
