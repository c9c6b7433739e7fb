"""One error hierarchy and one RFC 9457 problem+json renderer for every service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from servicekit.logging import get_logger

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://stationhouse.dev/problems/"

log = get_logger(__name__)


class ProblemError(Exception):
    """A domain or protocol error that knows its HTTP status and problem type."""

    status: int = 500
    type_slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions


class BadRequest(ProblemError):
    status, type_slug, title = 400, "bad-request", "Bad request"


class Unauthorized(ProblemError):
    status, type_slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status, type_slug, title = 403, "forbidden", "Not allowed"


class NotFound(ProblemError):
    status, type_slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, type_slug, title = 409, "conflict", "Conflict"


class Gone(ProblemError):
    status, type_slug, title = 410, "gone", "Gone"


class PreconditionFailed(ProblemError):
    status, type_slug, title = 412, "precondition-failed", "The resource has changed"


class PayloadTooLarge(ProblemError):
    status, type_slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(ProblemError):
    status, type_slug, title = 415, "unsupported-media-type", "Unsupported media type"


class UnprocessableContent(ProblemError):
    status, type_slug, title = 422, "validation-error", "The request is not valid"


class PreconditionRequired(ProblemError):
    status, type_slug, title = 428, "precondition-required", "If-Match header required"


class TooManyRequests(ProblemError):
    status, type_slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, type_slug, title = 503, "service-unavailable", "Service unavailable"


def problem_response(
    *,
    status: int,
    title: str,
    detail: str,
    instance: str,
    type_slug: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """Render one problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    if extensions:
        body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
    503: ("service-unavailable", "Service unavailable"),
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    fields = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        fields.append(
            {
                "field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                "location": loc[0] if loc else "body",
                "message": err.get("msg", "invalid"),
                "code": err.get("type", "invalid"),
            }
        )
    return fields


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error, including validation and unknown routes, answer problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            type_slug=exc.type_slug,
            errors=exc.errors,
            headers=exc.headers,
            extensions=exc.extensions,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            status=422,
            title="The request is not valid",
            detail="One or more fields are missing or invalid; see errors.",
            instance=request.url.path,
            type_slug="validation-error",
            errors=_field_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route matches {request.method} {request.url.path}"
        return problem_response(
            status=exc.status_code,
            title=title,
            detail=detail,
            instance=request.url.path,
            type_slug=slug,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint the database enforces (unique, foreign key) lost a race or was broken;
        # nothing was written. Never echo the SQL.
        log.warning("request.integrity_error", path=request.url.path, error=str(exc.orig)[:200])
        return problem_response(
            status=409,
            title="Conflict",
            detail="The change conflicts with data that already exists; nothing was saved.",
            instance=request.url.path,
            type_slug="conflict",
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: DBAPIError) -> JSONResponse:
        log.error("request.database_unavailable", path=request.url.path, error=type(exc).__name__)
        return problem_response(
            status=503,
            title="Service unavailable",
            detail="The database is busy or unreachable; nothing was saved. Try again shortly.",
            instance=request.url.path,
            type_slug="service-unavailable",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.unhandled_error", path=request.url.path)
        return problem_response(
            status=500,
            title="Internal server error",
            detail="The server could not complete the request; it has been logged.",
            instance=request.url.path,
            type_slug="internal-error",
        )
