"""HTTP endpoints of the hotspots service under /api/v1/hotspots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from hotspots_service import service
from hotspots_service.jobs import QUEUED, RUNNING, JobRunner
from hotspots_service.models import AnalysisJob, SyncState
from hotspots_service.schemas import (
    AreaIndicatorsPublic,
    BacktestRequest,
    ClusterRequest,
    EmergingRequest,
    FairnessRequest,
    ForecastRequest,
    GridMapRequest,
    JobPublic,
    KdeRequest,
    SyncReportPublic,
    SyncStatePublic,
)
from hotspots_service.sync import FEED, sync_once
from servicekit.db import SessionDep
from servicekit.errors import Forbidden, ServiceUnavailable, UnsupportedMediaType
from servicekit.security import (
    ROLE_ADMIN,
    ROLE_ANALYST,
    STAFF_ROLES,
    Principal,
    require_roles,
)

router = APIRouter(prefix="/api/v1/hotspots", tags=["hotspots"])

Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
Analyst = Annotated[Principal, Depends(require_roles(ROLE_ADMIN, ROLE_ANALYST))]
Wait = Annotated[
    float, Query(ge=0, le=60, description="Seconds to wait for the result before answering 202")
]
Refresh = Annotated[bool, Query(description="Recompute even if a cached result exists")]
ANALYST_KINDS = frozenset({"backtest", "fairness"})


def _runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.job_runner
    return runner


def _public(job: AnalysisJob) -> JobPublic:
    return JobPublic(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        message=job.message,
        error=job.error,
        input_hash=job.input_hash,
        parameters=job.parameters,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=job.result,
    )


def _this_hour() -> datetime:
    """Default origin of forecasts: now, to the hour, so a cached answer lasts an hour at most."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _submit(
    request: Request,
    response: Response,
    *,
    kind: str,
    body: BaseModel,
    principal: Principal,
    wait: float,
    refresh: bool,
) -> JobPublic:
    runner = _runner(request)
    parameters: dict[str, Any] = body.model_dump(mode="json")
    job = runner.submit(kind=kind, parameters=parameters, actor=principal.subject, refresh=refresh)
    if wait > 0:
        job = runner.wait(job.id, seconds=wait)
    response.headers["Location"] = f"/api/v1/hotspots/jobs/{job.id}"
    response.status_code = 202 if job.status in (QUEUED, RUNNING) else 200
    return _public(job)


