"""Case endpoints: /api/v1/records/cases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from records_service import access
from records_service.audit import ActorDep
from records_service.cases import service
from records_service.cases.models import Case
from records_service.cases.schemas import (
    CaseAssign,
    CaseCreate,
    CaseIncidentLink,
    CasePage,
    CaseStatusChange,
    CaseUpdate,
    DiaryEntryCreate,
    DiaryPage,
)
from records_service.concurrency import etag_for, require_if_match
from records_service.idempotency import idempotent_create
from records_service.responses import versioned
from records_service.validation import Text
from servicekit.db import SessionDep
from servicekit.errors import BadRequest
from servicekit.pagination import PageDep, encode_cursor

router = APIRouter(prefix="/api/v1/records/cases", tags=["cases"])

KIND = "case"


def _answer(
    session: SessionDep, case: Case, actor: ActorDep, *, status_code: int = 200
) -> JSONResponse:
    return versioned(
        service.case_view(session, case, actor.principal),
        kind=KIND,
        object_id=case.id,
        version=case.version,
        status_code=status_code,
        location=f"/api/v1/records/cases/{case.id}" if status_code == 201 else None,
    )


def _for_change(
    session: SessionDep, actor: ActorDep, request: Request, case_id: Text, *, admin: bool = False
) -> Case:
    case = service.visible_case(session, actor=actor, case_id=case_id)
    if admin:
        access.require_admin(actor.principal)
    else:
        service.require_case_writer(actor.principal, case)
    require_if_match(request, KIND, case.id, case.version)
    return case


@router.post("", status_code=201, summary="Open a case on one or more incidents")
def create_case(
    payload: CaseCreate, request: Request, session: SessionDep, actor: ActorDep
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
    case = service.create_case(session, actor=actor, payload=payload)
    answer = _answer(session, case, actor, status_code=201)
    idempotent.store(
        status_code=201,
        body=service.case_view(session, case, actor.principal),
        headers={"ETag": answer.headers["ETag"], "Location": answer.headers["Location"]},
    )
    return answer


@router.get("", response_model=CasePage, summary="List cases, newest first")
def list_cases(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    station_id: Annotated[Text | None, Query(max_length=64)] = None,
    assigned_officer: Annotated[Text | None, Query(max_length=128)] = None,
    status: Annotated[Text | None, Query(max_length=16)] = None,
) -> CasePage:
    access.require_read(actor.principal)
    after = None
    if page.cursor is not None:
        try:
            after = (datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1]))
        except (IndexError, ValueError) as exc:
            raise BadRequest("The cursor is not valid; start again without it.") from exc
    rows = service.list_cases(
        session,
        principal=actor.principal,
        station_id=station_id,
        assigned_officer=assigned_officer,
        status=status,
        limit=page.limit,
        after=after,
    )
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id])
    return CasePage(
        items=[service.case_view(session, row, actor.principal) for row in rows],
        next_cursor=next_cursor,
    )


@router.get("/{case_id}", summary="Read a case")
def read_case(case_id: Text, session: SessionDep, actor: ActorDep) -> JSONResponse:
    case = service.visible_case(session, actor=actor, case_id=case_id)
    return _answer(session, case, actor)


@router.patch("/{case_id}", summary="Edit title or summary")
def update_case(
    case_id: Text, payload: CaseUpdate, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    case = _for_change(session, actor, request, case_id)
    service.update_case(session, actor=actor, case=case, payload=payload)
    return _answer(session, case, actor)


@router.post("/{case_id}/assign", summary="Assign the case to an officer (supervisor)")
def assign_case(
    case_id: Text, payload: CaseAssign, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_privileged(actor.principal)
    case = _for_change(session, actor, request, case_id)
    service.assign_case(session, actor=actor, case=case, officer=payload.assigned_officer)
    return _answer(session, case, actor)


@router.post("/{case_id}/incidents", summary="Link another incident")
def link_incident(
    case_id: Text,
    payload: CaseIncidentLink,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    case = _for_change(session, actor, request, case_id)
    service.link_incident(session, actor=actor, case=case, incident_id=payload.incident_id)
    return _answer(session, case, actor)


@router.post("/{case_id}/status", summary="Change the case status (closing: supervisor)")
def change_status(
    case_id: Text,
    payload: CaseStatusChange,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    case = _for_change(session, actor, request, case_id)
    service.change_case_status(session, actor=actor, case=case, status=payload.status)
    return _answer(session, case, actor)


@router.delete("/{case_id}", status_code=204, summary="Soft-delete (admin, with reason)")
def delete_case(
    case_id: Text,
    reason: Annotated[Text, Query(min_length=3, max_length=500)],
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> Response:
    access.require_admin(actor.principal)
    case = _for_change(session, actor, request, case_id, admin=True)
    service.delete_case(session, actor=actor, case=case, reason=reason)
    return Response(status_code=204, headers={"ETag": etag_for(KIND, case.id, case.version)})


@router.post("/{case_id}/restore", summary="Undo a soft delete (admin)")
def restore_case(
    case_id: Text, request: Request, session: SessionDep, actor: ActorDep
) -> JSONResponse:
    access.require_admin(actor.principal)
    case = _for_change(session, actor, request, case_id, admin=True)
    service.restore_case(session, actor=actor, case=case)
    return _answer(session, case, actor)


@router.post("/{case_id}/diary", status_code=201, summary="Add a dated diary entry")
def add_diary_entry(
    case_id: Text,
    payload: DiaryEntryCreate,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
) -> JSONResponse:
    case = service.visible_case(session, actor=actor, case_id=case_id)
    service.require_case_writer(actor.principal, case)
    idempotent = idempotent_create(
        session,
        request,
        subject=actor.subject,
        payload=payload.model_dump(mode="json", exclude_unset=True),
    )
    replay = idempotent.claim()
    if replay is not None:
        return replay
    entry = service.add_diary_entry(
        session, actor=actor, case=case, entry_at=payload.entry_at, text=payload.text
    )
    body = service.diary_view(entry, actor.principal)
    idempotent.store(status_code=201, body=body, headers={})
    return JSONResponse(body, status_code=201)


@router.get("/{case_id}/diary", response_model=DiaryPage, summary="The case diary, oldest first")
def list_diary(case_id: Text, session: SessionDep, actor: ActorDep, page: PageDep) -> DiaryPage:
    case = service.visible_case(session, actor=actor, case_id=case_id)
    after = None
    if page.cursor is not None:
        try:
            after = (datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1]))
        except (IndexError, ValueError) as exc:
            raise BadRequest("The cursor is not valid; start again without it.") from exc
    rows = service.diary_entries(session, case=case, limit=page.limit, after=after)
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].entry_at.isoformat(), rows[-1].id])
    return DiaryPage(
        items=[service.diary_view(row, actor.principal) for row in rows], next_cursor=next_cursor
    )
