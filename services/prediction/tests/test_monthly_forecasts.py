"""Monthly count forecasts: calendar months, no leakage, season, rolling origin, jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prediction_factories import store_incidents, synthetic_incidents, train

from prediction_service.jobs.training import TrainingFailed, train_forecasters
from prediction_service.ml.forecasting import (
    FORECAST_ALGORITHMS,
    CountForecaster,
    features_at,
    fraction_of_year,
    rolling_origin_evaluation,
    weekly_counts,
)

API = "/api/v1/prediction"


def _months(first: str, last: str) -> pd.DatetimeIndex:
    return pd.date_range(first, last, freq="MS", tz="UTC")


def _seasonal_counts(
    first: str, last: str, *, series: int = 6, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Poisson monthly counts with a strong yearly season (peak in April, trough in October)."""
    periods = _months(first, last)
    levels = np.linspace(15.0, 40.0, series)[:, None]
    season = 1.0 + 0.5 * np.sin(2 * np.pi * (periods.month.to_numpy() - 1) / 12)
    means = levels * season[None, :]
    counts = np.random.default_rng(seed).poisson(means).astype(np.float64)
    frame = pd.DataFrame(
        {
            "series": np.repeat([f"area-{i}" for i in range(series)], len(periods)),
            "period": np.tile(periods, series),
            "count": counts.ravel(),
        }
    )
    return frame, means


def _with_counts(frame: pd.DataFrame, after: pd.Timestamp, value: float) -> pd.DataFrame:
    changed = frame.copy()
    changed.loc[changed["period"] > after, "count"] = value
    return changed


def test_monthly_counts_are_utc_calendar_months_on_a_full_grid() -> None:
    incidents = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    "2024-01-31T23:30:00Z",  # last day of January, late evening
                    "2024-02-01T00:10:00Z",  # first minutes of February
                    "2024-02-29T20:00:00-05:00",  # 1 March 01:00 UTC
                    "2024-05-15T12:00:00Z",
                ],
                utc=True,
            ),
            "area": ["North", "North", "North", "South"],
        }
    )
    counts = weekly_counts(incidents, group_column="area", freq="M")
    table = counts.pivot(index="period", columns="series", values="count")
    assert list(table.index) == list(_months("2024-01-01", "2024-05-01"))
    assert table["North"].tolist() == [1, 1, 1, 0, 0]
    assert table["South"].tolist() == [0, 0, 0, 0, 1]
    assert all(p.day == 1 and p.hour == 0 and p.minute == 0 for p in table.index)
    assert str(counts["period"].dt.tz) == "UTC"


def test_a_few_late_recorded_old_incidents_do_not_open_the_monthly_history() -> None:
    # 24 busy months, and 30 incidents recorded late for 30 different months years before (as
    # in Toronto's data, where such months outnumber the months of real data).
    recent = _months("2022-01-01", "2023-12-01").repeat(50) + pd.Timedelta(days=3)
    old = _months("1990-01-01", "1992-06-01") + pd.Timedelta(days=3)
    stamps = recent.append(old)
    incidents = pd.DataFrame({"occurred_at": stamps, "area": "North"})
    counts = weekly_counts(incidents, group_column="area", freq="M")
    assert counts["period"].min() == pd.Timestamp("2022-01-01", tz="UTC")
    assert counts["count"].tolist() == [50] * 24


def test_monthly_features_read_only_earlier_months() -> None:
    frame, _ = _seasonal_counts("2018-01-01", "2022-12-01", seed=1)
    matrix = frame.pivot(index="series", columns="period", values="count").to_numpy(np.float64)
    years = fraction_of_year(_months("2018-01-01", "2022-12-01"))
    rng = np.random.default_rng(2)
    for t in (9, 20, 30, 50):
        row = features_at(matrix, t, years, "M")
        changed = matrix.copy()
        changed[:, t:] = rng.poisson(80.0, changed[:, t:].shape)
        np.testing.assert_array_equal(features_at(changed, t, years, "M"), row)
        # The monthly lags: last month first, and the same month a year earlier.
        np.testing.assert_array_equal(row[:, 0], matrix[:, t - 1])
        if t >= 12:
            np.testing.assert_array_equal(row[:, 3], matrix[:, t - 12])


