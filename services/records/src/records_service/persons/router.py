"""Person endpoints (/api/v1/records/persons) and roles in incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from records_service import access
from records_service.audit import ActorDep
from records_service.concurrency import etag_for, require_if_match
from records_service.idempotency import idempotent_create
from records_service.incidents import service as incidents
from records_service.persons import search, service
from records_service.persons.models import Person
from records_service.persons.schemas import (
    PersonCreate,
    PersonIncidentPage,
    PersonLinkCreate,
    PersonPage,
    PersonUpdate,
)
from records_service.responses import versioned
from records_service.validation import Text
from servicekit.db import SessionDep
from servicekit.errors import BadRequest, Forbidden
from servicekit.pagination import PageDep, encode_cursor

router = APIRouter(prefix="/api/v1/records", tags=["persons"])

KIND = "person"


def _answer(person: Person, actor: ActorDep, *, status_code: int = 200) -> JSONResponse:
    return versioned(
        service.person_view(person, actor.principal),
        kind=KIND,
        object_id=person.id,
        version=person.version,
        status_code=status_code,
        location=f"/api/v1/records/persons/{person.id}" if status_code == 201 else None,
    )


def _for_change(
    session: SessionDep, actor: ActorDep, request: Request, person_id: Text, *, admin: bool = False
) -> Person:
    person = service.visible_person(session, actor=actor, person_id=person_id, audit=False)
    if admin:
        access.require_admin(actor.principal)
    else:
        access.require_write(actor.principal, person.station_id)
    require_if_match(request, KIND, person.id, person.version)
    return person


@router.post("/persons", status_code=201, summary="Add a person (409 with candidates if known)")
def create_person(
    payload: PersonCreate, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_write(actor.principal, actor.principal.station_id)
    idempotent = idempotent_create(
        session,
        request,
        subject=actor.subject,
        payload=payload.model_dump(mode="json", exclude_unset=True),
    )
    replay = idempotent.claim()
    if replay is not None:
        return replay
    person = service.create_person(session, actor=actor, payload=payload)
    answer = _answer(person, actor, status_code=201)
    idempotent.store(
        status_code=201,
        body=service.person_view(person, actor.principal),
        headers={"ETag": answer.headers["ETag"], "Location": answer.headers["Location"]},
    )
    return answer


@router.get("/persons", response_model=PersonPage, summary="Search persons by name")
def search_persons(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    name: Annotated[Text, Query(min_length=2, max_length=200)],
) -> PersonPage:
    """Typos and partial names are tolerated; best matches first."""
    access.require_read(actor.principal)
    if not access.sees_unmasked(actor.principal):
        raise Forbidden("Names are withheld from your role; search by incident instead.")
    limit = min(page.limit, 100)
    matches = search.search_names(session, query=name, limit=search.CANDIDATES)
    if page.cursor is not None:
        try:
            after_score, after_id = float(page.cursor[0]), str(page.cursor[1])
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is not valid; start again without it.") from exc
        matches = [m for m in matches if (-m.score, m.person_id) > (-after_score, after_id)]
    window = matches[: limit + 1]
    persons = {
        p.id: p
        for p in session.execute(
            select(Person).where(Person.id.in_([m.person_id for m in window[:limit]]))
        ).scalars()
    }
    items = []
    for match in window[:limit]:
        person = persons.get(match.person_id)
        if person is not None:
            items.append({**service.person_view(person, actor.principal), "score": match.score})
    next_cursor = None
    if len(window) > limit:
        last = window[limit - 1]
        next_cursor = encode_cursor([last.score, last.person_id])
    actor.audit(
        session,
        action="person.search",
        target_type="person",
        target_id=None,
        details={"query": name, "returned": [item["id"] for item in items]},
    )
    return PersonPage(items=items, next_cursor=next_cursor)


@router.get("/persons/{person_id}", summary="Read one person (audited)")
def read_person(person_id: Text, session: SessionDep, actor: ActorDep) -> JSONResponse:
    person = service.visible_person(session, actor=actor, person_id=person_id)
    return _answer(person, actor)


@router.get(
    "/persons/{person_id}/incidents",
    response_model=PersonIncidentPage,
    summary="The incidents a person is linked to, with their role (audited)",
)
def list_person_incidents(
    person_id: Text, session: SessionDep, actor: ActorDep, page: PageDep
) -> PersonIncidentPage:
    """One item per role: the incident as the incident list shows it (masked the same way for
    analysts) plus `role` and `link_id`; newest incident first. Deleted incidents are left
    out; sealed ones only for admin and supervisor (each such read audited)."""
    person = service.visible_person(session, actor=actor, person_id=person_id, audit=False)
    after = None
    if page.cursor is not None:
        try:
            after = (datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1]))
        except (IndexError, TypeError, ValueError) as exc:
            raise BadRequest("The cursor is not valid; start again without it.") from exc
        if after[0].tzinfo is None:
            raise BadRequest("The cursor is not valid; start again without it.")
    rows = service.person_incidents(
        session, principal=actor.principal, person=person, limit=page.limit, after=after
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last_link, last_incident = rows[-1]
        next_cursor = encode_cursor([last_incident.occurred_from.isoformat(), last_link.id])
    items = [
        {
            **incidents.incident_view(incident, actor.principal),
            "role": link.role,
            "link_id": link.id,
        }
        for link, incident in rows
    ]
    actor.audit(
        session,
        action="person.read",
        target_type=KIND,
        target_id=person.id,
        details={"view": "incidents", "incidents": [incident.id for _, incident in rows]},
    )
    for incident_id in dict.fromkeys(incident.id for _, incident in rows if incident.sealed):
        actor.audit(
            session, action="incident.read_sealed", target_type="incident", target_id=incident_id
        )
    return PersonIncidentPage(items=items, next_cursor=next_cursor)


@router.patch("/persons/{person_id}", summary="Edit a person")
def update_person(
    person_id: Text, payload: PersonUpdate, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    person = _for_change(session, actor, request, person_id)
    service.update_person(session, actor=actor, person=person, payload=payload)
    return _answer(person, actor)


@router.delete("/persons/{person_id}", status_code=204, summary="Soft-delete (admin, reason)")
def delete_person(
    person_id: Text,
    reason: Annotated[Text, Query(min_length=3, max_length=500)],
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    access.require_admin(actor.principal)
    person = _for_change(session, actor, request, person_id, admin=True)
    service.delete_person(session, actor=actor, person=person, reason=reason)
    return Response(status_code=204, headers={"ETag": etag_for(KIND, person.id, person.version)})


@router.post("/persons/{person_id}/restore", summary="Undo a soft delete (admin)")
def restore_person(
    person_id: Text, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_admin(actor.principal)
    person = _for_change(session, actor, request, person_id, admin=True)
    service.restore_person(session, actor=actor, person=person)
    return _answer(person, actor)


@router.get("/incidents/{incident_id}/persons", summary="Persons in an incident and their roles")
def list_incident_persons(incident_id: Text, session: SessionDep, actor: ActorDep) -> JSONResponse:
    incident = incidents.visible_incident(session, actor=actor, incident_id=incident_id)
    links = service.incident_links(session, incident=incident)
    items = [service.link_view(link, person, incident, actor.principal) for link, person in links]
    if links:
        actor.audit(
            session,
            action="incident.persons_read",
            target_type="incident",
            target_id=incident.id,
            details={"persons": [person.id for _, person in links]},
        )
    return JSONResponse({"items": items, "next_cursor": None})


@router.post(
    "/incidents/{incident_id}/persons", status_code=201, summary="Link a person with a role"
)
def link_person(
    incident_id: Text,
    payload: PersonLinkCreate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    incident = incidents.visible_incident(
        session, actor=actor, incident_id=incident_id, audit_read=False
    )
    access.require_write(actor.principal, incident.station_id)
    idempotent = idempotent_create(
        session,
        request,
        subject=actor.subject,
        payload=payload.model_dump(mode="json", exclude_unset=True),
    )
    replay = idempotent.claim()
    if replay is not None:
        return replay
    link, person = service.link_person(
        session,
        actor=actor,
        incident=incident,
        person_id=payload.person_id,
        role=payload.role,
        notes=payload.notes,
    )
    body = service.link_view(link, person, incident, actor.principal)
    idempotent.store(status_code=201, body=body, headers={})
    return JSONResponse(body, status_code=201)


@router.delete(
    "/incidents/{incident_id}/persons/{link_id}", status_code=204, summary="Remove a role"
)
def unlink_person(
    incident_id: Text, link_id: Text, session: SessionDep, actor: ActorDep
) -> Response:
    incident = incidents.visible_incident(
        session, actor=actor, incident_id=incident_id, audit_read=False
    )
    service.unlink_person(session, actor=actor, incident=incident, link_id=link_id)
    return Response(status_code=204)
