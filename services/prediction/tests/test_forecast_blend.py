"""The boosted forecaster's blend with the moving average is chosen on its training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

from prediction_service.ml.forecasting import (
    RateBoostingRegressor,
    features_at,
    fraction_of_year,
    ma_feature_column,
    make_regressor,
    point_forecast,
    training_rows,
)


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
