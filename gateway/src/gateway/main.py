"""The gateway's FastAPI app: edge token check, limits, forwarding, merged API docs, web UI."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import aiohttp
import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.middleware import Middleware

from gateway.breaker import OPEN, CircuitBreaker
from gateway.config import Settings
from gateway.openapi import OpenAPIAggregator
from gateway.proxy import SKIP_AUTO_HEADERS, ForwardMiddleware
from gateway.proxy import router as proxy_router
from gateway.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.state import GatewayMetrics, GatewayState
from gateway.tokens import VerifiedTokens
from servicekit.app import create_service_app
from servicekit.errors import NotFound, Unauthorized
from servicekit.http import make_http_client
from servicekit.logging import get_logger
from servicekit.security import JWKSVerifier, Principal

log = get_logger(__name__)


async def _probe(client: httpx.AsyncClient, base_url: str, seconds: float) -> tuple[bool, str]:
    try:
        response = await client.get(base_url + "/readyz", timeout=seconds)
    except httpx.HTTPError as exc:
        return False, f"unreachable ({type(exc).__name__})"
    if response.status_code == 200:
        return True, "ready"
    return False, f"not ready ({response.status_code})"


def _upstream_check(name: str, base_url: str, timeout: float) -> Any:
    # Answers from the background poller's last result, so /readyz stays instant even when an
    # upstream's own readiness check is slow; probes live only before the first poll.
    async def check(request: Request) -> tuple[bool, Any]:
        state: GatewayState = request.app.state.gateway
        known = state.upstream_health.get(name)
        if known is None:
            known = await _probe(state.http, base_url, timeout)
        return known

    return check


async def _poll_upstreams(state: GatewayState, interval: float, seconds: float) -> None:
    while True:
        names = list(state.upstreams)
        results = await asyncio.gather(
            *(_probe(state.http, state.upstreams[name], seconds) for name in names)
        )
        state.upstream_health.update(zip(names, results, strict=True))
        await asyncio.sleep(interval)


def _is_open(breaker: CircuitBreaker) -> float:
    return 1.0 if breaker.state == OPEN else 0.0


async def _redis_check(request: Request) -> tuple[bool, Any]:
    limiter = request.app.state.gateway.limiter
    if isinstance(limiter, RedisRateLimiter):
        ok = await limiter.ping()
        return ok, "ok" if ok else "unreachable (limits fall back to this replica)"
    return True, "in memory"


def create_app(
    settings: Settings | None = None, *, verifier: JWKSVerifier | None = None
) -> FastAPI:
    """Build the gateway (uvicorn factory: gateway.main:create_app)."""
    settings = settings or Settings()
    upstreams = settings.upstreams()
    # httpx logs every forwarded request at INFO; the access log already has one line each.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    aggregator = OpenAPIAggregator(upstreams, cache_seconds=settings.openapi_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        http = make_http_client(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            write_timeout=settings.write_timeout,
            pool_timeout=settings.pool_timeout,
            max_connections=settings.max_connections,
            max_keepalive=settings.max_connections,
        )
        upstream_session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=settings.max_connections, keepalive_timeout=30, enable_cleanup_closed=True
            ),
            auto_decompress=False,  # bytes pass through as the upstream encoded them
            # The caller's own are forwarded as they came; set once, not per request.
            skip_auto_headers=SKIP_AUTO_HEADERS,
            cookie_jar=aiohttp.DummyCookieJar(),  # never keep one caller's cookies for another
            trust_env=False,
        )
        limiter: RateLimiter = (
            RedisRateLimiter(settings.redis_url, prefix=settings.redis_key_prefix)
            if settings.redis_url
            else MemoryRateLimiter()
        )
        metrics = GatewayMetrics(app.state.metrics.registry)
        state = GatewayState(
            settings=settings,
            upstreams=upstreams,
            metrics=metrics,
            limiter=limiter,
            http=http,
            upstream_session=upstream_session,
            edge_auth=edge_auth,
            breakers={
                name: CircuitBreaker(
                    failure_threshold=settings.breaker_failure_threshold,
                    open_seconds=settings.breaker_open_seconds,
                )
                for name in upstreams
            },
            timeouts={
                name: aiohttp.ClientTimeout(
                    total=None,
                    connect=settings.pool_timeout + settings.connect_timeout,
                    sock_connect=settings.connect_timeout,
                    sock_read=settings.read_timeout_for(name),
                )
                for name in upstreams
            },
        )
        metrics.in_flight.set_function(lambda: state.in_flight)
        for name, breaker in state.breakers.items():
            metrics.circuit_open.labels(name).set_function(partial(_is_open, breaker))
        app.state.gateway = state
        poller = asyncio.create_task(
            _poll_upstreams(state, settings.readiness_interval, settings.readiness_timeout)
        )
        log.info("gateway.started", upstreams=upstreams, redis=bool(settings.redis_url))
        try:
            yield
        finally:
            poller.cancel()
            # uvicorn has stopped accepting and waited for its connections; anything still
            # streaming gets the rest of the grace period before the pool closes under it.
            deadline = time.monotonic() + settings.shutdown_grace_seconds
            while state.in_flight > 0 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if state.in_flight:
                log.warning("gateway.shutdown_with_in_flight", in_flight=state.in_flight)
            await upstream_session.close()
            await http.aclose()
            await limiter.aclose()

    checks: dict[str, Any] = {
        name: _upstream_check(name, url, settings.readiness_timeout)
        for name, url in upstreams.items()
    }
    if settings.redis_url:
        checks["redis"] = _redis_check
    app = create_service_app(
        name="gateway",
        settings=settings,
        routers=[proxy_router],
        use_database=False,
        verifier=verifier,
        lifespan=lifespan,
        readiness_checks=checks,
    )

    verified_tokens = VerifiedTokens(max_age=settings.jwks_cache_seconds)

    async def edge_auth(
        request: Request, before_verify: Callable[[], Awaitable[None]]
    ) -> Principal | None:
        # Reject a bad token here, before it costs an upstream anything; services still
        # authorize every request themselves.
        header = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        token = token.strip()
        principal = verified_tokens.get(token)
        if principal is None:
            await before_verify()
            principal = await app.state.verifier.verify(token)
            verified_tokens.put(token, principal)
        else:
            # A remembered token is still refused once auth has ended its session.
            verifier: JWKSVerifier = app.state.verifier
            principal = await verifier.check_session(principal)
        request.scope.setdefault("state", {})["subject"] = principal.subject
        return principal

    @app.get("/openapi.json", include_in_schema=False)
    async def merged_openapi(request: Request) -> JSONResponse:
        """One OpenAPI document covering every service behind the gateway."""
        document = await aggregator.document(request.app.state.gateway.http)
        return JSONResponse(document, headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Swagger UI for the merged document; its files come with the built web UI."""
        local = settings.web_dist / "swagger"
        if (local / "swagger-ui-bundle.js").is_file():
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title="Stationhouse API",
                swagger_js_url="/swagger/swagger-ui-bundle.js",
                swagger_css_url="/swagger/swagger-ui.css",
                swagger_favicon_url="/swagger/favicon-32x32.png",
            )
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Stationhouse API")

    @app.get("/config.json", include_in_schema=False)
    async def ui_config() -> JSONResponse:
        """Settings the web UI needs before it can draw anything."""
        return JSONResponse(
            {
                "tile_url": settings.tile_url,
                "tile_attribution": settings.tile_attribution,
                "map_center": list(settings.map_center),
                "map_zoom": settings.map_zoom,
                "api_base": "/api/v1",
            },
            headers={"Cache-Control": "no-cache"},
        )

    _mount_web(app, settings)
    # Innermost, so the request-ID/access-log/metrics, security-header and CORS middlewares
    # wrap forwarded requests exactly as they wrap every route.
    app.user_middleware.append(Middleware(ForwardMiddleware))
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    return app


def _mount_web(app: FastAPI, settings: Settings) -> None:
    dist = settings.web_dist

    @app.get("/", include_in_schema=False, response_model=None)
    @app.get("/{page:path}", include_in_schema=False, response_model=None)
    async def web(page: str = "") -> Response:
        """The single-page UI: real files when they exist, index.html for client routes."""
        if page.startswith("api/"):
            raise NotFound(f"No route matches /{page}")
        index = dist / "index.html"
        if page:
            candidate = (dist / page).resolve()
            if candidate.is_file() and dist.resolve() in candidate.parents:
                cache = (
                    "public, max-age=31536000, immutable"
                    if page.startswith("assets/")
                    else "no-cache"
                )
                return FileResponse(candidate, headers={"Cache-Control": cache})
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(
            "<!doctype html><title>Stationhouse</title><h1>Stationhouse</h1>"
            "<p>The API is at <a href='/docs'>/docs</a>. The web UI has not been built "
            "(<code>python web/build.py</code>).</p>",
            status_code=200,
        )
