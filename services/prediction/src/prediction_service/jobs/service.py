"""Training jobs: created by a request, run by a worker thread, one active job per model kind.

The partial unique index on (kind) for queued/running jobs makes the database refuse a second
active job of a kind, whichever replica tries. The replica that accepted a job starts it at once;
every replica also polls for queued jobs nobody claimed and fails running jobs whose worker
stopped sending heartbeats, so a crashed replica never blocks a kind forever.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prediction_service.audit import AuditEntry
from prediction_service.jobs.models import ACTIVE_STATUSES, TrainingJob
from prediction_service.jobs.training import (
    TrainingFailed,
    area_indicator_table,
    incident_frame,
    train_classifiers,
    train_forecasters,
)
from prediction_service.ml.classification import JobCancelled
from prediction_service.ml.threads import limit_native_threads
from prediction_service.registry.service import register_version
from prediction_service.timeutil import as_utc, parse_instant, utcnow
from servicekit.audit import append_audit
from servicekit.db import Database
from servicekit.errors import Conflict, NotFound
from servicekit.logging import get_logger

log = get_logger(__name__)

PROGRESS_EVERY_SECONDS = 1.0


class JobAlreadyActive(Conflict):
    type_slug, title = "job-already-active", "A job of this kind is already queued or running"


def create_job(session: Session, *, kind: str, params: dict[str, Any], actor: str) -> TrainingJob:
    """Queue a job; 409 if one of the same kind is queued or running (on any replica)."""
    job = TrainingJob(
        id=str(uuid.uuid4()),
        kind=kind,
        status="queued",
        progress=0.0,
        message="queued",
        params=params,
        result=None,
        cancel_requested=False,
        created_by=actor,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError as exc:
        active = session.scalar(
            select(TrainingJob.id).where(
                TrainingJob.kind == kind, TrainingJob.status.in_(ACTIVE_STATUSES)
            )
        )
        raise JobAlreadyActive(
            f"Job {active} of kind {kind} is already queued or running.", active_job_id=active
        ) from exc
    return job


def get_job(session: Session, job_id: str) -> TrainingJob:
    job = session.get(TrainingJob, job_id)
    if job is None:
        raise NotFound(f"No training job {job_id}.")
    return job


def request_cancel(session: Session, *, job: TrainingJob) -> TrainingJob:
    """A queued job is cancelled at once; a running one stops at its next checkpoint."""
    if job.status == "queued":
        job.status = "cancelled"
        job.message = "cancelled before it started"
        job.finished_at = utcnow()
    elif job.status == "running":
        job.cancel_requested = True
        job.message = "cancellation requested"
    else:
        raise Conflict(f"Job {job.id} has already finished ({job.status}).")
    session.flush()
    return job


class JobRunner:
    """Runs training jobs in worker threads of this replica."""

    def __init__(
        self,
        *,
        database: Database,
        key: bytes | None,
        stale_seconds: float,
        replica_id: str | None = None,
        ml_threads: int = 1,
    ) -> None:
        self.ml_threads = ml_threads
        self.database = database
        self.key = key
        self.stale_seconds = stale_seconds
        self.replica_id = (
            replica_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, job_id: str) -> None:
        """Run the job in a background thread if this replica can claim it."""
        with self._lock:
            if job_id in self._threads and self._threads[job_id].is_alive():
                return
            thread = threading.Thread(
                target=self.run, args=(job_id,), name=f"training-{job_id[:8]}", daemon=True
            )
            self._threads[job_id] = thread
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        for thread in list(self._threads.values()):
            thread.join(timeout)

    def supervise(self) -> None:
        """Fail jobs whose worker went silent; start queued jobs nobody has claimed."""
        stale_before = utcnow() - timedelta(seconds=self.stale_seconds)
        with self.database.session() as session:
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.status == "running", TrainingJob.heartbeat_at < stale_before)
                .values(
                    status="failed",
                    message="the worker stopped (no heartbeat)",
                    finished_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            queued = list(
                session.scalars(select(TrainingJob.id).where(TrainingJob.status == "queued"))
            )
        for job_id in queued:
            self.start(job_id)

    # -- inside the worker thread ----------------------------------------------------------
    def _claim(self, job_id: str) -> TrainingJob | None:
        now = utcnow()
        with self.database.session() as session:
            claimed = cast(
                "CursorResult[Any]",
                session.execute(
                    update(TrainingJob)
                    .where(TrainingJob.id == job_id, TrainingJob.status == "queued")
                    .values(
                        status="running",
                        owner=self.replica_id,
                        started_at=now,
                        heartbeat_at=now,
                        message="started",
                    )
                    .execution_options(synchronize_session=False)
                ),
            ).rowcount
            if claimed != 1:
                return None
            job = session.get(TrainingJob, job_id)
            assert job is not None
            session.expunge(job)
            return job

    def run(self, job_id: str) -> None:
        limit_native_threads(self.ml_threads)
        job = self._claim(job_id)
        if job is None:
            return
        log.info("job.started", job_id=job_id, kind=job.kind)
        last = {"at": 0.0, "cancel": False}

        def checkpoint(
            progress: float | None = None, message: str | None = None, *, force: bool = False
        ) -> bool:
            now = time.monotonic()
            if not force and now - last["at"] < PROGRESS_EVERY_SECONDS:
                return bool(last["cancel"])
            last["at"] = now
            values: dict[str, Any] = {"heartbeat_at": utcnow()}
            if progress is not None:
                values["progress"] = round(min(max(progress, 0.0), 1.0), 4)
            if message is not None:
                values["message"] = message[:500]
            with self.database.session() as session:
                session.execute(
                    update(TrainingJob)
                    .where(TrainingJob.id == job_id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                last["cancel"] = bool(
                    session.scalar(
                        select(TrainingJob.cancel_requested).where(TrainingJob.id == job_id)
                    )
                )
            return bool(last["cancel"])

        try:
            if checkpoint(0.0, "loading incidents", force=True):
                raise JobCancelled
            version_ids = self._train(job, lambda p, m: checkpoint(p, m), lambda: checkpoint())
            self._finish(
                job_id, "succeeded", "done", {"model_version_ids": version_ids}, progress=1.0
            )
            log.info("job.succeeded", job_id=job_id, versions=version_ids)
        except JobCancelled:
            self._finish(job_id, "cancelled", "cancelled on request", None)
            log.info("job.cancelled", job_id=job_id)
        except TrainingFailed as exc:
            self._finish(job_id, "failed", str(exc), {"error": str(exc)})
            log.info("job.failed", job_id=job_id, reason=str(exc))
        except Exception as exc:
            log.exception("job.crashed", job_id=job_id)
            self._finish(
                job_id,
                "failed",
                f"internal error: {type(exc).__name__}",
                {"error": type(exc).__name__},
            )

    def _finish(
        self,
        job_id: str,
        status: str,
        message: str,
        result: dict[str, Any] | None,
        progress: float | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "message": message,
            "result": result,
            "finished_at": utcnow(),
        }
        if progress is not None:
            values["progress"] = progress
        with self.database.session() as session:
            session.execute(
                update(TrainingJob)
                .where(TrainingJob.id == job_id, TrainingJob.status == "running")
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            job = session.get(TrainingJob, job_id)
            append_audit(
                session,
                AuditEntry,
                actor=job.created_by if job else "unknown",
                action=f"training_job.{status}",
                target_type="training_job",
                target_id=job_id,
                outcome="success" if status == "succeeded" else status,
                details={"kind": job.kind if job else None, **(result or {})},
            )

    def _train(self, job: TrainingJob, progress: Any, should_cancel: Any) -> list[str]:
        params = job.params
        data_to = parse_instant(params.get("data_to"))
        complete_to = min(data_to, utcnow()) if data_to is not None else utcnow()
        with self.database.session(write=False) as session:
            frame = incident_frame(
                session, data_from=parse_instant(params.get("data_from")), data_to=data_to
            )
            indicators = area_indicator_table(session)
        if job.kind == "classifier":
            trained = train_classifiers(
                frame,
                indicators=indicators,
                algorithms=list(params["algorithms"]),
                class_balanced=bool(params.get("class_balanced", False)),
                grids=params.get("grids"),
                progress=progress,
                should_cancel=should_cancel,
            )
        else:
            trained = train_forecasters(
                frame,
                freq="W" if job.kind == "forecast_week" else "M",
                horizon=int(params["horizon"]),
                algorithms=list(params["algorithms"]),
                evaluation_periods=int(params["evaluation_periods"]),
                progress=progress,
                should_cancel=should_cancel,
                complete_to=complete_to,
            )
        if should_cancel():
            raise JobCancelled
        ids = []
        with self.database.session() as session:
            for model in trained:
                row = register_version(
                    session,
                    kind=job.kind,
                    algorithm=model.algorithm,
                    class_balanced=model.class_balanced,
                    model=model.model,
                    params=model.params,
                    metrics=model.metrics,
                    model_card=model.model_card,
                    window_start=model.window_start,
                    window_end=model.window_end,
                    n_rows=model.n_rows,
                    job_id=job.id,
                    created_by=job.created_by,
                    key=self.key,
                )
                ids.append(row.id)
        return ids


def job_is_active(job: TrainingJob) -> bool:
    return job.status in ACTIVE_STATUSES


__all__ = ["JobRunner", "as_utc", "create_job", "get_job", "request_cancel"]
