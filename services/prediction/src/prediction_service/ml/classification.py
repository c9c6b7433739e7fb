"""Crime-type classification: pipelines, the shared evaluation protocol, and explanations.

Protocol (DESIGN.md): 80:20 stratified split with a fixed seed; 5-fold stratified
cross-validation grid search on the 80; the best setting is refitted on the 80 and tested once
on the 20; metrics beside the majority-class baseline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
)
from sklearn.model_selection import ParameterGrid, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from prediction_service.ml.features import CATEGORICAL_FEATURES, IncidentFeatures

SEED = 42
TEST_SIZE = 0.2
CV_FOLDS = 5

ALGORITHMS = ("logistic_regression", "decision_tree", "random_forest", "gradient_boosting")

# Modest default grids: the service trains on a shared machine.
DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "logistic_regression": {"model__C": [0.3, 1.0]},
    "decision_tree": {"model__max_depth": [8, 14], "model__min_samples_leaf": [20]},
    "random_forest": {"model__max_depth": [14, None], "model__min_samples_leaf": [3]},
    "gradient_boosting": {"model__learning_rate": [0.1], "model__max_leaf_nodes": [31, 63]},
}


class JobCancelled(Exception):
    """Raised inside training when the job's cancel flag is seen."""


def _encoder_and_model(
    algorithm: str, *, balanced: bool, seed: int
) -> tuple[ColumnTransformer, Any]:
    class_weight = "balanced" if balanced else None
    if algorithm == "logistic_regression":
        encode = ColumnTransformer(
            [
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                    list(CATEGORICAL_FEATURES),
                )
            ],
            remainder=Pipeline(
                [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
            ),
            verbose_feature_names_out=False,
        )
        return encode, LogisticRegression(
            max_iter=300, class_weight=class_weight, random_state=seed
        )
    ordinal = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
                ),
                list(CATEGORICAL_FEATURES),
            )
        ],
        remainder="passthrough"
        if algorithm == "gradient_boosting"
        else SimpleImputer(strategy="median"),
        verbose_feature_names_out=False,
    )
    if algorithm == "decision_tree":
        return ordinal, DecisionTreeClassifier(class_weight=class_weight, random_state=seed)
    if algorithm == "random_forest":
        return ordinal, RandomForestClassifier(
            n_estimators=100, class_weight=class_weight, random_state=seed, n_jobs=1
        )
    if algorithm == "gradient_boosting":
        # The encoder puts the categoricals first, so they are columns 0..k-1 for the booster.
        return ordinal, HistGradientBoostingClassifier(
            categorical_features=list(range(len(CATEGORICAL_FEATURES))),
            max_iter=300,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=15,
            class_weight=class_weight,
            random_state=seed,
        )
    raise ValueError(f"unknown algorithm {algorithm!r}")


