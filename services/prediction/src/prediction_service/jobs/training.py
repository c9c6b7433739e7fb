"""What a training job does: read the incident copy, train and evaluate per protocol, return
fitted models with their metrics and model cards (registration happens in the job runner)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from prediction_service.indicators.models import AreaIndicator
from prediction_service.ml.classification import (
    CV_FOLDS,
    DEFAULT_GRIDS,
    SEED,
    TEST_SIZE,
    build_pipeline,
    evaluate,
    grid_search,
    majority_baseline,
    stratified_split,
)
from prediction_service.ml.forecasting import (
    FREQS,
    CountForecaster,
    ForecastBundle,
    rolling_origin_evaluation,
    weekly_counts,
)
from prediction_service.sync.models import Incident

Progress = Callable[[float, str], None]
ShouldCancel = Callable[[], bool]

MIN_CLASS_INCIDENTS = 10
MIN_TRAINING_INCIDENTS = 50

CLASSIFIER_LIMITS = (
    "Predicts the offence category from when, where and what kind of premises only; it does not"
    " read narratives. Probabilities reflect the historical mix of recorded incidents, including"
    " recording and patrol biases. Categories with fewer than"
    f" {MIN_CLASS_INCIDENTS} incidents in the data window are not predicted. A decision aid for"
    " analysts and triage, never evidence about a person."
)
FORECAST_LIMITS = (
    "Forecasts recorded incident counts, not crime itself; changes in reporting, policing or"
    " events (e.g. a pandemic) move the counts in ways the lags learn only afterwards. Intervals"
    " are split-conformal at 80% and assume the recent past resembles the future. Series start"
    " after the last period of the data window."
)


class TrainingFailed(Exception):
    """The data cannot support the requested training (a clear message for the job)."""


@dataclass
class TrainedModel:
    algorithm: str
    class_balanced: bool
    model: Any
    params: dict[str, Any]
    metrics: dict[str, Any]
    model_card: dict[str, Any]
    window_start: datetime | None
    window_end: datetime | None
    n_rows: int
    timings: dict[str, float] = field(default_factory=dict)


def incident_frame(
    session: Session, *, data_from: datetime | None, data_to: datetime | None
) -> pd.DataFrame:
    """The local incident copy as the raw input frame of the pipelines (plus `category`)."""
    query = select(
        Incident.occurred_from,
        Incident.category,
        Incident.premises_type,
        Incident.area,
        Incident.lat,
        Incident.lon,
    )
    if data_from is not None:
        query = query.where(Incident.occurred_from >= data_from)
    if data_to is not None:
        query = query.where(Incident.occurred_from < data_to)
    rows = session.execute(query.order_by(Incident.occurred_from, Incident.id)).all()
    frame = pd.DataFrame(
        rows, columns=["occurred_at", "category", "premises_type", "area", "lat", "lon"]
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame


def area_indicator_table(session: Session) -> dict[str, dict[str, float]]:
    return {
        row.area: {k: float(v) for k, v in row.values.items()}
        for row in session.scalars(select(AreaIndicator))
    }


def _window(frame: pd.DataFrame) -> tuple[datetime | None, datetime | None]:
    if frame.empty:
        return None, None
    return frame["occurred_at"].min().to_pydatetime(), frame["occurred_at"].max().to_pydatetime()


def train_classifiers(
    frame: pd.DataFrame,
    *,
    indicators: dict[str, dict[str, float]],
    algorithms: list[str],
    class_balanced: bool,
    grids: dict[str, dict[str, list[Any]]] | None,
    progress: Progress,
    should_cancel: ShouldCancel,
) -> list[TrainedModel]:
    """Every requested algorithm through the protocol (and its class-balanced variant)."""
    counts = frame["category"].value_counts()
    kept = sorted(counts[counts >= MIN_CLASS_INCIDENTS].index)
    excluded = sorted(set(counts.index) - set(kept))
    data = frame[frame["category"].isin(kept)].reset_index(drop=True)
    if len(kept) < 2 or len(data) < MIN_TRAINING_INCIDENTS:
        raise TrainingFailed(
            f"need at least {MIN_TRAINING_INCIDENTS} incidents in at least 2 categories with"
            f" {MIN_CLASS_INCIDENTS}+ incidents each; have {len(data)} in {len(kept)}"
        )
    labels = data["category"].to_numpy().astype(str)
    x = data.drop(columns=["category"])
    x_train, x_test, y_train, y_test = stratified_split(x, labels)
    baseline = majority_baseline(y_train, y_test)
    start, end = _window(data)
    variants = [(a, False) for a in algorithms] + (
        [(a, True) for a in algorithms] if class_balanced else []
    )
    results: list[TrainedModel] = []
    for i, (algorithm, balanced) in enumerate(variants):

        def step(fraction: float, message: str, i: int = i, name: str = algorithm) -> None:
            progress((i + fraction * 0.9) / len(variants), f"{name}: {message}")

        grid = (grids or {}).get(algorithm) or DEFAULT_GRIDS[algorithm]
        pipeline = build_pipeline(algorithm, balanced=balanced, area_indicators=indicators)
        searched = grid_search(
            pipeline, grid, x_train, y_train, progress=step, should_cancel=should_cancel
        )
        if should_cancel():
            from prediction_service.ml.classification import JobCancelled

            raise JobCancelled
        started = time.perf_counter()
        # The class-balanced variant also gets a macro-F1 decision rule (per-class weights)
        # chosen on out-of-fold probabilities of the training part only.
        model = build_pipeline(
            algorithm,
            balanced=balanced,
            tune_decision=balanced,
            area_indicators=indicators,
            params=searched.best_params,
        )
        model.fit(x_train, y_train)
        refit_seconds = time.perf_counter() - started
        test = evaluate(y_test, model.predict_proba(x_test), model.classes_)
        params = {
            "algorithm": algorithm,
            "class_balanced": balanced,
            "best_params": {k: v for k, v in searched.best_params.items()},
            "decision_class_weights": (
                dict(
                    zip(
                        [str(c) for c in model.classes_],
                        [round(float(w), 6) for w in model.named_steps["model"].class_weights_],
                        strict=True,
                    )
                )
                if balanced
                else None
            ),
            "grid": grid,
            "seed": SEED,
        }
        metrics = {
            "protocol": {
                "split": f"{round((1 - TEST_SIZE) * 100)}:{round(TEST_SIZE * 100)} stratified,"
                f" seed {SEED}",
                "cv": f"{CV_FOLDS}-fold stratified grid search on the training part,"
                " scored by log loss",
                "train_rows": len(y_train),
                "test_rows": len(y_test),
            },
            "cv": searched.candidates,
            "test": test,
            "baseline_majority": baseline,
            "timings_seconds": {
                "grid_search": round(searched.fit_seconds, 3),
                "refit": round(refit_seconds, 3),
            },
        }
        card = {
            "intended_use": "Suggest the likely offence category of a recorded incident from its"
            " time, place and premises, to help analysts triage and check coding; not for decisions"
            " about individuals.",
            "model": f"{algorithm}{' (class-balanced)' if balanced else ''}"
            " in one scikit-learn pipeline",
            "data": {
                "source": "records export feed (local incident copy)",
                "window_start": start.isoformat() if start else None,
                "window_end": end.isoformat() if end else None,
                "incidents": len(data),
                "class_counts": {k: int(v) for k, v in counts.items() if k in kept},
                "excluded_categories": excluded,
                "area_indicators": sorted({n for row in indicators.values() for n in row}),
            },
            "features": model.named_steps["features"].feature_groups_,
            "metrics": {
                "accuracy": test["accuracy"],
                "macro_f1": test["macro_f1"],
                "log_loss": test["log_loss"],
                "baseline_accuracy": baseline["accuracy"],
                "baseline_log_loss": baseline["log_loss"],
            },
            "limits": CLASSIFIER_LIMITS,
        }
        results.append(
            TrainedModel(
                algorithm=algorithm,
                class_balanced=balanced,
                model=model,
                params=params,
                metrics=metrics,
                model_card=card,
                window_start=start,
                window_end=end,
                n_rows=len(data),
            )
        )
        progress((i + 1) / len(variants), f"{algorithm}: done")
    return results


def train_forecasters(
    frame: pd.DataFrame,
    *,
    freq: str,
    horizon: int,
    algorithms: list[str],
    evaluation_periods: int,
    progress: Progress,
    should_cancel: ShouldCancel,
    complete_to: datetime | None = None,
) -> list[TrainedModel]:
    """Rolling-origin evaluation over the last periods, then a final fit on all the data.

    A period ending after `complete_to` (the job's start, or the end of the requested data
    window) is still under way: it is left out, and forecasts start with it."""
    if frame.empty:
        raise TrainingFailed("no incidents to forecast from")
    spec = FREQS[freq]
    refit_every = spec["ma"]
    dims = {"area": frame.assign(area=frame["area"].fillna("unknown")), "category": frame}
    complete = None if complete_to is None else pd.Timestamp(complete_to)
    counts = {
        dim: weekly_counts(df, group_column=dim, freq=freq, complete_to=complete)
        for dim, df in dims.items()
    }
    n_periods = counts["category"]["period"].nunique()
    needed = 8 + refit_every * 2 + 1
    if n_periods < needed:
        raise TrainingFailed(
            f"need at least {needed} {'weeks' if freq == 'W' else 'months'} of incidents;"
            f" have {n_periods}"
        )
    periods = sorted(counts["category"]["period"].unique())
    evaluation_periods = min(evaluation_periods, n_periods - 8 - refit_every - 1)
    eval_start = pd.Timestamp(periods[-evaluation_periods])
    eval_end = pd.Timestamp(periods[-1])
    evaluations: dict[str, Any] = {}
    total_steps = len(dims) + len(algorithms) * len(dims)
    done = 0
    for dim, dim_counts in counts.items():

        def step(fraction: float, message: str, dim: str = dim, done: int = done) -> None:
            progress((done + fraction) / total_steps, f"evaluate {dim}: {message}")

        evaluations[dim] = rolling_origin_evaluation(
            dim_counts,
            start=eval_start,
            end=eval_end,
            freq=freq,
            refit_every=refit_every,
            algorithms=tuple(algorithms),
            should_cancel=should_cancel,
            progress=step,
        )
        done += 1
    start, end = _window(frame)
    results = []
    for algorithm in algorithms:
        fitted = {}
        started = time.perf_counter()
        for dim, dim_counts in counts.items():
            if should_cancel():
                from prediction_service.ml.classification import JobCancelled

                raise JobCancelled
            fitted[dim] = CountForecaster(algorithm=algorithm, freq=freq, dimension=dim).fit(
                dim_counts, horizon=horizon
            )
            done += 1
            progress(done / total_steps, f"fit {algorithm} {dim}")
        fit_seconds = time.perf_counter() - started
        bundle = ForecastBundle(algorithm=algorithm, freq=freq, horizon=horizon, dimensions=fitted)
        metrics = {
            "protocol": {
                "evaluation": f"rolling origin, one step ahead, refit every {refit_every} periods",
                "first_period": eval_start.isoformat(),
                "last_period": eval_end.isoformat(),
            },
            "point_forecast": "median of a Poisson with the model mean (MAE-optimal)",
            "design": next(iter(evaluations.values()))["design"],
            "rolling_origin": {
                dim: {
                    "model": report["methods"][algorithm],
                    "model_mean": report["methods"][f"{algorithm}_mean"],
                    "seasonal_naive": report["methods"]["seasonal_naive"],
                    f"moving_average_{spec['ma']}": report["methods"][
                        f"moving_average_{spec['ma']}"
                    ],
                    "series": report["series"],
                    "periods_evaluated": report["periods_evaluated"],
                }
                for dim, report in evaluations.items()
            },
            "timings_seconds": {"final_fit": round(fit_seconds, 3)},
        }
        card = {
            "intended_use": f"Expected {'weekly' if freq == 'W' else 'monthly'} counts of recorded"
            " incidents per area and per category for planning patrols and resources.",
            "model": f"{algorithm} on lag, seasonal and calendar features, recursive multi-step,"
            " split-conformal 80% intervals",
            "data": {
                "source": "records export feed (local incident copy)",
                "window_start": start.isoformat() if start else None,
                "window_end": end.isoformat() if end else None,
                "incidents": len(frame),
                "periods": int(n_periods),
                # Periods ending after this instant were still under way and left out.
                "complete_to": complete.isoformat() if complete is not None else None,
                "areas": int(counts["area"]["series"].nunique()),
                "categories": int(counts["category"]["series"].nunique()),
            },
            "metrics": {
                dim: {
                    "mae": r["methods"][algorithm]["mae"],
                    "rmse": r["methods"][algorithm]["rmse"],
                }
                for dim, r in evaluations.items()
            },
            "limits": FORECAST_LIMITS,
        }
        results.append(
            TrainedModel(
                algorithm=algorithm,
                class_balanced=False,
                model=bundle,
                params={
                    "algorithm": algorithm,
                    "freq": freq,
                    "horizon": horizon,
                    "refit_every": refit_every,
                },
                metrics=metrics,
                model_card=card,
                window_start=start,
                window_end=end,
                n_rows=len(frame),
            )
        )
    return results


def series_names(values: np.ndarray) -> list[str]:
    return sorted({str(v) for v in values})
