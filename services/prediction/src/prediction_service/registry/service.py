"""Registering model versions, promotion, rollback, and loading the served model safely."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from prediction_service.ml.fast import FastClassifier
from prediction_service.registry import artifacts
from prediction_service.registry.models import ModelVersion, PromotionEvent, ServedModel
from prediction_service.timeutil import utcnow
from servicekit.errors import Conflict, NotFound

MODEL_KINDS = ("classifier", "forecast_week", "forecast_month")


class NoServedModel(Conflict):
    type_slug, title = "no-served-model", "No model is promoted for this kind"


def register_version(
    session: Session,
    *,
    kind: str,
    algorithm: str,
    class_balanced: bool,
    model: Any,
    params: dict[str, Any],
    metrics: dict[str, Any],
    model_card: dict[str, Any],
    window_start: Any,
    window_end: Any,
    n_rows: int,
    job_id: str | None,
    created_by: str,
    key: bytes | None,
) -> ModelVersion:
    """Store a trained model as the next version of its kind (not served until promoted)."""
    data = artifacts.dump(model)
    number = (
        session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.kind == kind)) or 0
    ) + 1
    sha = artifacts.sha256_hex(data)
    card = {**model_card, "artifact_sha256": sha, "version": number, "kind": kind}
    row = ModelVersion(
        id=str(uuid.uuid4()),
        kind=kind,
        version=number,
        algorithm=algorithm,
        class_balanced=class_balanced,
        params=params,
        metrics=metrics,
        model_card=card,
        data_window_start=window_start,
        data_window_end=window_end,
        n_rows=n_rows,
        artifact=data,
        artifact_sha256=sha,
        artifact_hmac=artifacts.sign(data, key),
        artifact_size=len(data),
        job_id=job_id,
        created_at=utcnow(),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row


def get_version(session: Session, model_version_id: str) -> ModelVersion:
    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound(f"No model version {model_version_id}.")
    return row


def served_row(session: Session, kind: str) -> ServedModel | None:
    return session.get(ServedModel, kind)


def promote(
    session: Session, *, model_version: ModelVersion, actor: str, action: str = "promote"
) -> ServedModel:
    """Serve this version for its kind from now on (every replica reads the same row)."""
    served = session.get(ServedModel, model_version.kind, with_for_update=True)
    now = utcnow()
    if served is None:
        served = ServedModel(
            kind=model_version.kind,
            model_version_id=model_version.id,
            previous_model_version_id=None,
            promoted_at=now,
            promoted_by=actor,
            version=1,
        )
        session.add(served)
    elif served.model_version_id != model_version.id:
        served.previous_model_version_id = served.model_version_id
        served.model_version_id = model_version.id
        served.promoted_at = now
        served.promoted_by = actor
        served.version += 1
    session.add(
        PromotionEvent(
            kind=model_version.kind,
            model_version_id=model_version.id,
            action=action,
            actor=actor,
            occurred_at=now,
        )
    )
    session.flush()
    return served


def rollback(session: Session, *, kind: str, target_id: str | None, actor: str) -> ServedModel:
    """Serve an earlier version again: the one given, else the one served before the current."""
    served = session.get(ServedModel, kind, with_for_update=True)
    if served is None:
        raise NoServedModel(f"No {kind} model has been promoted yet; nothing to roll back.")
    if target_id is None:
        target_id = served.previous_model_version_id
        if target_id is None:
            raise Conflict(f"The served {kind} model has no earlier served version.")
    target = get_version(session, target_id)
    current = get_version(session, served.model_version_id)
    if target.kind != kind:
        raise Conflict(f"Model version {target_id} is a {target.kind}, not a {kind}.")
    if target.version >= current.version:
        raise Conflict("A rollback must go to an earlier version than the one served.")
    return promote(session, model_version=target, actor=actor, action="rollback")


def promotion_history(session: Session, kind: str) -> list[PromotionEvent]:
    return list(
        session.scalars(
            select(PromotionEvent).where(PromotionEvent.kind == kind).order_by(PromotionEvent.id)
        )
    )


@dataclass(frozen=True)
class LoadedModel:
    id: str
    kind: str
    version: int
    algorithm: str
    class_balanced: bool
    model: Any
    fast: Any = None  # FastClassifier for classifiers whose pipeline it understands


class ModelCache:
    """Verified, loaded artifacts by version id; the served pointer is read from the DB per call."""

    def __init__(self, *, key: bytes | None, size: int = 6) -> None:
        self._key = key
        self._size = size
        self._lock = threading.Lock()
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()

    def served(self, session: Session, kind: str) -> LoadedModel:
        row = session.execute(
            select(ModelVersion.id, ModelVersion.artifact_sha256)
            .join(ServedModel, ServedModel.model_version_id == ModelVersion.id)
            .where(ServedModel.kind == kind)
        ).first()
        if row is None:
            raise NoServedModel(
                f"No {kind} model is promoted yet; an analyst or admin must promote one."
            )
        cached = self._loaded.get(row.id)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._loaded.get(row.id)
            if cached is not None:
                return cached
            version = session.scalars(
                select(ModelVersion)
                .options(undefer(ModelVersion.artifact))
                .where(ModelVersion.id == row.id)
            ).one()
            model = artifacts.verify_and_load(
                version.artifact,
                sha256=version.artifact_sha256,
                signature=version.artifact_hmac,
                key=self._key,
            )
            loaded = LoadedModel(
                id=version.id,
                kind=version.kind,
                version=version.version,
                algorithm=version.algorithm,
                class_balanced=version.class_balanced,
                model=model,
                fast=FastClassifier.compile(model) if version.kind == "classifier" else None,
            )
            self._loaded[row.id] = loaded
            while len(self._loaded) > self._size:
                self._loaded.popitem(last=False)
            return loaded
