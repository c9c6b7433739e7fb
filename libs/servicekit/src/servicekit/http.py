"""The shared httpx client: explicit timeouts, pooled connections, request ID passed on."""

from __future__ import annotations

from typing import Any

import httpx
import structlog


async def _add_request_id(request: httpx.Request) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and "x-request-id" not in request.headers:
        request.headers["x-request-id"] = request_id


def make_http_client(
    *,
    base_url: str = "",
    connect_timeout: float = 2.0,
    read_timeout: float = 10.0,
    write_timeout: float = 10.0,
    pool_timeout: float = 2.0,
    max_connections: int = 100,
    max_keepalive: int = 20,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An AsyncClient that never waits forever and forwards X-Request-ID."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
        ),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_keepalive
        ),
        event_hooks={"request": [_add_request_id]},
        **kwargs,
    )
