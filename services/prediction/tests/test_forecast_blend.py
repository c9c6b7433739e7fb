"""The boosted forecaster's blend with the moving average is chosen on its training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import poisson

from prediction_service.ml.forecasting import (
    FREQS,
    CountForecaster,
    ForecastDesign,
    RateBoostingRegressor,
    features_at,
    fraction_of_year,
    ma_feature_column,
    make_regressor,
    point_forecast,
    training_rows,
    weekly_counts,
)
from prediction_service.registry import artifacts


def _matrix(seed: int, series: int = 30, periods: int = 120) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.5, 6.0, size=(series, 1))
    return rng.poisson(np.repeat(level, periods, axis=1)).astype(np.float64)


def _years(periods: int) -> np.ndarray:
    index = pd.date_range("2020-01-06", periods=periods, freq="W-MON", tz="UTC")
    return fraction_of_year(pd.DatetimeIndex(index))


def test_the_moving_average_column_is_the_13_week_mean_of_earlier_weeks() -> None:
    matrix = _matrix(1)
    t = 60
    row = features_at(matrix, t, _years(matrix.shape[1]), "W")
    np.testing.assert_allclose(row[:, ma_feature_column("W")], matrix[:, t - 13 : t].mean(axis=1))


def test_blend_weights_are_a_scaled_convex_mix_fitted_from_training_rows_only() -> None:
    matrix = _matrix(2)
    years = _years(matrix.shape[1])
    x, y = training_rows(matrix, years, "W", until=100)
    model = make_regressor("gradient_boosting", freq="W").fit(x, y)
    assert isinstance(model, RateBoostingRegressor)
    assert np.all(model.weights_ >= 0)
    assert 0.9 - 1e-9 <= model.weights_.sum() <= 1.1 + 1e-9
    # Weeks after the training window do not enter the fit: refitting after rewriting them
    # gives the same weights and forecasts.
    changed = matrix.copy()
    changed[:, 100:] = 50.0
    x2, y2 = training_rows(changed, years, "W", until=100)
    again = make_regressor("gradient_boosting", freq="W").fit(x2, y2)
    np.testing.assert_allclose(again.weights_, model.weights_)
    probe = features_at(matrix, 100, years, "W")
    np.testing.assert_allclose(again.predict(probe), model.predict(probe))
    assert np.all(model.predict(probe) >= 0)


def test_point_forecast_is_the_poisson_median() -> None:
    rng = np.random.default_rng(3)
    means = np.concatenate([rng.gamma(1.0, 4.0, 20_000), rng.uniform(0.0, 300.0, 2_000), [0.0]])
    np.testing.assert_array_equal(point_forecast(means), poisson.median(np.maximum(means, 1e-9)))
    assert point_forecast(np.array([])).shape == (0,)


def test_features_of_a_week_read_only_earlier_weeks() -> None:
    matrix = _matrix(4, periods=140)
    years = _years(matrix.shape[1])
    t = 120
    row = features_at(matrix, t, years, "W")
    changed = matrix.copy()
    changed[:, t:] = np.random.default_rng(5).poisson(20.0, changed[:, t:].shape)
    np.testing.assert_array_equal(features_at(changed, t, years, "W"), row)
    # A city-wide drop in the week before changes the features (the spring-2020 kind of shock).
    shocked = matrix.copy()
    shocked[:, t - 1] = 0.0
    assert not np.allclose(features_at(shocked, t, years, "W"), row)


@pytest.mark.parametrize("recent_features", [False, True])
def test_every_design_reads_only_earlier_weeks(recent_features: bool) -> None:
    design = ForecastDesign(recent_features=recent_features, half_life=None)
    matrix = _matrix(6, periods=140)
    years = _years(matrix.shape[1])
    row = features_at(matrix, 120, years, "W", design)
    changed = matrix.copy()
    changed[:, 120:] = 99.0
    np.testing.assert_array_equal(features_at(changed, 120, years, "W", design), row)


def test_the_recent_views_are_extra_columns_after_the_base_ones() -> None:
    matrix = _matrix(6, periods=140)
    years = _years(matrix.shape[1])
    base = features_at(matrix, 120, years, "W", ForecastDesign(False, None))
    full = features_at(matrix, 120, years, "W", ForecastDesign(True, None))
    assert full.shape[1] > base.shape[1]
    np.testing.assert_array_equal(full[:, : base.shape[1]], base)


def _counts(matrix: np.ndarray) -> pd.DataFrame:
    periods = pd.date_range("2018-01-01", periods=matrix.shape[1], freq="W-MON", tz="UTC")
    return pd.DataFrame(
        {
            "series": np.repeat([f"area-{i}" for i in range(matrix.shape[0])], matrix.shape[1]),
            "period": np.tile(periods, matrix.shape[0]),
            "count": matrix.ravel(),
        }
    )


@pytest.mark.parametrize(
    "design",
    [
        ForecastDesign(recent_features=False, half_life=None),
        ForecastDesign(recent_features=True, half_life=52.0),
    ],
)
def test_a_forecasters_design_travels_in_its_signed_artifact(design: ForecastDesign) -> None:
    counts = _counts(_matrix(7, series=12, periods=130))
    model = CountForecaster(
        algorithm="gradient_boosting", freq="W", dimension="area", design=design
    ).fit(counts, horizon=3)
    assert model.design == design
    assert model.model_.half_life == design.half_life
    data = artifacts.dump(model)
    loaded = artifacts.verify_and_load(
        data, sha256=artifacts.sha256_hex(data), signature=artifacts.sign(data, b"k"), key=b"k"
    )
    assert loaded.design == design
    assert loaded.forecast(horizon=3) == model.forecast(horizon=3)


def test_forecasters_saved_before_designs_were_named_keep_the_design_they_were_built_with() -> None:
    earlier = ForecastDesign(recent_features=True, half_life=FREQS["W"]["half_life"])
    model = CountForecaster(
        algorithm="linear_regression", freq="W", dimension="area", design=earlier
    ).fit(_counts(_matrix(8, series=6, periods=120)), horizon=2)
    expected = model.forecast(horizon=2)
    del model.design_
    assert model.design == earlier
    assert model.forecast(horizon=2) == expected


def _weekly_incidents(per_week: list[int], first_monday: str = "2023-01-02") -> pd.DataFrame:
    stamps = [
        pd.Timestamp(first_monday, tz="UTC") + pd.Timedelta(weeks=week, hours=1 + i % 150)
        for week, n in enumerate(per_week)
        for i in range(n)
    ]
    return pd.DataFrame({"occurred_at": pd.to_datetime(stamps, utc=True), "area": "North"})


def test_a_sparse_year_of_late_recorded_incidents_before_the_data_is_left_out() -> None:
    # A year of a handful of incidents a week (late-recorded old ones, as Toronto's 2013),
    # with one busier week in it, then two years of normal volume.
    sparse = [3] * 52
    sparse[0] = 40
    incidents = _weekly_incidents(sparse + [100] * 104)
    counts = weekly_counts(incidents, group_column="area")
    assert counts["period"].min() == pd.Timestamp("2023-01-02", tz="UTC") + pd.Timedelta(weeks=52)
    assert counts["count"].tolist() == [100] * 104
    # A quiet week in the middle of the data is data, not a reason to cut the history.
    quiet = _weekly_incidents([100] * 60 + [2] + [100] * 60)
    assert len(weekly_counts(quiet, group_column="area")) == 121


def test_a_week_still_under_way_is_left_out_until_it_is_complete() -> None:
    incidents = _weekly_incidents([100] * 30 + [40])
    last_monday = pd.Timestamp("2023-01-02", tz="UTC") + pd.Timedelta(weeks=30)
    under_way = weekly_counts(
        incidents, group_column="area", complete_to=last_monday + pd.Timedelta(days=2)
    )
    assert under_way["period"].max() == last_monday - pd.Timedelta(weeks=1)
    assert under_way["count"].min() == 100
    done = weekly_counts(
        incidents, group_column="area", complete_to=last_monday + pd.Timedelta(weeks=1)
    )
    assert done["period"].max() == last_monday


def test_a_small_stations_quiet_weeks_do_not_cut_its_history() -> None:
    # About 5 incidents a week: a week with none happens by chance and is data, not a gap.
    per_week = list(np.random.default_rng(9).poisson(5.0, 120))
    per_week[20] = per_week[45] = 0
    counts = weekly_counts(_weekly_incidents(per_week), group_column="area")
    assert len(counts) == 120
    assert counts["count"].sum() == sum(per_week)
