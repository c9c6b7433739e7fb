"""The numpy serving path gives the pipeline's own probabilities and explanations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from prediction_factories import synthetic_incidents

from prediction_service.ml.classification import ALGORITHMS, build_pipeline, explain
from prediction_service.ml.fast import FastClassifier, IncidentColumns


@dataclass
class Incident:
    occurred_at: datetime
    premises_type: str | None
    area: str | None
    lat: float | None
    lon: float | None


def _columns(rows: list[Incident]) -> IncidentColumns:
    """As the router hands a request's rows over: unknown values null, or left out (odd rows)."""
    return IncidentColumns.from_rows(
        [
            {k: v for k, v in vars(r).items() if v is not None or k == "occurred_at" or i % 2 == 0}
            for i, r in enumerate(rows)
        ]
    )


def _requests(frame: pd.DataFrame) -> list[Incident]:
    rows = [
        Incident(r.occurred_at.to_pydatetime(), r.premises_type, r.area, r.lat, r.lon)
        for r in frame.itertuples()
    ]
    # Edge cases: missing and unseen values, naive and offset times, blank text.
    rows += [
        Incident(datetime(2025, 3, 1, 23, 30), None, None, None, None),
        Incident(
            datetime(2024, 6, 1, 2, 15, tzinfo=timezone(timedelta(hours=-5))),
            "  Spaceport ",
            "Atlantis",
            43.61,
            -79.39,
        ),
        Incident(datetime(2024, 9, 9, 12, 0, 59, 999999, tzinfo=UTC), "", " North ", 43.62, None),
    ]
    return rows


def _frame(rows: list[Incident]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    r.occurred_at.replace(tzinfo=UTC)
                    if r.occurred_at.tzinfo is None
                    else r.occurred_at
                    for r in rows
                ],
                utc=True,
            ),
            "premises_type": [r.premises_type for r in rows],
            "area": [r.area for r in rows],
            "lat": np.array([np.nan if r.lat is None else r.lat for r in rows], dtype=np.float64),
            "lon": np.array([np.nan if r.lon is None else r.lon for r in rows], dtype=np.float64),
        }
    )


@pytest.mark.parametrize("balanced", [False, True])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_fast_path_matches_the_pipeline(algorithm: str, balanced: bool) -> None:
    data = synthetic_incidents(300, seed=31)
    x, y = data.drop(columns=["category"]), data["category"].to_numpy()
    params = {"model__n_estimators": 5} if algorithm == "random_forest" else None
    model = build_pipeline(
        algorithm,
        balanced=balanced,
        tune_decision=balanced,
        area_indicators={"North": {"population": 1000.0}, "South": {"population": 50.0}},
        params=params,
    ).fit(x, y)
    fast = FastClassifier.compile(model)
    assert fast is not None
    rows = _requests(x.iloc[:40]) + _requests(synthetic_incidents(20, seed=32))
    frame = _frame(rows)
    np.testing.assert_allclose(
        fast.predict_proba(_columns(rows)), model.predict_proba(frame), atol=1e-9
    )
    proba, reasons = fast.explain(_columns(rows), top=4)
    expected_proba, expected_reasons = explain(model, frame, top=4)
    np.testing.assert_allclose(proba, expected_proba, atol=1e-9)
    for got, want in zip(reasons, expected_reasons, strict=True):
        assert [r["contribution"] for r in got] == pytest.approx(
            [r["contribution"] for r in want], abs=1e-6
        )
        # Names agree wherever contributions are not tied.
        assert {r["feature"] for r in got if r["contribution"]} <= {r["feature"] for r in want} | {
            r["feature"] for r in got if r["contribution"] in [w["contribution"] for w in want]
        }


def test_pipelines_with_extra_inputs_use_the_pipeline_path() -> None:
    data = synthetic_incidents(200, seed=33)
    data["pub_id"] = 1.0
    model = build_pipeline("logistic_regression", extra_numeric=["pub_id"]).fit(
        data.drop(columns=["category"]), data["category"]
    )
    assert FastClassifier.compile(model) is None


def test_fast_path_windows_are_in_real_seconds() -> None:
    at = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
    history = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [at - timedelta(days=400), at - timedelta(days=10), at - timedelta(minutes=5)],
                utc=True,
            ),
            "category": ["burglary", "theft", "robbery"],
            "premises_type": ["House"] * 3,
            "area": ["North"] * 3,
            "lat": [43.7] * 3,
            "lon": [-79.4] * 3,
        }
    )
    model = build_pipeline("logistic_regression").fit(
        history.drop(columns=["category"]), history["category"].to_numpy()
    )
    fast = FastClassifier.compile(model)
    assert fast is not None
    query = [
        Incident(at, "House", "North", 43.7, -79.4),
        Incident(at - timedelta(minutes=5), "House", "North", 43.7, -79.4),
    ]
    _, numeric = fast._raw_features(_columns(query))
    column = {name: numeric[:, j] for j, name in enumerate(fast.numeric)}
    # 365-day cell mix: the theft (10 days) and robbery (5 minutes), not the burglary (400 days).
    assert column["cell_total"][0] == np.log1p(2)
    assert column["cell_share_burglary"][0] == 0.5 / (2 + 0.5 * 3)
    # Strictly before, to the second: the robbery does not see itself.
    assert column["place_total"][1] == np.log1p(2)
    assert column["place_count_robbery"][1] == 0
    np.testing.assert_allclose(
        fast.predict_proba(_columns(query)), model.predict_proba(_frame(query))
    )


@pytest.mark.parametrize("balanced", [False, True])
def test_booster_batches_give_the_pipelines_exact_probabilities(balanced: bool) -> None:
    # Big batches are scored binned and in a sorted row order; each row must still get exactly
    # the pipeline's numbers, in the caller's order.
    data = synthetic_incidents(400, seed=41)
    x, y = data.drop(columns=["category"]), data["category"].to_numpy()
    model = build_pipeline("gradient_boosting", balanced=balanced, tune_decision=balanced).fit(x, y)
    fast = FastClassifier.compile(model)
    assert fast is not None
    assert fast.sort_columns is not None
    rows = _requests(synthetic_incidents(600, seed=42)) + _requests(x.iloc[:50])
    expected = model.predict_proba(_frame(rows))
    np.testing.assert_array_equal(fast.predict_proba(_columns(rows)), expected)
    shuffled = np.random.default_rng(0).permutation(len(rows))
    np.testing.assert_array_equal(
        fast.predict_proba(_columns([rows[i] for i in shuffled])), expected[shuffled]
    )
