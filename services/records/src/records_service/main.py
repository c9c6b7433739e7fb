"""The records service's FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.app import create_service_app
from servicekit.security import JWKSVerifier

from records_service.config import Settings
from records_service.db import MIGRATIONS_PATH
from records_service.export.router import router as export_router
from records_service.statistics.router import router as statistics_router


def create_app(
    settings: Settings | None = None, *, verifier: JWKSVerifier | None = None
) -> FastAPI:
    """Build the records service (uvicorn factory: records_service.main:create_app)."""
    settings = settings or Settings()
    return create_service_app(
        name="records",
        settings=settings,
        routers=[export_router, statistics_router],
        migrations_path=MIGRATIONS_PATH,
        verifier=verifier,
    )
