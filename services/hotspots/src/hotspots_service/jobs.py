"""Analysis jobs: run in worker threads, report progress, cache results per input hash."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from hotspots_service.models import AnalysisJob
from hotspots_service.sync import data_version
from servicekit.db import Database
from servicekit.errors import NotFound, ProblemError
from servicekit.logging import get_logger

log = get_logger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
Progress = Callable[[float, str], None]
Task = Callable[[Database, dict[str, Any], Progress], dict[str, Any]]


def input_hash(kind: str, parameters: dict[str, Any], version: int) -> str:
    """Same kind, same parameters and the same copy of the data give the same hash."""
    canonical = json.dumps(
        {"kind": kind, "parameters": parameters, "data_version": version},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class JobRunner:
    """Submits analysis tasks to a thread pool; the job row is the source of truth."""

    def __init__(self, database: Database, tasks: dict[str, Task], *, workers: int = 1) -> None:
        self.database = database
        self.tasks = tasks
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hotspots-job")

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    def submit(
        self, *, kind: str, parameters: dict[str, Any], actor: str, refresh: bool = False
    ) -> AnalysisJob:
        """A finished or running job with the same input hash, else a new queued job."""
        with self.database.session() as session:
            digest = input_hash(kind, parameters, data_version(session))
            if not refresh:
                existing = session.scalars(
                    select(AnalysisJob)
                    .where(
                        AnalysisJob.input_hash == digest,
                        AnalysisJob.status.in_((QUEUED, RUNNING, SUCCEEDED)),
                    )
                    .order_by(AnalysisJob.created_at.desc())
                    .limit(1)
                ).first()
                if existing is not None:
                    return existing
            job = AnalysisJob(
                id=str(uuid.uuid4()),
                kind=kind,
                input_hash=digest,
                parameters=parameters,
                status=QUEUED,
                progress=0.0,
                created_by=actor,
                created_at=datetime.now(UTC),
            )
            session.add(job)
        self.executor.submit(self._run, job.id)
        log.info("job.queued", job_id=job.id, kind=kind)
        return job

    def _set(self, job_id: str, **values: Any) -> None:
        with self.database.session() as session:
            job = session.get(AnalysisJob, job_id)
            if job is not None:
                for key, value in values.items():
                    setattr(job, key, value)

    def _run(self, job_id: str) -> None:
        with self.database.session(write=False) as session:
            job = session.get(AnalysisJob, job_id)
            if job is None:
                return
            kind, parameters = job.kind, dict(job.parameters)
        self._set(job_id, status=RUNNING, started_at=datetime.now(UTC), message="started")
        last_write = 0.0

        def progress(fraction: float, message: str) -> None:
            nonlocal last_write
            now = time.monotonic()
            if now - last_write >= 0.5:
                last_write = now
                self._set(
                    job_id, progress=round(min(max(fraction, 0.0), 1.0), 4), message=message[:500]
                )

        started = time.perf_counter()
        try:
            result = self.tasks[kind](self.database, parameters, progress)
        except (ValueError, ProblemError) as exc:
            detail = exc.detail if isinstance(exc, ProblemError) else str(exc)
            self._set(
                job_id, status=FAILED, error=detail, finished_at=datetime.now(UTC), message="failed"
            )
            log.info("job.failed", job_id=job_id, kind=kind, error=detail)
            return
        except Exception:
            log.exception("job.crashed", job_id=job_id, kind=kind)
            self._set(
                job_id,
                status=FAILED,
                error="The analysis failed; it has been logged.",
                finished_at=datetime.now(UTC),
                message="failed",
            )
            return
        self._set(
            job_id,
            status=SUCCEEDED,
            result=result,
            progress=1.0,
            message="done",
            finished_at=datetime.now(UTC),
        )
        log.info(
            "job.succeeded",
            job_id=job_id,
            kind=kind,
            seconds=round(time.perf_counter() - started, 3),
        )

    def get(self, job_id: str) -> AnalysisJob:
        with self.database.session(write=False) as session:
            job = session.get(AnalysisJob, job_id)
            if job is None:
                raise NotFound("No such job.")
            return job

    def wait(self, job_id: str, *, seconds: float) -> AnalysisJob:
        """The job once it has finished, or as it stands after `seconds`."""
        deadline = time.monotonic() + seconds
        job = self.get(job_id)
        while job.status in (QUEUED, RUNNING) and time.monotonic() < deadline:
            time.sleep(0.05)
            job = self.get(job_id)
        return job
