"""Forward /api/v1/<service>/... to its upstream, streaming bodies both ways.

Before a request leaves the gateway it passes, in order: the body-size limit, the edge token
check, the rate limit for its client and route class, and the upstream's circuit breaker.
Idempotent requests (and those with an Idempotency-Key) are retried when the upstream could
not be reached or answered 502/503; nothing else is ever sent twice.

Forwarded requests take a short way through the app (ForwardMiddleware, inside the request-ID,
access-log, metrics, security-header and CORS middlewares): forwarding needs none of the router's
matching, FastAPI's exception middleware or its per-route wrappers, which together cost more CPU
per request than the forwarding itself.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

import aiohttp
import yarl
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.ratelimit import route_class
from gateway.state import GatewayState
from servicekit.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    TooManyRequests,
)
from servicekit.health import DRAIN_STATE
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
_SKIP_REQUEST_HEADERS = HOP_BY_HOP | {"x-request-id", "x-forwarded-for"}
# The gateway's server (uvicorn) writes its own Date and Server: the upstream's would repeat them.
_SKIP_ANSWER_HEADERS = frozenset(
    name.encode() for name in HOP_BY_HOP | {"x-request-id", "date", "server"}
)
# Answers up to this size (with a Content-Length) are read whole and sent in one piece.
BUFFER_LIMIT = 256 * 1024
# aiohttp adds these unless told not to; the caller's own are forwarded as they came.
SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503})
# Failures that say the upstream is unhealthy (they feed its circuit breaker).
BREAKER_STATUSES = frozenset({502, 504})


class UpstreamTimeout(ProblemError):
    status, type_slug, title = 504, "upstream-timeout", "The service took too long to answer"


class _BodyTooLarge(Exception):
    pass


router = APIRouter()


def _forward_headers(request: Request, client_ip: str) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    forwarded_for = ""
    has_proto = False
    # ASGI header names are lower-case bytes; reading the raw list skips building a Headers.
    for raw_name, raw_value in request.scope["headers"]:
        name = raw_name.decode("latin-1")
        if name in _SKIP_REQUEST_HEADERS:
            if name == "x-forwarded-for" and not forwarded_for:
                forwarded_for = raw_value.decode("latin-1")
            continue
        if name == "x-forwarded-proto":
            has_proto = True
        headers.append((name, raw_value.decode("latin-1")))
    headers.append(("x-request-id", request.scope["state"]["request_id"]))
    headers.append(
        ("x-forwarded-for", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip)
    )
    if not has_proto:
        headers.append(("x-forwarded-proto", request.scope.get("scheme", "http")))
    return headers


def _raw_target(request: Request) -> str:
    """Path and query exactly as the caller encoded them: forwarding the decoded path would turn
    %2F into a separator and make %00 or %0A an invalid request line."""
    raw_path: bytes = request.scope.get("raw_path") or quote(request.url.path).encode()
    query: bytes = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length != "0") or "transfer-encoding" in request.headers


def client_ip(request: Request, *, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.client.host if request.client else "unknown"


async def _limited_stream(
    request: Request, limit: int, overflow: list[bool] | None = None
) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            if overflow is not None:
                overflow.append(True)  # the HTTP client may wrap the exception it gets
            raise _BodyTooLarge
        yield chunk


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks = [chunk async for chunk in _limited_stream(request, limit)]
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than this route accepts ({limit:,} bytes).", limit=limit
    )


async def _check_rate(request: Request, gw: GatewayState, *, klass: str, client: str) -> None:
    settings = gw.settings
    limit = settings.rate_limit_credentials if klass == "credentials" else settings.rate_limit_api
    decision = await gw.limiter.hit(
        f"{klass}:{client}", limit=limit, window=settings.rate_limit_window_seconds
    )
    request.state.rate_limit = decision
    if not decision.allowed:
        gw.metrics.rate_limited.labels(klass).inc()
        log.info("ratelimit.exceeded", route_class=klass, client=client)
        raise TooManyRequests(
            f"Too many requests; try again in {decision.retry_after} seconds.",
            headers={
                "Retry-After": str(decision.retry_after),
                "RateLimit-Limit": str(decision.limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(decision.retry_after),
            },
            route_class=klass,
        )


async def forward_endpoint(request: Request) -> Response:
    """A plain Starlette endpoint: forwarding needs none of FastAPI's parameter machinery,
    which would cost more per request than the forwarding itself."""
    request.scope["route"] = FORWARD_ROUTE  # the route template in metrics and access logs
    params = request.path_params
    return await forward(params["service"], params["path"], request)


FORWARD_ROUTE = Route(
    "/api/v1/{service}/{path:path}", forward_endpoint, methods=METHODS, include_in_schema=False
)
router.routes.append(FORWARD_ROUTE)
# The same paths FORWARD_ROUTE matches (Starlette matches the decoded path).
_FORWARD_PATH = re.compile(r"^/api/v1/(?P<service>[^/]+)/(?P<path>.*)$")
_FORWARD_METHODS = frozenset(METHODS)


class ForwardMiddleware:
    """Hand /api/v1/<service>/... for a known service straight to forward().

    Sits innermost, so request IDs, the access log, metrics, security headers and CORS wrap it
    as they wrap every route; anything else (unknown services, other methods, every other path)
    goes on to the router unchanged. ProblemErrors answer through the app's own handler, and
    anything unexpected rises to the server-error handler as it would from a route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _FORWARD_METHODS:
            match = _FORWARD_PATH.match(scope["path"])
            gw: GatewayState | None = getattr(scope["app"].state, "gateway", None)
            if match is not None and gw is not None and match["service"] in gw.upstreams:
                scope["route"] = FORWARD_ROUTE
                scope["path_params"] = match.groupdict()
                request = Request(scope, receive, send)
                try:
                    response = await forward(match["service"], match["path"], request)
                except ProblemError as exc:
                    handler = scope["app"].exception_handlers[ProblemError]
                    response = await handler(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def forward(service: str, path: str, request: Request) -> Response:
    """Forward the request; upstream answers (errors too) come back unchanged."""
    gw: GatewayState = request.app.state.gateway
    settings = gw.settings
    base = gw.upstreams.get(service)
    if base is None:
        raise NotFound(f"There is no service called {service!r}.")
    method = request.method
    klass = route_class(method, request.scope["path"])
    body_limit = (
        settings.max_credentials_body_bytes if klass == "credentials" else settings.max_body_bytes
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("The Content-Length header is not a number.")
        if int(declared) > body_limit:
            raise _too_large(body_limit)

    ip = client_ip(request, trust_forwarded_for=settings.trust_forwarded_for)

    async def before_verify() -> None:
        # A token not seen before is checked against its sender's address first: a flood of
        # forged or expired tokens is refused with 429 instead of costing a signature check
        # each (and invalid tokens, refused with 401, would otherwise never count at all).
        await _check_rate(request, gw, klass=klass, client=f"ip:{ip}")

    principal = await gw.edge_auth(request, before_verify)
    client_key = f"sub:{principal.subject}" if principal is not None else f"ip:{ip}"
    await _check_rate(request, gw, klass=klass, client=client_key)

    breaker = gw.breakers[service]
    if not breaker.allow():
        gw.metrics.rejected_open.labels(service).inc()
        raise ServiceUnavailable(
            f"The {service} service is failing; the gateway is holding requests back for a "
            "moment. Try again shortly.",
            headers={"Retry-After": str(breaker.retry_after())},
            service=service,
        )

    retryable = method in IDEMPOTENT or "idempotency-key" in request.headers
    content: bytes | AsyncIterator[bytes] | None = None
    overflow: list[bool] = []
    if _has_body(request):
        try:
            content = (
                await _read_limited(request, body_limit)
                if retryable
                else _limited_stream(request, body_limit, overflow)
            )
        except _BodyTooLarge:
            breaker.release_probe()
            raise _too_large(body_limit) from None

    session: aiohttp.ClientSession = gw.upstream_session
    url = base + _raw_target(request)
    headers = _forward_headers(request, ip)
    read_timeout = settings.read_timeout_for(service)
    timeout = gw.timeouts[service]
    attempts = 1 + settings.retry_attempts if retryable else 1
    started = time.perf_counter()
    upstream: aiohttp.ClientResponse | None = None
    gw.in_flight += 1
    try:
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                upstream = await session.request(
                    method,
                    yarl.URL(url, encoded=True),
                    headers=headers,
                    data=content,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except _BodyTooLarge:
                breaker.release_probe()
                raise _too_large(body_limit) from None
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                breaker.record_failure()
                if not last and retryable:
                    await _backoff(gw, service, attempt)
                    continue
                log.warning("upstream.unreachable", upstream=service, error=type(exc).__name__)
                raise ServiceUnavailable(
                    f"The {service} service is unreachable; try again shortly.",
                    headers={"Retry-After": "5"},
                    service=service,
                ) from exc
            except (aiohttp.SocketTimeoutError, TimeoutError) as exc:
                breaker.record_failure()
                log.warning("upstream.timeout", upstream=service, error=type(exc).__name__)
                raise UpstreamTimeout(
                    f"The {service} service did not answer within {read_timeout:g} seconds.",
                    service=service,
                ) from exc
            except aiohttp.ClientError as exc:
                if overflow:
                    breaker.release_probe()
                    raise _too_large(body_limit) from None
                breaker.record_failure()
                if not last and retryable:
                    await _backoff(gw, service, attempt)
                    continue
                log.warning("upstream.failed", upstream=service, error=type(exc).__name__)
                raise ServiceUnavailable(
                    f"The {service} service failed to answer.", service=service
                ) from exc
            if upstream.status in BREAKER_STATUSES:
                breaker.record_failure()
            else:
                breaker.record_success()
            if upstream.status in RETRY_STATUSES and retryable and not last:
                upstream.release()
                await _backoff(gw, service, attempt)
                continue
            break
    except BaseException:
        gw.in_flight -= 1
        raise
    assert upstream is not None
    gw.metrics.forwarded(service, method, upstream.status, time.perf_counter() - started)
    return await _stream_back(upstream, gw, service, read_timeout)


async def _backoff(gw: GatewayState, service: str, attempt: int) -> None:
    gw.metrics.retries.labels(service).inc()
    await asyncio.sleep(gw.settings.retry_backoff_seconds * (2**attempt))


async def _stream_back(
    upstream: aiohttp.ClientResponse, gw: GatewayState, service: str, read_timeout: float
) -> Response:
    raw_headers: list[tuple[bytes, bytes]] = [
        (k, v) for k, v in upstream.raw_headers if k.lower() not in _SKIP_ANSWER_HEADERS
    ]
    if DRAIN_STATE["draining"]:
        raw_headers.append((b"connection", b"close"))
    length = upstream.headers.get("content-length", "")
    if length.isdigit() and int(length) <= BUFFER_LIMIT:
        # Most answers are small JSON: one read and one send cost less than streaming them.
        try:
            content = await upstream.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("upstream.body_failed", upstream=service, error=type(exc).__name__)
            raise UpstreamTimeout(
                f"The {service} service stopped answering mid-way.", service=service
            ) from exc
        finally:
            upstream.release()
            gw.in_flight -= 1
        buffered = Response(content=content, status_code=upstream.status)
        buffered.raw_headers = raw_headers
        return buffered

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Headers are already sent: all we can do is end the response early and say so.
            log.warning("upstream.body_failed", upstream=service, error=type(exc).__name__)
            raise

    async def finish() -> None:
        try:
            upstream.release()
        finally:
            gw.in_flight -= 1

    response = StreamingResponse(
        body(), status_code=upstream.status, background=BackgroundTask(finish)
    )
    response.raw_headers = raw_headers
    return response
