"""The prediction service's FastAPI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from prediction_service.config import Settings
from prediction_service.db import MIGRATIONS_PATH
from prediction_service.indicators.router import router as indicators_router
from prediction_service.inference.router import router as inference_router
from prediction_service.jobs.router import router as jobs_router
from prediction_service.jobs.service import JobRunner
from prediction_service.registry.artifacts import signing_key
from prediction_service.registry.router import router as registry_router
from prediction_service.registry.service import ModelCache
from prediction_service.sync.router import router as sync_router
from prediction_service.sync.service import IncidentSync
from servicekit.app import create_service_app
from servicekit.errors import ProblemError
from servicekit.logging import get_logger
from servicekit.security import JWKSVerifier

log = get_logger(__name__)


async def _every(seconds: float, name: str, work: object) -> None:
    """Run `work` (an async callable) every `seconds`, logging and surviving its failures."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()  # type: ignore[operator]
        except ProblemError as exc:
            log.warning(f"{name}.failed", error=exc.detail)
        except Exception:
            log.exception(f"{name}.crashed")


def create_app(
    settings: Settings | None = None, *, verifier: JWKSVerifier | None = None
) -> FastAPI:
    """Build the prediction service (uvicorn factory: prediction_service.main:create_app)."""
    settings = settings or Settings()
    key = signing_key(artifact_key=settings.artifact_key, client_secret=settings.client_secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = app.state.database
        app.state.artifact_key = key
        app.state.model_cache = ModelCache(key=key)
        app.state.job_runner = JobRunner(
            database=database,
            key=key,
            stale_seconds=settings.job_stale_seconds,
            replica_id=settings.replica_id,
            ml_threads=settings.ml_threads,
        )
        sync = IncidentSync(settings=settings, database=database)
        app.state.incident_sync = sync
        if key is None:
            log.warning("artifacts.unsigned", reason="no PREDICTION_ARTIFACT_KEY or client secret")
        tasks = []

        async def sync_once() -> None:
            try:
                await sync.run()
            except ProblemError as exc:
                await run_in_threadpool(sync.record_error, exc.detail)
                raise

        async def supervise() -> None:
            await run_in_threadpool(app.state.job_runner.supervise)

        if settings.sync_interval_seconds > 0 and sync.configured:
            tasks.append(
                asyncio.create_task(_every(settings.sync_interval_seconds, "sync", sync_once))
            )
        if settings.job_poll_seconds > 0:
            tasks.append(
                asyncio.create_task(_every(settings.job_poll_seconds, "jobs.supervise", supervise))
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            sync.close()

    return create_service_app(
        name="prediction",
        settings=settings,
        routers=[sync_router, indicators_router, jobs_router, registry_router, inference_router],
        migrations_path=MIGRATIONS_PATH,
        verifier=verifier,
        lifespan=lifespan,
    )
