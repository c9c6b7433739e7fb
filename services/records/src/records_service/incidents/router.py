"""Incident endpoints: /api/v1/records/incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from records_service import access
from records_service.audit import ActorDep
from records_service.concurrency import etag_for, require_if_match
from records_service.idempotency import idempotent_create
from records_service.incidents import service
from records_service.incidents.models import Incident
from records_service.incidents.schemas import (
    IncidentAmendment,
    IncidentCreate,
    IncidentPage,
    IncidentUpdate,
    ReviewAction,
    SealRequest,
    StatusChange,
)
from records_service.responses import versioned
from records_service.validation import FilterTime, Text
from servicekit.db import SessionDep
from servicekit.errors import BadRequest
from servicekit.pagination import PageDep, encode_cursor

router = APIRouter(prefix="/api/v1/records/incidents", tags=["incidents"])

KIND = "incident"


def _answer(incident: Incident, actor: ActorDep, *, status_code: int = 200) -> JSONResponse:
    return versioned(
        service.incident_view(incident, actor.principal),
        kind=KIND,
        object_id=incident.id,
        version=incident.version,
        status_code=status_code,
        location=f"/api/v1/records/incidents/{incident.id}" if status_code == 201 else None,
    )


def _for_change(
    session: SessionDep,
    actor: ActorDep,
    request: Request,
    incident_id: Text,
    *,
    privileged: bool = False,
) -> Incident:
    """Load for a change: who may change it is checked before the ETag (403 before 428/412)."""
    incident = service.visible_incident(
        session, actor=actor, incident_id=incident_id, audit_read=False
    )
    if privileged:
        access.require_privileged(actor.principal)
    else:
        access.require_write(actor.principal, incident.station_id)
    require_if_match(request, KIND, incident.id, incident.version)
    return incident


@router.post("", status_code=201, summary="File an incident (draft)")
def create_incident(
    payload: IncidentCreate, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_write(actor.principal, payload.station_id or actor.principal.station_id)
    idempotent = idempotent_create(
        session,
        request,
        subject=actor.subject,
        payload=payload.model_dump(mode="json", exclude_unset=True),
    )
    replay = idempotent.claim()
    if replay is not None:
        return replay
    incident = service.create_incident(session, actor=actor, payload=payload)
    answer = _answer(incident, actor, status_code=201)
    idempotent.store(
        status_code=201,
        body=service.incident_view(incident, actor.principal),
        headers={"ETag": answer.headers["ETag"], "Location": answer.headers["Location"]},
    )
    return answer


@router.get("", response_model=IncidentPage, summary="List and filter incidents")
def list_incidents(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    crime_id: Annotated[Text | None, Query(max_length=32)] = None,
    category: Annotated[Text | None, Query(max_length=32)] = None,
    status: Annotated[Text | None, Query(max_length=32)] = None,
    review_status: Annotated[Text | None, Query(max_length=16)] = None,
    station_id: Annotated[Text | None, Query(max_length=64)] = None,
    area: Annotated[Text | None, Query(max_length=200)] = None,
    occurred_after: FilterTime | None = None,
    occurred_before: FilterTime | None = None,
    min_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    min_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    max_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    max_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    include_deleted: bool = False,
) -> IncidentPage:
    access.require_read(actor.principal)
    corners = (min_lat, min_lon, max_lat, max_lon)
    if any(c is not None for c in corners) and any(c is None for c in corners):
        raise BadRequest("A bounding box needs min_lat, min_lon, max_lat and max_lon.")
    for moment in (occurred_after, occurred_before):
        if moment is not None and moment.tzinfo is None:
            raise BadRequest("Times need a UTC offset, e.g. 2026-01-01T00:00:00Z.")
    filters = service.IncidentFilters(
        crime_id=crime_id,
        category=category,
        status=status,
        review_status=review_status,
        station_id=station_id,
        area=area,
        occurred_after=occurred_after,
        occurred_before=occurred_before,
        bbox=corners if all(c is not None for c in corners) else None,  # type: ignore[arg-type]
        include_deleted=include_deleted,
    )
    after = None
    if page.cursor is not None:
        try:
            after = (datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1]))
        except (IndexError, ValueError) as exc:
            raise BadRequest("The cursor is not valid; start again without it.") from exc
    rows = service.list_incidents(
        session, principal=actor.principal, filters=filters, limit=page.limit, after=after
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.occurred_from.isoformat(), last.id])
    items = [service.incident_view(row, actor.principal) for row in rows]
    for row in rows:
        if row.sealed:
            actor.audit(session, action="incident.read_sealed", target_type=KIND, target_id=row.id)
    return IncidentPage(items=items, next_cursor=next_cursor)


@router.get("/{incident_id}", summary="Read one incident")
def read_incident(incident_id: Text, session: SessionDep, actor: ActorDep) -> JSONResponse:
    incident = service.visible_incident(session, actor=actor, incident_id=incident_id)
    return _answer(incident, actor)


@router.patch("/{incident_id}", summary="Edit a report that is not yet approved")
def update_incident(
    incident_id: Text,
    payload: IncidentUpdate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    incident = _for_change(session, actor, request, incident_id)
    service.update_incident(session, actor=actor, incident=incident, payload=payload)
    return _answer(incident, actor)


@router.post("/{incident_id}/amendments", summary="Amend an approved report, with a reason")
def amend_incident(
    incident_id: Text,
    payload: IncidentAmendment,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    incident = _for_change(session, actor, request, incident_id)
    service.amend_incident(
        session, actor=actor, incident=incident, reason=payload.reason, payload=payload.changes
    )
    return _answer(incident, actor)


@router.post("/{incident_id}/review", summary="Submit, approve or return a report")
def review_incident(
    incident_id: Text,
    payload: ReviewAction,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    incident = _for_change(
        session, actor, request, incident_id, privileged=payload.action != "submit"
    )
    service.review_incident(
        session, actor=actor, incident=incident, action=payload.action, note=payload.note
    )
    return _answer(incident, actor)


@router.post("/{incident_id}/status", summary="Change the investigation status")
def change_status(
    incident_id: Text,
    payload: StatusChange,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    incident = _for_change(session, actor, request, incident_id)
    service.change_status(session, actor=actor, incident=incident, status=payload.status)
    return _answer(incident, actor)


@router.post("/{incident_id}/seal", summary="Seal a record (court order)")
def seal_incident(
    incident_id: Text,
    payload: SealRequest,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    access.require_privileged(actor.principal)
    incident = _for_change(session, actor, request, incident_id, privileged=True)
    service.seal_incident(
        session, actor=actor, incident=incident, sealed=True, reason=payload.reason
    )
    return _answer(incident, actor)


@router.post("/{incident_id}/unseal", summary="Lift a seal")
def unseal_incident(
    incident_id: Text,
    payload: SealRequest,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    access.require_privileged(actor.principal)
    incident = _for_change(session, actor, request, incident_id, privileged=True)
    service.seal_incident(
        session, actor=actor, incident=incident, sealed=False, reason=payload.reason
    )
    return _answer(incident, actor)


@router.delete("/{incident_id}", status_code=204, summary="Soft-delete (admin, with reason)")
def delete_incident(
    incident_id: Text,
    reason: Annotated[Text, Query(min_length=3, max_length=500)],
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    access.require_admin(actor.principal)
    incident = _for_change(session, actor, request, incident_id, privileged=True)
    service.delete_incident(session, actor=actor, incident=incident, reason=reason)
    return Response(
        status_code=204, headers={"ETag": etag_for(KIND, incident.id, incident.version)}
    )


@router.post("/{incident_id}/restore", summary="Undo a soft delete (admin)")
def restore_incident(
    incident_id: Text, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_admin(actor.principal)
    incident = _for_change(session, actor, request, incident_id, privileged=True)
    service.restore_incident(session, actor=actor, incident=incident)
    return _answer(incident, actor)
