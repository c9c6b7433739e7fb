"""Optimistic concurrency: ETag from (kind, id, version), If-Match required on every change."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from servicekit.errors import PreconditionFailed, PreconditionRequired


def etag_for(kind: str, object_id: str, version: int) -> str:
    """A strong ETag naming one version of one object."""
    return f'"{kind}-{object_id}-v{version}"'


def set_etag(response: Response, kind: str, object_id: str, version: int) -> None:
    response.headers["ETag"] = etag_for(kind, object_id, version)


def require_if_match(request: Request, kind: str, object_id: str, version: int) -> None:
    """428 without If-Match, 412 when it does not name the current version."""
    header = request.headers.get("if-match")
    if not header:
        raise PreconditionRequired("Send If-Match with the ETag you last read.")
    current = etag_for(kind, object_id, version)
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in candidates and current not in candidates:
        raise PreconditionFailed(
            "The record changed since you read it; read it again and reapply your change.",
            headers={"ETag": current},
        )


def flush_or_412(session: Session) -> None:
    """Flush changes; a versioned row changed by someone else in between becomes a 412.

    Versioned tables map `version` as SQLAlchemy's version_id_col, so every UPDATE says
    `WHERE id = ? AND version = ?`: of two writers holding the same ETag one wins, the other
    updates nothing and lands here.
    """
    try:
        session.flush()
    except StaleDataError as exc:
        raise PreconditionFailed(
            "The record changed since you read it; read it again and reapply your change."
        ) from exc
