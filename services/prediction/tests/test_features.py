"""No feature uses information from after the incident; the protocol's split is stratified."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
from prediction_factories import synthetic_incidents

from prediction_service.ml.classification import build_pipeline, stratified_split
from prediction_service.ml.features import IncidentFeatures
from prediction_service.ml.forecasting import features_at, rolling_origin_evaluation, weekly_counts


def _fit_features(frame: pd.DataFrame) -> IncidentFeatures:
    return IncidentFeatures().fit(frame.drop(columns=["category"]), frame["category"])


def test_no_feature_uses_incidents_after_the_one_described() -> None:
    frame = synthetic_incidents(600, seed=1)
    cutoff = frame["occurred_at"].iloc[300]
    earlier = frame[frame["occurred_at"] <= cutoff]
    # Rewrite the future: other categories, and many more incidents at the same places.
    future = frame[frame["occurred_at"] > cutoff].copy()
    future["category"] = np.roll(future["category"].to_numpy(), 7)
    extra = future.copy()
    extra["occurred_at"] = extra["occurred_at"] + pd.Timedelta(days=3)
    altered = pd.concat([earlier, future, extra], ignore_index=True)

    original = _fit_features(frame).transform(earlier.drop(columns=["category"]))
    rewritten = _fit_features(altered).transform(earlier.drop(columns=["category"]))
    pd.testing.assert_frame_equal(original, rewritten)
    # ...while the future really does change the features of later incidents.
    later = frame[frame["occurred_at"] > cutoff].drop(columns=["category"])
    assert not _fit_features(frame).transform(later).equals(_fit_features(altered).transform(later))


def test_an_incident_never_sees_itself_or_its_twins() -> None:
    at = pd.Timestamp("2025-05-01T10:00:00Z")
    rows = pd.DataFrame(
        {
            "occurred_at": [at - pd.Timedelta(days=1), at, at, at + pd.Timedelta(days=1)],
            "category": ["theft", "burglary", "burglary", "assault"],
            "premises_type": ["House"] * 4,
            "area": ["North"] * 4,
            "lat": [43.7] * 4,
            "lon": [-79.4] * 4,
        }
    )
    features = _fit_features(rows).transform(rows.drop(columns=["category"]))
    # Rows 1 and 2 (same instant, same place) see only the theft of the day before.
    for i in (1, 2):
        assert features.loc[i, "place_count_theft"] == np.log1p(1)
        assert features.loc[i, "place_count_burglary"] == 0
        assert features.loc[i, "place_count_assault"] == 0
    assert features.loc[0, "place_total"] == 0
    assert features.loc[3, "place_count_burglary"] == np.log1p(2)


def test_own_label_does_not_reach_own_features() -> None:
    frame = synthetic_incidents(300, seed=2)
    flipped = frame.copy()
    flipped.loc[150, "category"] = "assault" if frame.loc[150, "category"] != "assault" else "theft"
    x = frame.drop(columns=["category"])
    a = _fit_features(frame).transform(x.iloc[[150]])
    b = _fit_features(flipped).transform(x.iloc[[150]])
    pd.testing.assert_frame_equal(a, b)


def test_training_features_equal_serving_features() -> None:
    frame = synthetic_incidents(300, seed=4)
    x, y = frame.drop(columns=["category"]), frame["category"].to_numpy()
    pipeline = build_pipeline("logistic_regression").fit(x, y)
    step = pipeline.named_steps["features"]
    pd.testing.assert_frame_equal(step.fit_transform(x, y), step.transform(x))


def test_area_indicators_are_joined_by_area() -> None:
    frame = synthetic_incidents(100, seed=5)
    step = IncidentFeatures(
        area_indicators={"North": {"population": 1000.0}, "South": {"population": 50.0}}
    )
    out = step.fit(frame.drop(columns=["category"]), frame["category"]).transform(frame)
    expected = frame["area"].map({"North": 1000.0, "South": 50.0}).to_numpy(dtype=float)
    np.testing.assert_array_equal(out["indicator_population"].to_numpy(), expected)
    assert step.feature_groups_["area_indicators"] == ["indicator_population"]


def test_split_is_stratified_and_reproducible() -> None:
    frame = synthetic_incidents(500, seed=6)
    labels = frame["category"].to_numpy()
    _, _, y_train, y_test = stratified_split(frame, labels)
    assert len(y_test) == 100
    total = Counter(labels)
    for category, count in total.items():
        assert abs(Counter(y_test)[category] - count * 0.2) <= 1
        assert abs(Counter(y_train)[category] - count * 0.8) <= 1
    _, _, _, again_test = stratified_split(frame, labels)
    assert list(again_test) == list(y_test)


def test_forecast_features_and_rolling_origin_never_look_ahead() -> None:
    frame = synthetic_incidents(3000, seed=7, days=7 * 80)
    counts = weekly_counts(frame, group_column="area", freq="W")
    matrix = counts.pivot(index="series", columns="period", values="count").to_numpy(dtype=float)
    years = np.linspace(0, 1, matrix.shape[1])
    t = 40
    changed = matrix.copy()
    changed[:, t:] *= 10
    np.testing.assert_array_equal(
        features_at(matrix, t, years, "W"), features_at(changed, t, years, "W")
    )

    periods = sorted(counts["period"].unique())
    start, end = pd.Timestamp(periods[50]), pd.Timestamp(periods[-1])
    report = rolling_origin_evaluation(counts, start=start, end=end, freq="W", refit_every=13)
    assert report["first_period"] == start.isoformat()
    assert set(report["methods"]) == {
        "linear_regression",
        "gradient_boosting",
        "linear_regression_mean",
        "gradient_boosting_mean",
        "seasonal_naive",
        "moving_average_13",
        "moving_average_13_median",
    }
    for row in report["methods"].values():
        assert row["mae"] >= 0
        assert row["rmse"] >= row["mae"]


def _history_at_one_place(unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    at = pd.Timestamp("2025-05-01T10:00:00Z")
    history = pd.DataFrame(
        {
            "occurred_at": pd.Series(
                [
                    at - pd.Timedelta(days=400),
                    at - pd.Timedelta(days=10),
                    at - pd.Timedelta(minutes=5),
                ]
            ).dt.as_unit(unit),
            "category": ["burglary", "theft", "robbery"],
            "premises_type": ["House"] * 3,
            "area": ["North"] * 3,
            "lat": [43.7] * 3,
            "lon": [-79.4] * 3,
        }
    )
    query = history.drop(columns=["category"]).iloc[:1].copy()
    query["occurred_at"] = pd.Series([at]).dt.as_unit(unit)
    return history, query


def test_time_windows_are_in_real_seconds_whatever_the_datetime_unit() -> None:
    for unit in ("ns", "us", "ms", "s"):
        history, query = _history_at_one_place(unit)
        out = _fit_features(history).transform(query)
        # The 365-day mix of the cell counts the theft 10 days earlier and the robbery 5 minutes
        # earlier, not the burglary 400 days earlier.
        assert out.loc[0, "cell_total"] == np.log1p(2), unit
        classes = 3
        assert out.loc[0, "cell_share_burglary"] == 0.5 / (2 + 0.5 * classes), unit
        assert out.loc[0, "cell_share_theft"] == 1.5 / (2 + 0.5 * classes), unit
        # All-time place history counts all three, and "strictly before" resolves minutes.
        assert out.loc[0, "place_total"] == np.log1p(3), unit
        later = history.drop(columns=["category"])
        seen = _fit_features(history).transform(later)
        # The robbery (5 minutes before `at`) sees the theft and the burglary, not itself.
        assert seen.loc[2, "place_total"] == np.log1p(2), unit
        assert seen.loc[2, "place_count_robbery"] == 0, unit
