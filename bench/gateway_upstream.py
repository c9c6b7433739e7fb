"""The upstream for bench/gateway_overhead.py: a service built exactly like Stationhouse's
(servicekit's create_service_app: request IDs, access log, metrics, problem+json) with one small
JSON route, so the numbers measure forwarding rather than a database."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from servicekit.app import create_service_app
from servicekit.settings import ServiceSettings

router = APIRouter()
INCIDENT = {
    "id": "6f1d2c0e-0000-4000-8000-000000000001",
    "crime_id": "CR-2026-000001",
    "category": "burglary",
    "status": "reported",
    "lat": 43.65,
    "lon": -79.38,
}


@router.get("/api/v1/records/bench/incident")
async def incident() -> dict[str, object]:
    return INCIDENT


PAGE = {
    "items": [
        {
            **INCIDENT,
            "id": f"6f1d2c0e-0000-4000-8000-{i:012d}",
            "crime_id": f"CR-2026-{i:06d}",
            "narrative": "Rear window forced; laptop and jewellery taken. " * 4,
        }
        for i in range(50)
    ],
    "next_cursor": None,
}


@router.get("/api/v1/records/bench/incidents")
async def incidents() -> dict[str, object]:
    """A page of 50 incidents (~20 KB of JSON), serialised on every call like a real list."""
    return PAGE


def create_app() -> FastAPI:
    return create_service_app(
        name="records", settings=ServiceSettings(), routers=[router], use_database=False
    )