def macro_f1_of(codes: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Macro-F1 from integer true and predicted class codes (fast: one bincount)."""
    matrix = np.bincount(codes * n_classes + predicted, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )
    tp = np.diag(matrix).astype(np.float64)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(n_classes), where=denominator > 0)
    return float(f1.mean())


def fit_class_weights(
    proba: np.ndarray, codes: np.ndarray, *, rounds: int = 4, span: float = 2.0, steps: int = 41
) -> np.ndarray:
    """Per-class weights w maximising macro-F1 of argmax(proba * w) (coordinate ascent).

    A prior shift: the decision picks the class with the highest reweighted probability. Meant
    for out-of-fold probabilities, so the weights never see the rows they are judged on.
    """
    n_classes = proba.shape[1]
    log_w = np.zeros(n_classes)
    best = macro_f1_of(codes, proba.argmax(axis=1), n_classes)
    offsets = np.linspace(-span, span, steps)
    for _ in range(rounds):
        improved = False
        for k in range(1, n_classes):  # weight 0 stays 1: only ratios matter
            for offset in offsets:
                trial = log_w.copy()
                trial[k] += offset
                score = macro_f1_of(codes, (proba * np.exp(trial)).argmax(axis=1), n_classes)
                if score > best + 1e-9:
                    best, log_w, improved = score, trial, True
        span /= 2
        offsets = np.linspace(-span, span, steps)
        if not improved and span < 0.1:
            break
    return np.asarray(np.exp(log_w), dtype=np.float64)


class PriorShiftClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier whose decision rule is tuned for macro-F1 by cross-validation.

    fit: out-of-fold probabilities of `estimator` over `cv` stratified folds of the training rows
    only, per-class weights chosen on them to maximise macro-F1 of the reweighted argmax, then
    `estimator` refitted on all rows. predict_proba returns the refitted model's probabilities
    reweighted by those weights and renormalised (the posterior under the shifted class prior),
    so its argmax is the tuned decision and serving applies it with no extra step.
    """

    def __init__(self, estimator: Any = None, *, cv: int = CV_FOLDS, seed: int = SEED) -> None:
        self.estimator = estimator
        self.cv = cv
        self.seed = seed

    def fit(self, X: Any, y: Any) -> PriorShiftClassifier:
        labels = np.asarray(y).astype(str)
        self.classes_ = np.unique(labels)
        codes = np.searchsorted(self.classes_, labels)
        smallest = int(np.bincount(codes).min())
        folds = min(self.cv, smallest)
        self.class_weights_ = np.ones(len(self.classes_))
        self.cv_macro_f1_before_ = self.cv_macro_f1_after_ = None
        if folds >= 2 and len(self.classes_) >= 2:
            oof = np.zeros((len(codes), len(self.classes_)))
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
            for train_idx, val_idx in splitter.split(np.zeros(len(codes)), codes):
                part = clone(self.estimator).fit(_rows(X, train_idx), labels[train_idx])
                columns = np.searchsorted(self.classes_, np.asarray(part.classes_).astype(str))
                oof[np.ix_(val_idx, columns)] = part.predict_proba(_rows(X, val_idx))
            self.class_weights_ = fit_class_weights(oof, codes)
            n = len(self.classes_)
            self.cv_macro_f1_before_ = macro_f1_of(codes, oof.argmax(axis=1), n)
            self.cv_macro_f1_after_ = macro_f1_of(
                codes, (oof * self.class_weights_).argmax(axis=1), n
            )
        self.estimator_ = clone(self.estimator).fit(X, labels)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        shifted = np.asarray(self.estimator_.predict_proba(X)) * self.class_weights_
        result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
        return result

    def predict(self, X: Any) -> np.ndarray:
        result: np.ndarray = self.classes_[self.predict_proba(X).argmax(axis=1)]
        return result


def _rows(X: Any, index: np.ndarray) -> Any:
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def build_pipeline(
    algorithm: str,
    *,
    balanced: bool = False,
    tune_decision: bool = False,
    extra_numeric: Sequence[str] = (),
    area_indicators: dict[str, dict[str, float]] | None = None,
    utc_offset_hours: float = 0.0,
    params: dict[str, Any] | None = None,
    seed: int = SEED,
) -> Pipeline:
    """One pipeline: raw incidents -> features -> encoding/scaling -> classifier.

    tune_decision wraps the classifier in PriorShiftClassifier (macro-F1 decision rule chosen
    by cross-validation on the rows it is fitted on); params keep their `model__` names.
    """
    encode, model = _encoder_and_model(algorithm, balanced=balanced, seed=seed)
    if tune_decision:
        model = PriorShiftClassifier(model, seed=seed)
        params = {
            (f"model__estimator__{k.removeprefix('model__')}" if k.startswith("model__") else k): v
            for k, v in (params or {}).items()
        }
    pipeline = Pipeline(
        [
            (
                "features",
                IncidentFeatures(
                    extra_numeric=tuple(extra_numeric),
                    area_indicators=area_indicators,
                    utc_offset_hours=utc_offset_hours,
                ),
            ),
            ("encode", encode),
            ("model", model),
        ]
    )
    if params:
        pipeline.set_params(**params)
    return pipeline


def stratified_split(
    frame: pd.DataFrame, labels: np.ndarray, *, seed: int = SEED, test_size: float = TEST_SIZE
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """The protocol's 80:20 split, stratified by category, with a fixed seed."""
    x_train, x_test, y_train, y_test = train_test_split(
        frame, labels, test_size=test_size, stratify=labels, random_state=seed
    )
    return x_train, x_test, np.asarray(y_train), np.asarray(y_test)


Progress = Callable[[float, str], None]


@dataclass
class GridResult:
    best_params: dict[str, Any]
    best_score: float
    candidates: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0


def grid_search(
    pipeline: Pipeline,
    grid: dict[str, list[Any]],
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: int = CV_FOLDS,
    seed: int = SEED,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> GridResult:
    """Stratified k-fold grid search scored by log loss; checks for cancellation between fits."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(x, y))
    settings = list(ParameterGrid(grid)) or [{}]
    total = len(settings) * len(splits)
    done = 0
    started = time.perf_counter()
    candidates: list[dict[str, Any]] = []
    classes = np.unique(y)
    for params in settings:
        losses, accuracies = [], []
        for train_idx, val_idx in splits:
            if should_cancel is not None and should_cancel():
                raise JobCancelled
            model = clone(pipeline).set_params(**params)
            model.fit(x.iloc[train_idx], y[train_idx])
            proba = model.predict_proba(x.iloc[val_idx])
            losses.append(log_loss(y[val_idx], proba, labels=classes))
            accuracies.append(accuracy_score(y[val_idx], model.classes_[proba.argmax(axis=1)]))
            done += 1
            if progress is not None:
                progress(done / total, f"cv {done}/{total}")
        candidates.append(
            {
                "params": _jsonable(params),
                "cv_log_loss": float(np.mean(losses)),
                "cv_accuracy": float(np.mean(accuracies)),
            }
        )
    best = min(candidates, key=lambda c: c["cv_log_loss"])
    best_index = candidates.index(best)
    return GridResult(
        best_params=settings[best_index],
        best_score=best["cv_log_loss"],
        candidates=candidates,
        fit_seconds=time.perf_counter() - started,
    )


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
        for k, v in params.items()
    }


def evaluate(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro and per-class P/R/F1, log loss and the confusion matrix."""
    classes = [str(c) for c in classes]
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, predicted, labels=classes, zero_division=0
    )
    macro = precision_recall_fscore_support(
        y_true, predicted, labels=classes, average="macro", zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "log_loss": float(log_loss(y_true, np.clip(proba, 1e-15, 1.0), labels=classes)),
        "per_class": {
            c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": classes,
            "matrix": confusion_matrix(y_true, predicted, labels=classes).tolist(),
        },
        "n": len(y_true),
    }


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """The majority-class baseline (predicts the training prior for every incident)."""
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((len(y_train), 1)), y_train)
    proba = dummy.predict_proba(np.zeros((len(y_test), 1)))
    return evaluate(y_test, proba, dummy.classes_)


def explain(
    pipeline: Pipeline, x: pd.DataFrame, *, top: int = 3
) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """Class probabilities and, per row, the feature groups that pushed the predicted class most.

    A group's contribution is how much the predicted class's probability drops when that group
    is replaced by the training reference value (occlusion); all variants go through the model
    in one call.
    """
    features: IncidentFeatures = pipeline.named_steps["features"]
    head = pipeline[1:]
    base = features.transform(x)
    n = len(base)
    groups = list(features.feature_groups_.items())
    reference = dict(zip(features.feature_names_, features.reference_, strict=True))
    # One frame holding the incident rows and, per group, a copy with that group at its
    # reference value; a single model call scores them all.
    stacked = base.iloc[np.tile(np.arange(n), len(groups) + 1)].reset_index(drop=True)
    for g, (_, columns) in enumerate(groups, start=1):
        rows_of_group = slice(g * n, (g + 1) * n)
        for column in columns:
            position = stacked.columns.get_loc(column)
            stacked.iloc[rows_of_group, position] = reference[column]
    proba_all = head.predict_proba(stacked)
    proba = proba_all[:n]
    predicted = proba.argmax(axis=1)
    rows = np.arange(n)
    drops = np.stack(
        [
            proba[rows, predicted] - proba_all[(g + 1) * n : (g + 2) * n][rows, predicted]
            for g in range(len(groups))
        ],
        axis=1,
    )
    names = [name for name, _ in groups]
    order = np.argsort(-drops, axis=1)[:, :top]
    explanations = [
        [{"feature": names[j], "contribution": round(float(drops[i, j]), 6)} for j in order[i]]
        for i in range(n)
    ]
    return proba, explanations
