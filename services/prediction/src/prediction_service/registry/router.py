"""Model registry: list versions and cards, promote, roll back, see what is served."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import undefer

from prediction_service.audit import AuditEntry
from prediction_service.dependencies import Staff, Trainer, client_ip, request_id
from prediction_service.registry import artifacts
from prediction_service.registry.models import ModelVersion, ServedModel
from prediction_service.registry.service import get_version, promote, promotion_history, rollback
from prediction_service.timeutil import as_utc
from servicekit.audit import append_audit
from servicekit.db import SessionDep
from servicekit.errors import Conflict
from servicekit.pagination import Page, PageDep, make_page

router = APIRouter(prefix="/api/v1/prediction", tags=["model registry"])

Kind = Literal["classifier", "forecast_week", "forecast_month"]


class ModelVersionPublic(BaseModel):
    id: str
    kind: str
    version: int
    algorithm: str
    class_balanced: bool
    served: bool
    params: dict[str, Any]
    metrics: dict[str, Any]
    model_card: dict[str, Any]
    data_window_start: datetime | None
    data_window_end: datetime | None
    n_rows: int
    artifact_sha256: str
    artifact_signed: bool
    artifact_size: int
    job_id: str | None
    created_at: datetime
    created_by: str


class ServedPublic(BaseModel):
    kind: str
    model_version_id: str
    version: int
    algorithm: str
    previous_model_version_id: str | None
    promoted_at: datetime
    promoted_by: str


class PromotionPublic(BaseModel):
    model_version_id: str
    action: str
    actor: str
    occurred_at: datetime


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_version_id: str | None = None


def _served_ids(session: SessionDep) -> set[str]:
    return set(session.scalars(select(ServedModel.model_version_id)))


def to_public(row: ModelVersion, served_ids: set[str]) -> ModelVersionPublic:
    return ModelVersionPublic(
        id=row.id,
        kind=row.kind,
        version=row.version,
        algorithm=row.algorithm,
        class_balanced=row.class_balanced,
        served=row.id in served_ids,
        params=row.params,
        metrics=row.metrics,
        model_card=row.model_card,
        data_window_start=as_utc(row.data_window_start),
        data_window_end=as_utc(row.data_window_end),
        n_rows=row.n_rows,
        artifact_sha256=row.artifact_sha256,
        artifact_signed=row.artifact_hmac is not None,
        artifact_size=row.artifact_size,
        job_id=row.job_id,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
    )


def _served_public(session: SessionDep, served: ServedModel) -> ServedPublic:
    version = get_version(session, served.model_version_id)
    return ServedPublic(
        kind=served.kind,
        model_version_id=served.model_version_id,
        version=version.version,
        algorithm=version.algorithm,
        previous_model_version_id=served.previous_model_version_id,
        promoted_at=as_utc(served.promoted_at),
        promoted_by=served.promoted_by,
    )


@router.get("/models", response_model=Page[ModelVersionPublic])
def list_models(
    principal: Staff, session: SessionDep, page: PageDep, kind: Kind | None = None
) -> Page[ModelVersionPublic]:
    """Model versions, newest first, with metrics and model cards."""
    query = (
        select(ModelVersion)
        .order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
        .limit(page.limit + 1)
    )
    if kind:
        query = query.where(ModelVersion.kind == kind)
    if page.cursor:
        created, last_id = datetime.fromisoformat(str(page.cursor[0])), str(page.cursor[1])
        query = query.where(
            (ModelVersion.created_at < created)
            | ((ModelVersion.created_at == created) & (ModelVersion.id < last_id))
        )
    served = _served_ids(session)
    items = [to_public(r, served) for r in session.scalars(query)]
    return make_page(items, limit=page.limit, key=lambda m: [m.created_at.isoformat(), m.id])


@router.get("/models/{model_version_id}", response_model=ModelVersionPublic)
def read_model(model_version_id: str, principal: Staff, session: SessionDep) -> ModelVersionPublic:
    return to_public(get_version(session, model_version_id), _served_ids(session))


@router.post("/models/{model_version_id}/promote", response_model=ServedPublic)
def promote_model(
    model_version_id: str, request: Request, principal: Trainer, session: SessionDep
) -> ServedPublic:
    """Serve this version for its kind (after checking its artifact loads and verifies)."""
    version = session.scalars(
        select(ModelVersion)
        .options(undefer(ModelVersion.artifact))
        .where(ModelVersion.id == model_version_id)
    ).one_or_none()
    if version is None:
        get_version(session, model_version_id)  # 404
        raise AssertionError
    try:
        artifacts.verify_and_load(
            version.artifact,
            sha256=version.artifact_sha256,
            signature=version.artifact_hmac,
            key=request.app.state.artifact_key,
        )
    except artifacts.ArtifactRefused as exc:
        raise Conflict(f"Version {version.version} cannot be promoted: {exc.detail}") from exc
    served = promote(session, model_version=version, actor=principal.subject)
    append_audit(
        session,
        AuditEntry,
        actor=principal.subject,
        actor_roles=principal.roles,
        action="model.promoted",
        target_type="model_version",
        target_id=version.id,
        source_ip=client_ip(request),
        request_id=request_id(),
        details={
            "kind": version.kind,
            "version": version.version,
            "sha256": version.artifact_sha256,
        },
    )
    return _served_public(session, served)


@router.get("/served", response_model=list[ServedPublic])
def list_served(principal: Staff, session: SessionDep) -> list[ServedPublic]:
    """The version each kind serves now."""
    return [
        _served_public(session, s)
        for s in session.scalars(select(ServedModel).order_by(ServedModel.kind))
    ]


@router.post("/served/{kind}/rollback", response_model=ServedPublic)
def rollback_served(
    kind: Kind,
    request: Request,
    principal: Trainer,
    session: SessionDep,
    body: RollbackRequest | None = None,
) -> ServedPublic:
    """Serve an earlier version again: the one named, else the one served before the current."""
    served = rollback(
        session,
        kind=kind,
        target_id=body.model_version_id if body else None,
        actor=principal.subject,
    )
    append_audit(
        session,
        AuditEntry,
        actor=principal.subject,
        actor_roles=principal.roles,
        action="model.rolled_back",
        target_type="model_version",
        target_id=served.model_version_id,
        source_ip=client_ip(request),
        request_id=request_id(),
        details={"kind": kind, "previous": served.previous_model_version_id},
    )
    return _served_public(session, served)


@router.get("/served/{kind}/history", response_model=list[PromotionPublic])
def served_history(kind: Kind, principal: Staff, session: SessionDep) -> list[PromotionPublic]:
    """Promotions and rollbacks of a kind, oldest first."""
    return [
        PromotionPublic(
            model_version_id=e.model_version_id,
            action=e.action,
            actor=e.actor,
            occurred_at=as_utc(e.occurred_at),
        )
        for e in promotion_history(session, kind)
    ]