@pytest.mark.parametrize("algorithm", FORECAST_ALGORITHMS)
def test_monthly_forecaster_follows_the_season_across_a_year_end(algorithm: str) -> None:
    frame, _ = _seasonal_counts("2019-01-01", "2023-11-01", seed=3)
    forecaster = CountForecaster(algorithm=algorithm, freq="M", dimension="area")
    forecaster.fit(frame, horizon=12)
    assert forecaster.last_period == pd.Timestamp("2023-11-01", tz="UTC")
    _, truth = _seasonal_counts("2023-12-01", "2024-11-01")
    flat = frame.groupby("series")["count"].mean().to_numpy()
    answer = forecaster.forecast(horizon=12)
    assert [s["series"] for s in answer] == [f"area-{i}" for i in range(6)]
    model_error = flat_error = 0.0
    for i, series in enumerate(answer):
        points = series["points"]
        assert [pd.Timestamp(p["period_start"]) for p in points] == list(
            _months("2023-12-01", "2024-11-01")
        )
        for point in points:
            assert 0 <= point["lower"] <= point["forecast"] <= point["upper"]
        forecasts = np.array([p["forecast"] for p in points])
        # April (the peak, index 4) above October (the trough, index 10) for every area.
        assert forecasts[4] > forecasts[10] + 0.3 * flat[i]
        model_error += float(np.abs(forecasts - truth[i]).mean())
        flat_error += float(np.abs(flat[i] - truth[i]).mean())
    assert model_error < 0.5 * flat_error


def test_monthly_rolling_origin_uses_earlier_months_only() -> None:
    frame, _ = _seasonal_counts("2019-01-01", "2023-06-01", seed=4)
    start, end = pd.Timestamp("2022-01-01", tz="UTC"), pd.Timestamp("2022-12-01", tz="UTC")
    report = rolling_origin_evaluation(frame, start=start, end=end, freq="M")
    methods = report["methods"]
    assert {*FORECAST_ALGORITHMS, "seasonal_naive", "moving_average_3"} <= methods.keys()
    assert report["periods_evaluated"] == 12
    assert report["first_period"] == start.isoformat()
    assert report["last_period"] == end.isoformat()
    # Refitted every quarter by default: four blocks in a year.
    assert report["refits"] == 4
    for name in FORECAST_ALGORITHMS:
        assert 0.5 <= methods[name]["coverage"] <= 1.0

    # The baselines are the same month last year and the mean of the three months before.
    wide = frame.pivot(index="series", columns="period", values="count")
    matrix, periods = wide.to_numpy(np.float64), pd.DatetimeIndex(wide.columns)
    targets = [t for t, p in enumerate(periods) if start <= p <= end]
    truth = matrix[:, targets]
    naive = matrix[:, [t - 12 for t in targets]]
    moving = np.stack([matrix[:, t - 3 : t].mean(axis=1) for t in targets], axis=1)
    assert methods["seasonal_naive"]["mae"] == pytest.approx(np.abs(truth - naive).mean())
    assert methods["moving_average_3"]["mae"] == pytest.approx(np.abs(truth - moving).mean())

    # A window from the first month starts where there is history enough: 8 months to learn
    # from, a quarter to calibrate the intervals on, then the evaluated months.
    early = rolling_origin_evaluation(
        frame,
        start=pd.Timestamp("2019-01-01", tz="UTC"),
        end=pd.Timestamp("2020-06-01", tz="UTC"),
        freq="M",
        algorithms=("linear_regression",),
    )
    assert early["first_period"] == "2020-01-01T00:00:00+00:00"
    assert early["periods_evaluated"] == 6

    # Months after the window change nothing.
    later = _with_counts(frame, end, 500.0)
    assert rolling_origin_evaluation(later, start=start, end=end, freq="M") == report

    # A month's own count never reaches its forecast: raising it by 1000 raises every
    # method's error by exactly 1000.
    last = pd.Timestamp("2023-06-01", tz="UTC")
    before = pd.Timestamp("2023-05-01", tz="UTC")
    low = rolling_origin_evaluation(
        _with_counts(frame, before, 1000.0), start=last, end=last, freq="M"
    )
    high = rolling_origin_evaluation(
        _with_counts(frame, before, 2000.0), start=last, end=last, freq="M"
    )
    assert low["periods_evaluated"] == 1
    for name, row in low["methods"].items():
        assert high["methods"][name]["mae"] == pytest.approx(row["mae"] + 1000.0), name


