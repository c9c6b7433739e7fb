"""Persons: create with duplicate detection, read (audited, masked), edit, link to incidents."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from records_service import access, taxonomy
from records_service.audit import Actor
from records_service.concurrency import flush_or_412
from records_service.db import utcnow
from records_service.incidents.models import Incident, ReviewStatus
from records_service.persons import search
from records_service.persons.models import IncidentPerson, Person, PersonRole
from records_service.persons.schemas import PersonCreate, PersonPublic, PersonUpdate
from servicekit.errors import Conflict, Forbidden, NotFound, UnprocessableContent
from servicekit.security import Principal

DUPLICATE_SCORE = 88.0
# Analysts see that a person exists and roughly how old, nothing that names or reaches them.
ANALYST_VISIBLE = frozenset(
    {"id", "birth_year", "station_id", "deleted", "version", "created_at", "updated_at"}
)


def person_view(person: Person, principal: Principal) -> dict[str, Any]:
    """The person as this caller may see them: masked fields are absent."""
    public = PersonPublic(
        id=person.id,
        given_name=person.given_name,
        family_name=person.family_name,
        aliases=json.loads(person.aliases),
        date_of_birth=person.date_of_birth,
        birth_year=person.date_of_birth.year if person.date_of_birth else None,
        identifiers=json.loads(person.identifiers),
        phone=person.phone,
        email=person.email,
        address=person.address,
        station_id=person.station_id,
        deleted=person.deleted_at is not None,
        version=person.version,
        created_by=person.created_by,
        created_at=person.created_at,
        updated_at=person.updated_at,
    )
    if access.sees_unmasked(principal):
        return public.model_dump(mode="json")
    return public.model_dump(mode="json", include=set(ANALYST_VISIBLE))


def _candidate_summary(person: Person, score: float) -> dict[str, Any]:
    return {
        "id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else None,
        "score": round(score, 1),
    }


def duplicate_candidates(session: Session, *, payload: PersonCreate) -> list[dict[str, Any]]:
    """Persons who are probably the same: same name and birth date, or a close name."""
    name_key = search.normalize_name(f"{payload.given_name} {payload.family_name}")
    found: dict[str, dict[str, Any]] = {}
    same = session.execute(
        select(Person).where(
            Person.name_key == name_key,
            Person.deleted_at.is_(None),
        )
    ).scalars()
    for person in same:
        if payload.date_of_birth is None or person.date_of_birth in (None, payload.date_of_birth):
            found[person.id] = _candidate_summary(person, 100.0)
    for match in search.search_names(session, query=name_key, limit=20):
        if match.person_id in found or match.score < DUPLICATE_SCORE:
            continue
        candidate = session.get(Person, match.person_id)
        if candidate is None:
            continue
        if (
            payload.date_of_birth is not None
            and candidate.date_of_birth is not None
            and candidate.date_of_birth != payload.date_of_birth
        ):
            continue
        found[candidate.id] = _candidate_summary(candidate, match.score)
    return sorted(found.values(), key=lambda c: -c["score"])[:10]


def _index_fields(person: Person) -> None:
    person.name_key = search.normalize_name(f"{person.given_name} {person.family_name}")
    person.search_text = search.search_text_for(
        person.given_name, person.family_name, json.loads(person.aliases)
    )


def create_person(session: Session, *, actor: Actor, payload: PersonCreate) -> Person:
    """Add a person to the master name index, unless they probably exist (409 + candidates)."""
    principal = actor.principal
    station_id = principal.station_id
    if station_id is None and not access.is_privileged(principal):
        raise Forbidden("Your account has no station.")
    access.require_write(principal, station_id)
    if not payload.confirm_new:
        candidates = duplicate_candidates(session, payload=payload)
        if candidates:
            raise Conflict(
                "This person probably exists already: link one of the candidates, or send "
                "confirm_new=true if this is somebody else.",
                candidates=candidates,
            )
    now = utcnow()
    person = Person(
        given_name=payload.given_name,
        family_name=payload.family_name,
        aliases=json.dumps(payload.aliases or []),
        identifiers=json.dumps([i.model_dump() for i in payload.identifiers or []]),
        date_of_birth=payload.date_of_birth,
        phone=payload.phone,
        email=payload.email,
        address=payload.address,
        station_id=station_id or "HQ",
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    _index_fields(person)
    session.add(person)
    session.flush()
    search.index_person_terms(session, person_id=person.id, search_text=person.search_text)
    actor.audit(session, action="person.create", target_type="person", target_id=person.id)
    return person


def visible_person(session: Session, *, actor: Actor, person_id: str, audit: bool = True) -> Person:
    """A person the caller may read (deleted ones: admin only); every read is audited."""
    access.require_read(actor.principal)
    person = session.get(Person, person_id)
    if person is None or (person.deleted_at is not None and not actor.principal.has_any("admin")):
        raise NotFound("No such person.")
    if audit:
        actor.audit(session, action="person.read", target_type="person", target_id=person.id)
    return person


def update_person(
    session: Session, *, actor: Actor, person: Person, payload: PersonUpdate
) -> Person:
    access.require_write(actor.principal, person.station_id)
    changes = payload.model_dump(exclude_unset=True)
    for required in ("given_name", "family_name"):
        if required in changes and changes[required] is None:
            raise UnprocessableContent(f"{required} cannot be emptied.")
    if "aliases" in changes:
        changes["aliases"] = json.dumps(changes["aliases"] or [])
    if "identifiers" in changes:
        changes["identifiers"] = json.dumps(changes["identifiers"] or [])
    for name, value in changes.items():
        setattr(person, name, value)
    _index_fields(person)
    person.updated_at = utcnow()
    flush_or_412(session)
    search.index_person_terms(session, person_id=person.id, search_text=person.search_text)
    actor.audit(
        session,
        action="person.update",
        target_type="person",
        target_id=person.id,
        details={"fields": sorted(changes)},
    )
    return person


def delete_person(session: Session, *, actor: Actor, person: Person, reason: str) -> None:
    access.require_admin(actor.principal)
    if person.deleted_at is not None:
        raise Conflict("The person is already deleted.")
    person.deleted_at = utcnow()
    person.deleted_by = actor.subject
    person.delete_reason = reason
    person.updated_at = utcnow()
    flush_or_412(session)
    actor.audit(
        session,
        action="person.delete",
        target_type="person",
        target_id=person.id,
        details={"reason": reason},
    )


def restore_person(session: Session, *, actor: Actor, person: Person) -> None:
    access.require_admin(actor.principal)
    if person.deleted_at is None:
        raise Conflict("The person is not deleted.")
    person.deleted_at = None
    person.deleted_by = None
    person.delete_reason = None
    person.updated_at = utcnow()
    flush_or_412(session)
    actor.audit(session, action="person.restore", target_type="person", target_id=person.id)


def link_view(
    link: IncidentPerson, person: Person, incident: Incident, principal: Principal
) -> dict[str, Any]:
    """A role in an incident; analysts never learn who the victim of a sensitive offence is."""
    view: dict[str, Any] = {
        "id": link.id,
        "incident_id": link.incident_id,
        "person_id": link.person_id,
        "role": link.role,
        "notes": link.notes,
        "created_at": link.created_at.isoformat(),
        "person": person_view(person, principal),
    }
    if not access.sees_unmasked(principal):
        view.pop("notes")
        if link.role == PersonRole.VICTIM.value and taxonomy.is_sensitive(incident.category):
            view.pop("person_id")
            view.pop("person")
    return view


def link_person(
    session: Session,
    *,
    actor: Actor,
    incident: Incident,
    person_id: str,
    role: str,
    notes: str | None,
) -> tuple[IncidentPerson, Person]:
    access.require_write(actor.principal, incident.station_id)
    person = session.get(Person, person_id)
    if person is None or person.deleted_at is not None:
        raise NotFound("No such person.")
    if role == PersonRole.ACCUSED.value and incident.review_status in (
        ReviewStatus.DRAFT.value,
        ReviewStatus.RETURNED.value,
    ):
        # Auditors of other systems found people charged on reports never filed.
        raise Conflict("Submit the report before recording an accused person.")
    link = IncidentPerson(
        incident_id=incident.id,
        person_id=person.id,
        role=role,
        notes=notes,
        created_by=actor.subject,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(link)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"This person is already a {role} in this incident.") from exc
    actor.audit(
        session,
        action="incident.person_link",
        target_type="incident",
        target_id=incident.id,
        details={"person_id": person.id, "role": role, "link_id": link.id},
    )
    return link, person


def incident_links(session: Session, *, incident: Incident) -> list[tuple[IncidentPerson, Person]]:
    rows = session.execute(
        select(IncidentPerson, Person)
        .join(Person, Person.id == IncidentPerson.person_id)
        .where(IncidentPerson.incident_id == incident.id)
        .order_by(IncidentPerson.created_at, IncidentPerson.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def unlink_person(session: Session, *, actor: Actor, incident: Incident, link_id: str) -> None:
    access.require_write(actor.principal, incident.station_id)
    link = session.get(IncidentPerson, link_id)
    if link is None or link.incident_id != incident.id:
        raise NotFound("No such role in this incident.")
    session.delete(link)
    session.flush()
    actor.audit(
        session,
        action="incident.person_unlink",
        target_type="incident",
        target_id=incident.id,
        details={"person_id": link.person_id, "role": link.role, "link_id": link.id},
    )


def person_incidents(
    session: Session,
    *,
    principal: Principal,
    person: Person,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[tuple[IncidentPerson, Incident]]:
    """The person's roles in incidents, newest incident first; keyset on (occurred_from, link id).

    The same visibility as the incident list: deleted incidents never appear, sealed ones only
    for admin and supervisor; analysts never see that this person is the victim of a sensitive
    offence (the incident's person list hides it from them too).
    """
    statement = (
        select(IncidentPerson, Incident)
        .join(Incident, Incident.id == IncidentPerson.incident_id)
        .where(IncidentPerson.person_id == person.id, Incident.deleted_at.is_(None))
    )
    if not access.may_read_sealed(principal):
        statement = statement.where(Incident.sealed.is_(False))
    if not access.sees_unmasked(principal):
        statement = statement.where(
            ~and_(
                IncidentPerson.role == PersonRole.VICTIM.value,
                Incident.category.in_(sorted(taxonomy.SENSITIVE_SLUGS)),
            )
        )
    if after is not None:
        occurred, link_id = after
        statement = statement.where(
            or_(
                Incident.occurred_from < occurred,
                and_(Incident.occurred_from == occurred, IncidentPerson.id < link_id),
            )
        )
    statement = statement.order_by(Incident.occurred_from.desc(), IncidentPerson.id.desc()).limit(
        limit + 1
    )
    return [(row[0], row[1]) for row in session.execute(statement).all()]
