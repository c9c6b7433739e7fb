"""Training jobs: start (202), follow progress, cancel."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status
from sqlalchemy import select

from prediction_service.audit import AuditEntry
from prediction_service.dependencies import Trainer, client_ip, request_id
from prediction_service.jobs.models import TrainingJob
from prediction_service.jobs.schemas import JobCreate, JobPublic
from prediction_service.jobs.service import JobRunner, create_job, get_job, request_cancel
from prediction_service.timeutil import as_utc, parse_instant
from servicekit.audit import append_audit
from servicekit.db import SessionDep
from servicekit.pagination import Page, PageDep, make_page

router = APIRouter(prefix="/api/v1/prediction/jobs", tags=["training jobs"])


def to_public(job: TrainingJob) -> JobPublic:
    return JobPublic(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        message=job.message,
        params=job.params,
        result=job.result,
        cancel_requested=job.cancel_requested,
        created_by=job.created_by,
        created_at=as_utc(job.created_at),
        started_at=as_utc(job.started_at),
        finished_at=as_utc(job.finished_at),
    )


@router.post("", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED)
def start_job(
    body: JobCreate,
    request: Request,
    principal: Trainer,
    session: SessionDep,
    background: BackgroundTasks,
) -> JobPublic:
    """Queue a training job; it runs in a worker thread. 409 if one of the kind is active."""
    job = create_job(session, kind=body.kind, params=body.job_params(), actor=principal.subject)
    append_audit(
        session,
        AuditEntry,
        actor=principal.subject,
        actor_roles=principal.roles,
        action="training_job.created",
        target_type="training_job",
        target_id=job.id,
        source_ip=client_ip(request),
        request_id=request_id(),
        details={"kind": job.kind, "params": job.params},
    )
    runner: JobRunner = request.app.state.job_runner
    # Runs after the response, i.e. after the job row is committed and visible to the worker.
    background.add_task(runner.start, job.id)
    return to_public(job)


@router.get("", response_model=Page[JobPublic])
def list_jobs(
    principal: Trainer, session: SessionDep, page: PageDep, kind: str | None = None
) -> Page[JobPublic]:
    """Jobs, newest first."""
    query = (
        select(TrainingJob)
        .order_by(TrainingJob.created_at.desc(), TrainingJob.id.desc())
        .limit(page.limit + 1)
    )
    if kind:
        query = query.where(TrainingJob.kind == kind)
    if page.cursor:
        created, job_id = parse_instant(str(page.cursor[0])), str(page.cursor[1])
        query = query.where(
            (TrainingJob.created_at < created)
            | ((TrainingJob.created_at == created) & (TrainingJob.id < job_id))
        )
    items = [to_public(j) for j in session.scalars(query)]
    return make_page(items, limit=page.limit, key=lambda j: [j.created_at.isoformat(), j.id])


@router.get("/{job_id}", response_model=JobPublic)
def read_job(job_id: str, principal: Trainer, session: SessionDep) -> JobPublic:
    return to_public(get_job(session, job_id))


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: str, request: Request, principal: Trainer, session: SessionDep) -> JobPublic:
    """Cancel a queued job now, or ask a running one to stop at its next checkpoint."""
    job = request_cancel(session, job=get_job(session, job_id))
    append_audit(
        session,
        AuditEntry,
        actor=principal.subject,
        actor_roles=principal.roles,
        action="training_job.cancel_requested",
        target_type="training_job",
        target_id=job.id,
        source_ip=client_ip(request),
        request_id=request_id(),
    )
    return to_public(job)
