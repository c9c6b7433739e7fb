"""Forward /api/v1/<service>/... to its upstream, streaming bodies both ways."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from servicekit.errors import NotFound, ProblemError, ServiceUnavailable
from servicekit.logging import get_logger

log = get_logger(__name__)

# RFC 9110 7.6.1: connection-specific headers are not forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class UpstreamTimeout(ProblemError):
    status, type_slug, title = 504, "upstream-timeout", "The service took too long to answer"


router = APIRouter()


def _forward_headers(request: Request) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
    headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
    headers.append(("x-request-id", request.state.request_id))
    client_host = request.client.host if request.client else ""
    forwarded_for = request.headers.get("x-forwarded-for")
    headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
    headers.append(
        ("x-forwarded-for", f"{forwarded_for}, {client_host}" if forwarded_for else client_host)
    )
    return headers


def _has_body(request: Request) -> bool:
    return "content-length" in request.headers or "transfer-encoding" in request.headers


@router.api_route(
    "/api/v1/{service}/{path:path}", methods=METHODS, include_in_schema=False
)
async def forward(service: str, path: str, request: Request) -> Response:
    """Forward the request unchanged; upstream answers (errors too) come back unchanged."""
    upstreams: dict[str, str] = request.app.state.upstreams
    base = upstreams.get(service)
    if base is None:
        raise NotFound(f"There is no service called {service!r}.")
    await request.app.state.edge_auth(request)
    client: httpx.AsyncClient = request.app.state.http
    upstream_request = client.build_request(
        request.method,
        httpx.URL(base + request.url.path, query=request.url.query.encode("latin-1")),
        headers=_forward_headers(request),
        content=request.stream() if _has_body(request) else None,
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        log.warning("upstream.unreachable", upstream=service, error=type(exc).__name__)
        raise ServiceUnavailable(
            f"The {service} service is unreachable; try again shortly.",
            headers={"Retry-After": "5"},
            service=service,
        ) from exc
    except httpx.TimeoutException as exc:
        log.warning("upstream.timeout", upstream=service, error=type(exc).__name__)
        raise UpstreamTimeout(
            f"The {service} service did not answer in time.", service=service
        ) from exc
    except httpx.RequestError as exc:
        log.warning("upstream.failed", upstream=service, error=type(exc).__name__)
        raise ServiceUnavailable(
            f"The {service} service failed to answer.", service=service
        ) from exc
    response_headers: dict[str, Any] = {}
    raw_headers = [
        (k, v)
        for k, v in upstream.headers.multi_items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"
    ]
    response = StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=response_headers,
        background=BackgroundTask(upstream.aclose),
    )
    response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in raw_headers]
    return response
