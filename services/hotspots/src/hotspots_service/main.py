"""The hotspots service's FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from hotspots_service.config import Settings
from hotspots_service.db import MIGRATIONS_PATH
from hotspots_service.jobs import JobRunner
from hotspots_service.router import router
from hotspots_service.service import task_table
from hotspots_service.sync import records_feed, sync_once
from servicekit.app import create_service_app
from servicekit.errors import ProblemError
from servicekit.logging import get_logger
from servicekit.security import JWKSVerifier

log = get_logger(__name__)


async def _periodic_sync(app: FastAPI, interval: float) -> None:
    """Pull the export feed every `interval` seconds, off the event loop."""
    await asyncio.sleep(min(5.0, interval))  # let records come up after a joint start
    while True:
        try:
            await anyio.to_thread.run_sync(sync_once, app.state.database, app.state.records_feed)
        except ProblemError:
            pass  # already logged and stored as last_error; try again next time
        except Exception:
            log.exception("sync.crashed")
        await asyncio.sleep(interval)


def create_app(
    settings: Settings | None = None, *, verifier: JWKSVerifier | None = None
) -> FastAPI:
    """Build the hotspots service (uvicorn factory: hotspots_service.main:create_app)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.job_runner = JobRunner(
            app.state.database, task_table(settings.epsg), workers=settings.job_workers
        )
        app.state.records_feed = records_feed(settings)
        task = None
        if app.state.records_feed is not None and settings.sync_interval_seconds > 0:
            task = asyncio.create_task(_periodic_sync(app, settings.sync_interval_seconds))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            app.state.job_runner.shutdown()
            if app.state.records_feed is not None:
                app.state.records_feed.close()

    return create_service_app(
        name="hotspots",
        settings=settings,
        routers=[router],
        migrations_path=MIGRATIONS_PATH,
        verifier=verifier,
        lifespan=lifespan,
    )
