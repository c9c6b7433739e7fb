"""A real upstream for gateway tests, run as its own process: it echoes what arrived, answers
slowly or with a chosen status on request, and fails the first N attempts of a keyed call."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from servicekit.app import create_service_app
from servicekit.logging import get_logger
from servicekit.settings import ServiceSettings

log = get_logger("upstream")
router = APIRouter()
ATTEMPTS: dict[str, int] = {}


@router.api_route("/api/v1/{service}/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def echo(service: str, request: Request) -> dict[str, Any]:
    body = await request.body()
    log.info("upstream.echo", method=request.method)
    return {
        "service": service,
        "method": request.method,
        "query": str(request.url.query),
        "headers": dict(request.headers),
        "body_bytes": len(body),
        "body": body[:200].decode("utf-8", "replace"),
    }


@router.get("/api/v1/{service}/raw/{rest:path}")
async def raw(service: str, rest: str, request: Request) -> dict[str, Any]:
    """What arrived on the request line, before and after decoding."""
    return {
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "rest": rest,
    }


@router.get("/api/v1/{service}/slow")
async def slow(service: str, seconds: float = 1.0) -> dict[str, Any]:
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@router.get("/api/v1/{service}/stream")
async def stream(service: str, chunks: int = 5, delay: float = 0.05) -> StreamingResponse:
    async def parts() -> Any:
        for i in range(chunks):
            await asyncio.sleep(delay)
            yield f"chunk-{i}\n".encode()

    return StreamingResponse(parts(), media_type="text/plain")


@router.api_route("/api/v1/{service}/status/{code}", methods=["GET", "POST", "PUT"])
async def status(service: str, code: int) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "chosen", "status": code, "detail": "as asked"},
        status_code=code,
        media_type="application/problem+json",
    )


@router.api_route("/api/v1/{service}/flaky/{key}", methods=["GET", "POST", "PUT"])
async def flaky(service: str, key: str, failures: int = 1) -> JSONResponse:
    """Answer 503 to the first `failures` attempts with this key, then 200 with the count."""
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= failures:
        return JSONResponse({"attempt": ATTEMPTS[key]}, status_code=503)
    return JSONResponse({"attempt": ATTEMPTS[key]})


@router.get("/api/v1/{service}/attempts/{key}")
async def attempts(service: str, key: str) -> dict[str, int]:
    return {"attempts": ATTEMPTS.get(key, 0)}


@router.get("/api/v1/{service}/openapi.json")
async def service_openapi(service: str) -> dict[str, Any]:
    """What another service would publish: its own paths and an `Echo` schema of its own."""
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Stationhouse {service}", "version": "0.1.0"},
        "paths": {
            f"/api/v1/{service}/echo": {
                "get": {
                    "operationId": "echo",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Echo"}
                                }
                            },
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Echo": {"type": "object", "properties": {f"{service}_field": {"type": "string"}}}
            }
        },
    }


def create_app() -> FastAPI:
    app = create_service_app(
        name="records", settings=ServiceSettings(), routers=[router], use_database=False
    )
    return app
