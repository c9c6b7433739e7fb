"""The gateway's FastAPI app: edge token check, forwarding, upstream readiness, the web UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from gateway.config import Settings
from gateway.proxy import router as proxy_router
from servicekit.app import create_service_app
from servicekit.errors import Unauthorized
from servicekit.http import make_http_client
from servicekit.security import JWKSVerifier


def _upstream_check(name: str, base_url: str, timeout: float) -> Any:
    async def check(request: Request) -> tuple[bool, Any]:
        client: httpx.AsyncClient = request.app.state.http
        try:
            response = await client.get(base_url + "/readyz", timeout=timeout)
        except httpx.HTTPError as exc:
            return False, f"unreachable ({type(exc).__name__})"
        return response.status_code == 200, "ready" if response.status_code == 200 else (
            f"not ready ({response.status_code})"
        )

    return check


def create_app(settings: Settings | None = None, *, verifier: JWKSVerifier | None = None) -> FastAPI:
    """Build the gateway (uvicorn factory: gateway.main:create_app)."""
    settings = settings or Settings()
    upstreams = settings.upstreams()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = make_http_client(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            write_timeout=settings.write_timeout,
            pool_timeout=settings.pool_timeout,
            max_connections=settings.max_connections,
            max_keepalive=settings.max_connections,
        )
        try:
            yield
        finally:
            await app.state.http.aclose()

    app = create_service_app(
        name="gateway",
        settings=settings,
        routers=[proxy_router],
        use_database=False,
        verifier=verifier,
        lifespan=lifespan,
        readiness_checks={
            name: _upstream_check(name, url, settings.readiness_timeout)
            for name, url in upstreams.items()
        },
    )
    app.state.upstreams = upstreams

    async def edge_auth(request: Request) -> None:
        # Reject a bad token here, before it costs an upstream anything; services still
        # authorize every request themselves.
        header = request.headers.get("authorization")
        if not header:
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        principal = await app.state.verifier.verify(token.strip())
        request.scope.setdefault("state", {})["subject"] = principal.subject

    app.state.edge_auth = edge_auth
    _mount_web(app, settings)
    return app


def _mount_web(app: FastAPI, settings: Settings) -> None:
    dist = settings.web_dist

    @app.get("/", include_in_schema=False, response_model=None)
    @app.get("/{page:path}", include_in_schema=False, response_model=None)
    async def web(page: str = "") -> Response:
        """The single-page UI: real files when they exist, index.html for client routes."""
        if page.startswith("api/"):
            from servicekit.errors import NotFound

            raise NotFound(f"No route matches /{page}")
        index = dist / "index.html"
        if page:
            candidate = (dist / page).resolve()
            if candidate.is_file() and dist.resolve() in candidate.parents:
                return FileResponse(candidate)
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(
            "<!doctype html><title>Stationhouse</title><h1>Stationhouse</h1>"
            "<p>The API is at <a href='/docs'>/docs</a>. The web UI has not been built "
            "(<code>make web</code>).</p>",
            status_code=200,
        )