@router.post("/clusters", response_model=JobPublic, status_code=202)
def clusters(
    body: ClusterRequest,
    request: Request,
    response: Response,
    principal: Staff,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """K-means, DBSCAN or HDBSCAN of the filtered incidents; result is GeoJSON cluster hulls."""
    return _submit(
        request,
        response,
        kind="clusters",
        body=body,
        principal=principal,
        wait=wait,
        refresh=refresh,
    )


@router.post("/maps/grid", response_model=JobPublic, status_code=202)
def grid_map(
    body: GridMapRequest,
    request: Request,
    response: Response,
    principal: Staff,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """Square-grid counts with Getis-Ord Gi* and FDR-corrected significance."""
    return _submit(
        request,
        response,
        kind="grid_map",
        body=body,
        principal=principal,
        wait=wait,
        refresh=refresh,
    )


@router.post("/maps/kde", response_model=JobPublic, status_code=202)
def kde_map(
    body: KdeRequest,
    request: Request,
    response: Response,
    principal: Staff,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """Kernel density surface on a grid."""
    return _submit(
        request, response, kind="kde", body=body, principal=principal, wait=wait, refresh=refresh
    )


@router.post("/maps/emerging", response_model=JobPublic, status_code=202)
def emerging(
    body: EmergingRequest,
    request: Request,
    response: Response,
    principal: Staff,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """Emerging-hotspot pattern per cell from Gi* over time slices and Mann-Kendall."""
    if body.end is None:
        body = body.model_copy(update={"end": _this_hour()})
    return _submit(
        request,
        response,
        kind="emerging",
        body=body,
        principal=principal,
        wait=wait,
        refresh=refresh,
    )


@router.post("/forecasts", response_model=JobPublic, status_code=202)
def forecast(
    body: ForecastRequest,
    request: Request,
    response: Response,
    principal: Staff,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """Top-risk cells for the next day, week or month covering a share of the area."""
    if body.as_of is None:
        body = body.model_copy(update={"as_of": _this_hour()})
    return _submit(
        request,
        response,
        kind="forecast",
        body=body,
        principal=principal,
        wait=wait,
        refresh=refresh,
    )


@router.post("/backtests", response_model=JobPublic, status_code=202)
def backtests(
    body: BacktestRequest,
    request: Request,
    response: Response,
    principal: Analyst,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """Rolling-origin backtest: hit rate, PAI and PEI beside the naive baseline."""
    return _submit(
        request,
        response,
        kind="backtest",
        body=body,
        principal=principal,
        wait=wait,
        refresh=refresh,
    )


@router.post("/fairness", response_model=JobPublic, status_code=202)
def fairness(
    body: FairnessRequest,
    request: Request,
    response: Response,
    principal: Analyst,
    wait: Wait = 0,
    refresh: Refresh = False,
) -> JobPublic:
    """Flagged cells versus recorded crime across area indicators, and a feedback simulation."""
    if body.as_of is None:
        body = body.model_copy(update={"as_of": _this_hour()})
    return _submit(
        request,
        response,
        kind="fairness",
        body=body,
        principal=principal,
        wait=wait,
        refresh=refresh,
    )


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job(job_id: str, request: Request, principal: Staff, wait: Wait = 0) -> JobPublic:
    """A job's status and progress, and its result once it succeeded."""
    runner = _runner(request)
    job = runner.wait(job_id, seconds=wait) if wait > 0 else runner.get(job_id)
    if job.kind in ANALYST_KINDS and not principal.has_any(ROLE_ADMIN, ROLE_ANALYST):
        raise Forbidden("Only analysts and administrators may read evaluation jobs.")
    return _public(job)


@router.get("/sync", response_model=SyncStatePublic)
def sync_state(session: SessionDep, _principal: Staff) -> SyncStatePublic:
    """Where our copy of the records export feed stands."""
    state = session.get(SyncState, FEED)
    return SyncStatePublic(
        cursor=state.cursor if state else None,
        data_version=state.data_version if state else 0,
        applied_total=state.applied_total if state else 0,
        deleted_total=state.deleted_total if state else 0,
        last_synced_at=state.last_synced_at if state else None,
        last_error=state.last_error if state else None,
        incident_points=service.count_points(session),
    )


@router.post("/sync", response_model=SyncReportPublic)
def run_sync(
    request: Request,
    _principal: Analyst,
    max_pages: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> SyncReportPublic:
    """Pull what changed in records since our cursor (runs until caught up or max_pages)."""
    feed = request.app.state.records_feed
    if feed is None:
        raise ServiceUnavailable(
            "The records feed is not configured (HOTSPOTS_AUTH_URL, HOTSPOTS_RECORDS_URL, "
            "HOTSPOTS_CLIENT_SECRET)."
        )
    report = sync_once(request.app.state.database, feed, max_pages=max_pages)
    return SyncReportPublic(
        pages=report.pages,
        upserted=report.upserted,
        deleted=report.deleted,
        cursor=report.cursor,
        data_version=report.data_version,
    )


def _indicators(session: SessionDep) -> AreaIndicatorsPublic:
    from hotspots_service.models import AreaIndicator

    values: dict[str, dict[str, float]] = {}
    for row in session.scalars(select(AreaIndicator)):
        values.setdefault(row.area, {})[row.indicator] = row.value
    names = sorted({name for per_area in values.values() for name in per_area})
    return AreaIndicatorsPublic(areas=len(values), indicators=names, values=values)


@router.put("/area-indicators", response_model=AreaIndicatorsPublic)
async def put_area_indicators(
    request: Request, session: SessionDep, principal: Analyst
) -> AreaIndicatorsPublic:
    """Replace the area indicators with a CSV (text/csv): `area,<indicator>,...`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise UnsupportedMediaType("Send the indicators as text/csv.")
    body = await request.body()
    service.replace_indicators(session, body=body, actor=principal.subject)
    return _indicators(session)


@router.get("/area-indicators", response_model=AreaIndicatorsPublic)
def get_area_indicators(session: SessionDep, _principal: Staff) -> AreaIndicatorsPublic:
    """The area indicators used by the fairness report."""
    return _indicators(session)
