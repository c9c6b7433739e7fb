"""/livez, /readyz and /metrics for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

# Process-wide: set on the first SIGTERM so load balancers stop routing here before we stop.
DRAIN_STATE = {"draining": False}

ReadinessCheck = Callable[[Request], Awaitable[tuple[bool, Any]]]


def make_health_router() -> APIRouter:
    """Health and metrics routes; readiness checks come from `app.state.readiness_checks`."""
    router = APIRouter(tags=["health"])

    @router.get("/livez", summary="Liveness: the process answers")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: dependencies reachable, migrations at head")
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, Any] = {}
        ready = True
        if DRAIN_STATE["draining"]:
            ready = False
            checks["draining"] = {"ok": False, "detail": "shutting down"}
        named: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness_checks", {})
        results = await asyncio.gather(*(check(request) for check in named.values()))
        for name, (ok, detail) in zip(named, results, strict=True):
            checks[name] = {"ok": ok, "detail": detail}
            ready = ready and ok
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        registry = request.app.state.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


async def database_ready(request: Request) -> tuple[bool, Any]:
    """The database answers and its schema is at the newest migration."""
    from servicekit.migrations import is_at_head

    database = request.app.state.database
    location = request.app.state.migrations_path

    def check() -> tuple[bool, Any]:
        try:
            database.ping()
            if location is not None and not is_at_head(database.engine, location):
                return False, "migrations not at head; run `stationhouse migrate`"
        except Exception as exc:  # any driver error means not ready; never leak details
            return False, f"database unreachable ({type(exc).__name__})"
        return True, "ok"

    return await asyncio.to_thread(check)
