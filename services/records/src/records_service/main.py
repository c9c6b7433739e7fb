"""The records service's FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from records_service.admin.router import router as admin_router
from records_service.audit import install_denial_audit
from records_service.cases.router import router as cases_router
from records_service.complaints.router import router as complaints_router
from records_service.config import Settings
from records_service.db import MIGRATIONS_PATH
from records_service.documents.router import router as documents_router
from records_service.documents.storage import make_store
from records_service.export.router import router as export_router
from records_service.imports.router import router as imports_router
from records_service.incidents.router import router as incidents_router
from records_service.persons.router import router as persons_router
from records_service.statistics.router import router as statistics_router
from servicekit.app import create_service_app
from servicekit.security import JWKSVerifier


def create_app(
    settings: Settings | None = None, *, verifier: JWKSVerifier | None = None
) -> FastAPI:
    """Build the records service (uvicorn factory: records_service.main:create_app)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.document_store = make_store(settings)
        yield

    app = create_service_app(
        name="records",
        settings=settings,
        routers=[
            incidents_router,
            persons_router,
            cases_router,
            documents_router,
            admin_router,
            export_router,
            statistics_router,
            imports_router,
            complaints_router,
        ],
        migrations_path=MIGRATIONS_PATH,
        verifier=verifier,
        lifespan=lifespan,
    )
    install_denial_audit(app)
    return app