def _monthly_incidents(months: int, *, per_month: int = 40, seed: int = 0) -> pd.DataFrame:
    """Incidents spread over `months` whole months from January 2023."""
    first = pd.Timestamp("2023-01-01")
    days = (first + pd.DateOffset(months=months) - first).days
    return synthetic_incidents(
        months * per_month, seed=seed, start=datetime(2023, 1, 1, tzinfo=UTC), days=days - 1
    )


def _train_monthly(frame: pd.DataFrame) -> dict[str, Any]:
    [trained] = train_forecasters(
        frame,
        freq="M",
        horizon=3,
        algorithms=["linear_regression"],
        evaluation_periods=12,
        progress=lambda fraction, message: None,
        should_cancel=lambda: False,
    )
    return trained.metrics


def test_monthly_training_needs_fifteen_months_and_works_with_exactly_that() -> None:
    # 8 months of history, a calibration quarter and a quarter to evaluate (no crash).
    metrics = _train_monthly(_monthly_incidents(15, seed=5))
    assert metrics["protocol"]["first_period"] == "2024-01-01T00:00:00+00:00"
    assert metrics["rolling_origin"]["area"]["periods_evaluated"] == 3
    with pytest.raises(TrainingFailed, match="need at least 15 months"):
        _train_monthly(_monthly_incidents(14, seed=5))


def test_monthly_forecast_job_promote_and_serve_month_starts(
    client: TestClient, database_url: str, analyst: dict[str, str], officer: dict[str, str]
) -> None:
    incidents = synthetic_incidents(1500, seed=12, days=30 * 30)
    store_incidents(database_url, incidents)
    _linear_id, version_id = train(
        client,
        analyst,
        kind="forecast_month",
        algorithms=["linear_regression", "gradient_boosting"],
        horizon=3,
        evaluation_periods=6,
    )
    version = client.get(f"{API}/models/{version_id}", headers=analyst).json()
    assert version["kind"] == "forecast_month"
    assert version["params"]["freq"] == "M"
    assert version["params"]["refit_every"] == 3
    assert "monthly" in version["model_card"]["intended_use"]
    area = version["metrics"]["rolling_origin"]["area"]
    assert {"model", "seasonal_naive", "moving_average_3"} <= area.keys()
    assert area["periods_evaluated"] == 6

    assert client.post(f"{API}/models/{version_id}/promote", headers=analyst).status_code == 200
    # A monthly model serves monthly forecasts only.
    assert (
        client.get(f"{API}/forecasts", params={"freq": "week"}, headers=officer).status_code == 409
    )
    answer = client.get(
        f"{API}/forecasts",
        params={"freq": "month", "dimension": "area", "series": ["East", "West"]},
        headers=officer,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"]["id"] == version_id
    assert body["freq"] == "month"
    assert [s["series"] for s in body["series"]] == ["East", "West"]
    latest = pd.Timestamp(incidents["occurred_at"].max())
    next_month = (latest.tz_convert(None).to_period("M") + 1).start_time.tz_localize("UTC")
    expected = list(pd.date_range(next_month, periods=3, freq="MS"))
    for series in body["series"]:
        points = series["points"]
        assert [pd.Timestamp(p["period_start"]) for p in points] == expected
        for point in points:
            assert 0 <= point["lower"] <= point["forecast"] <= point["upper"]
            assert point["lower"] < point["upper"]


def test_monthly_80_percent_intervals_cover_about_80_percent_and_widen_with_the_horizon() -> None:
    frame, _ = _seasonal_counts("2019-01-01", "2023-11-01", series=60, seed=5)
    forecaster = CountForecaster(algorithm="linear_regression", freq="M", dimension="area")
    forecaster.fit(frame, horizon=3)
    assert len(forecaster.interval_quantiles_) == 3
    assert np.all(np.diff(forecaster.interval_quantiles_) >= 0)
    future, _ = _seasonal_counts("2023-12-01", "2024-02-01", series=60, seed=6)
    actual = future.set_index(["series", "period"])["count"]
    inside = [
        point["lower"]
        <= actual[(s["series"], pd.Timestamp(point["period_start"]))]
        <= point["upper"]
        for s in forecaster.forecast(horizon=3)
        for point in s["points"]
    ]
    assert len(inside) == 180
    assert 0.65 <= np.mean(inside) <= 0.95
