"""Shaping answers: JSON bodies with the ETag of the version they show."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from records_service.concurrency import etag_for


def versioned(
    body: dict[str, Any],
    *,
    kind: str,
    object_id: str,
    version: int,
    status_code: int = 200,
    location: str | None = None,
) -> JSONResponse:
    headers = {"ETag": etag_for(kind, object_id, version)}
    if location is not None:
        headers["Location"] = location
    return JSONResponse(body, status_code=status_code, headers=headers)
