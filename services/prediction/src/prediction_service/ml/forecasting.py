"""Crime-count forecasting: weekly or monthly counts per area or per category.

One global model per dimension learns from lag, seasonal and calendar features of every series;
forecasts for the next k periods are made recursively. Prediction intervals are split-conformal:
the model is fitted on data before a calibration window, its recursive forecasts over that window
give normalised absolute errors per horizon, and their quantile scales the interval.

Evaluation is by rolling origin only: every period is forecast from data before it, beside the
seasonal-naive and moving-average baselines (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import pdtr, pdtri
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression

FREQS: dict[str, dict[str, Any]] = {
    "W": {
        "season": 52,
        "ma": 13,
        "lags": (1, 2, 3, 4),
        "windows": (4, 13, 52),
        "more_windows": (8, 26),
        "season_halfwidth": (4, 6),
        "half_life": 104,  # of the design served before designs were named
    },
    "M": {
        "season": 12,
        "ma": 3,
        "lags": (1, 2, 3),
        "windows": (3, 6, 12),
        "more_windows": (2, 9),
        "season_halfwidth": (1, 1),
        "half_life": 24,  # likewise
    },
}


@dataclass(frozen=True)
class ForecastDesign:
    """The choices that make one forecaster design: whether rows carry the extra views of the
    recent past (`_recent_columns`), and the half-life in periods of the boosted model's
    recency weighting (None: every training row counts the same)."""

    recent_features: bool
    half_life: float | None


# The design served (weekly and monthly), chosen by `bench/forecast_design.py` on 2017-2019
# only (lowest boosted MAE for both; every other design was within 0.01 MAE weekly), before
# 2020-2021 was scored. The recent views and recency weighting stay available as designs.
SERVED_DESIGN = ForecastDesign(recent_features=False, half_life=None)


# Exponentially weighted means of a series' own past counts (smoothing factor per period).
EWM_ALPHAS = (0.1, 0.25, 0.5)
FORECAST_ALGORITHMS = ("linear_regression", "gradient_boosting")
MIN_HISTORY = 8
LEVEL_FLOOR = 0.1
INTERVAL_LEVEL = 0.8


def period_start(stamps: pd.Series, freq: str) -> pd.Series:
    """Start (UTC midnight) of the week (Monday) or month of each timestamp."""
    naive = pd.to_datetime(stamps, utc=True).dt.tz_convert(None)
    period = naive.dt.to_period("W-SUN" if freq == "W" else "M")
    return period.dt.start_time.dt.tz_localize("UTC")


def weekly_counts(
    incidents: pd.DataFrame,
    *,
    group_column: str,
    freq: str = "W",
    complete_to: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Counts per (series, period) on a full grid: periods with no incident count zero.

    Periods that end after `complete_to` (the time up to which the data is complete: now, or
    the end of a requested window) are left out: a week still under way would read as a drop.
    """
    periods = period_start(incidents["occurred_at"], freq)
    frame = pd.DataFrame(
        {"series": incidents[group_column].fillna("unknown").astype(str), "period": periods}
    )
    counts = frame.groupby(["series", "period"]).size().rename("count").reset_index()
    offset = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin()
    if complete_to is not None and not counts.empty:
        ends = counts["period"] + offset
        counts = counts[ends <= pd.Timestamp(complete_to)]
    if counts.empty:
        return counts
    counts = counts[counts["period"] >= _dense_start(counts, offset)]
    grid_periods = pd.date_range(counts["period"].min(), counts["period"].max(), freq=offset)
    grid = pd.MultiIndex.from_product(
        [sorted(counts["series"].unique()), grid_periods], names=["series", "period"]
    )
    return counts.set_index(["series", "period"]).reindex(grid, fill_value=0).reset_index()


def _dense_start(counts: pd.DataFrame, offset: pd.DateOffset) -> pd.Timestamp:
    """The first period of the continuous stretch of normal volume the data is made of.

    Late-recorded old incidents (years before the rest) would open a long, almost empty
    history: Toronto's data holds months back to 1966 and a year of 2013 with a few incidents
    a week, which would read as a year without crime. A period is sparse below a tenth of the
    typical volume (the volume of the period holding the median incident; the median period
    can itself be an empty old one, there being more of those) when so low a count is also
    implausible as chance (a small station's quiet week with nothing recorded is not a gap in
    the data). The series start after the last sparse period before the median incident.
    """
    totals = counts.groupby("period")["count"].sum().sort_index()
    totals = totals.reindex(
        pd.date_range(totals.index.min(), totals.index.max(), freq=offset), fill_value=0
    )
    by_volume = totals.sort_values()
    typical = by_volume[by_volume.cumsum() >= by_volume.sum() / 2].iloc[0]
    median_period = totals.index[np.searchsorted(totals.cumsum().to_numpy(), totals.sum() / 2)]
    # P(count <= observed) for a Poisson count with the typical mean: below 1e-4, not chance.
    implausible = pdtr(totals.to_numpy(), float(typical)) < 1e-4
    sparse = totals[(totals < 0.1 * typical) & implausible & (totals.index < median_period)]
    if sparse.empty:
        return pd.Timestamp(totals.index[0])
    return pd.Timestamp(sparse.index[-1] + offset)


def to_matrix(counts: pd.DataFrame) -> tuple[list[str], pd.DatetimeIndex, np.ndarray]:
    wide = counts.pivot(index="series", columns="period", values="count").fillna(0.0)
    return (
        [str(s) for s in wide.index],
        pd.DatetimeIndex(wide.columns),
        wide.to_numpy(dtype=np.float64),
    )


def features_at(
    matrix: np.ndarray,
    t: int,
    periods_of_year: np.ndarray,
    freq: str,
    design: ForecastDesign | None = None,
) -> np.ndarray:
    """Features of period t for every series, from columns before t only."""
    spec = FREQS[freq]
    n_series = matrix.shape[0]
    past = matrix[:, :t]
    cumsum = np.concatenate([np.zeros((n_series, 1)), np.cumsum(past, axis=1)], axis=1)
    expanding = cumsum[:, t] / max(t, 1)
    columns = []
    for lag in spec["lags"]:
        columns.append(past[:, t - lag] if t - lag >= 0 else expanding)
    season = spec["season"]
    columns.append(past[:, t - season] if t - season >= 0 else expanding)
    for window in spec["windows"]:
        start = max(t - window, 0)
        columns.append((cumsum[:, t] - cumsum[:, start]) / max(t - start, 1))
    columns.append(expanding)
    angle = 2 * np.pi * periods_of_year[t]
    columns.append(np.full(n_series, np.sin(angle)))
    columns.append(np.full(n_series, np.cos(angle)))
    # Everything together: the trend of all series, and each series' share of it.
    total = past.sum(axis=0)
    short, middle, long_ = (max(t - w, 0) for w in spec["windows"])
    total_short = total[short:t].mean() if t > short else 0.0
    total_middle = total[middle:t].mean() if t > middle else 0.0
    total_long = max(total[long_:t].mean() if t > long_ else 0.0, 1e-9)
    share = (cumsum[:, t] - cumsum[:, long_]) / max(total[long_:t].sum(), 1e-9)
    columns.append(np.full(n_series, total_short / total_long))
    columns.append(np.full(n_series, total_middle / total_long))
    columns.append(share * total_short)
    columns.append(share * total_middle)
    # The level the boosted model scales: the long-window mean (never below a small floor).
    level = np.maximum((cumsum[:, t] - cumsum[:, long_]) / max(t - long_, 1), LEVEL_FLOOR)
    for column in list(columns[: len(spec["lags"]) + 1 + len(spec["windows"])]):
        columns.append(column / level)
    columns.append(level)
    if (design or SERVED_DESIGN).recent_features:
        columns.extend(_recent_columns(past, total, spec))
    return np.column_stack(columns)


def _recent_columns(past: np.ndarray, total: np.ndarray, spec: dict[str, Any]) -> list[np.ndarray]:
    """More views of the recent past: further moving averages, exponentially weighted means,
    sudden city-wide shifts (all series together, as in spring 2020) and each series' own
    seasonal profile (the weeks around the same week last year against that year's mean)."""
    n_series, t = past.shape
    season = spec["season"]
    long_mean = np.maximum(past[:, max(t - season, 0) : t].mean(axis=1), LEVEL_FLOOR)
    columns = [past[:, max(t - window, 0) : t].mean(axis=1) for window in spec["more_windows"]]
    for alpha in EWM_ALPHAS:
        weights = (1.0 - alpha) ** np.arange(t - 1, -1, -1)
        smoothed = past @ weights / weights.sum()
        columns += [smoothed, smoothed / long_mean]
    ma_mean = max(float(total[max(t - spec["ma"], 0) : t].mean()), 1e-9)
    season_mean = max(float(total[max(t - season, 0) : t].mean()), 1e-9)
    own_half, city_half = spec["season_halfwidth"]
    if t >= 2 * season:
        last_year = total[t - season - city_half : t - season + city_half + 1].mean()
        city_season = float(last_year / max(float(total[t - 2 * season : t - season].mean()), 1e-9))
        own_year = past[:, t - season - own_half : t - season + own_half + 1].mean(axis=1)
        own_season = own_year / np.maximum(
            past[:, t - 2 * season : t - season].mean(axis=1), LEVEL_FLOOR
        )
    else:
        city_season, own_season = 1.0, np.ones(n_series)
    for value in (
        total[t - 1] / ma_mean,
        total[t - 1] / season_mean,
        total[max(t - 2, 0) : t].mean() / season_mean,
        city_season,
    ):
        columns.append(np.full(n_series, value))
    columns += [own_season, own_season * long_mean]
    return columns


def fraction_of_year(periods: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray((periods.day_of_year.to_numpy() - 1) / 365.25, dtype=np.float64)


class RateBoostingRegressor:
    """Gradient boosting started from a linear model: a linear regression gives each row a
    base rate, then Poisson boosting learns multiplicative corrections of it (the rate y / base
    weighted by the base is the same as boosting log-counts with a log(base) offset).

    Rows may carry their age (periods before the newest training period); both parts then
    weight rows by 0.5 ** (age / half_life), so recent behaviour counts more than 2013's.

    The mean returned blends the boosted rate, the linear base and the series' own moving
    average (feature column `ma_column`), times a scale in [0.9, 1.1] (the Poisson median
    rounds, so a slightly shifted mean can give better point forecasts). The weights are chosen
    by an inner time-based validation on the training rows only: rows come in period order, so
    the boosting is fitted on the first part, the weights minimising the MAE of the
    Poisson-median point forecast on the last `holdout` share of rows are kept, and the boosting
    is then refitted on all rows."""

    def __init__(
        self,
        *,
        seed: int = 42,
        ma_column: int | None = None,
        holdout: float = 0.15,
        half_life: float | None = None,
    ):
        self.seed = seed
        self.ma_column = ma_column
        self.holdout = holdout
        self.half_life = half_life

    def _weights(self, ages: np.ndarray | None, n_rows: int) -> np.ndarray:
        if ages is None or self.half_life is None:
            return np.ones(n_rows)
        return np.asarray(0.5 ** (ages / self.half_life), dtype=np.float64)

    def _fit_parts(self, x: np.ndarray, y: np.ndarray, ages: np.ndarray | None) -> tuple[Any, Any]:
        weights = self._weights(ages, len(y))
        linear = LinearRegression().fit(x, y, sample_weight=weights)
        base = np.maximum(linear.predict(x), LEVEL_FLOOR)
        booster = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=150,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=200,
            l2_regularization=1.0,
            random_state=self.seed,
        ).fit(x, y / base, sample_weight=base * weights)
        return linear, booster

    def _components(self, linear: Any, booster: Any, x: np.ndarray) -> np.ndarray:
        base = np.maximum(linear.predict(x), LEVEL_FLOOR)
        boosted = booster.predict(x) * base
        moving = x[:, self.ma_column] if self.ma_column is not None else boosted
        return np.column_stack([boosted, np.clip(base, 0.0, None), moving])

    def fit(
        self, x: np.ndarray, y: np.ndarray, *, ages: np.ndarray | None = None
    ) -> RateBoostingRegressor:
        self.weights_ = np.array([1.0, 0.0, 0.0])
        split = int(len(y) * (1.0 - self.holdout))
        if self.ma_column is not None and 1000 <= split < len(y):
            # The inner model's rows are aged from the end of its own (earlier) window.
            inner_ages = None if ages is None else ages[:split] - ages[:split].min()
            linear, booster = self._fit_parts(x[:split], y[:split], inner_ages)
            parts = self._components(linear, booster, x[split:])
            best = np.inf
            grid = np.linspace(0.0, 1.0, 11)
            for a in grid:
                for b in grid:
                    if a + b > 1.0 + 1e-9:
                        continue
                    for scale in np.linspace(0.9, 1.1, 11):
                        w = scale * np.array([a, b, 1.0 - a - b])
                        mae = float(np.mean(np.abs(y[split:] - point_forecast(parts @ w))))
                        if mae < best - 1e-12:
                            best, self.weights_ = mae, w
        self.linear_, self.model_ = self._fit_parts(x, y, ages)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        weights = getattr(self, "weights_", np.array([1.0, 0.0, 0.0]))
        return np.asarray(self._components(self.linear_, self.model_, x) @ weights)


def ma_feature_column(freq: str) -> int:
    """Index of the `ma`-period moving average among the columns of `features_at`."""
    spec = FREQS[freq]
    return len(spec["lags"]) + 1 + list(spec["windows"]).index(spec["ma"])


def make_regressor(
    algorithm: str,
    *,
    seed: int = 42,
    freq: str | None = None,
    design: ForecastDesign | None = None,
) -> Any:
    if algorithm == "linear_regression":
        return LinearRegression()
    if algorithm == "gradient_boosting":
        if freq is None:
            return RateBoostingRegressor(seed=seed)
        return RateBoostingRegressor(
            seed=seed,
            ma_column=ma_feature_column(freq),
            half_life=(design or SERVED_DESIGN).half_life,
        )
    raise ValueError(f"unknown forecasting algorithm {algorithm!r}")


@lru_cache(maxsize=8)
def _poisson_median_edges(size: int) -> np.ndarray:
    # edges[k] is the mean at which P(X <= k) = 1/2: the median is k for means in
    # (edges[k-1], edges[k]], since P(X <= k) falls as the mean grows.
    return np.asarray(pdtri(np.arange(size), 0.5), dtype=np.float64)


def point_forecast(mean: np.ndarray) -> np.ndarray:
    """The median of a Poisson with the forecast mean: the point forecast MAE rewards."""
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 1e-9)
    if mean.size == 0:
        return mean
    # The same value as scipy's poisson.median (up to rounding exactly at an edge), found by
    # a binary search over precomputed edges: ~40x faster, which the blend search needs.
    size = 64
    while size < float(mean.max()) + 2:
        size *= 2
    edges = _poisson_median_edges(size)
    return np.searchsorted(edges, mean, side="left").astype(np.float64)


def training_rows(
    matrix: np.ndarray,
    years: np.ndarray,
    freq: str,
    *,
    until: int,
    design: ForecastDesign | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and targets of every period in [MIN_HISTORY, until)."""
    xs, ys = [], []
    for t in range(MIN_HISTORY, until):
        xs.append(features_at(matrix, t, years, freq, design))
        ys.append(matrix[:, t])
    if not xs:
        raise ValueError("not enough history to train a forecaster")
    return np.vstack(xs), np.concatenate(ys)


def row_ages(n_series: int, *, until: int) -> np.ndarray:
    """Age of every row of `training_rows(..., until=until)`: periods before the newest one."""
    return np.repeat(np.arange(until - 1 - MIN_HISTORY, -1, -1, dtype=np.float64), n_series)


def fit_regressor(
    algorithm: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    freq: str,
    n_series: int,
    until: int,
    design: ForecastDesign | None = None,
) -> Any:
    """A fitted forecasting model for the rows of `training_rows(..., until=until)`."""
    model = make_regressor(algorithm, freq=freq, design=design)
    if isinstance(model, RateBoostingRegressor):
        return model.fit(x, y, ages=row_ages(n_series, until=until))
    return model.fit(x, y)


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(model.predict(x), 0.0, None), dtype=np.float64)


def recursive_forecast(
    model: Any,
    matrix: np.ndarray,
    years: np.ndarray,
    freq: str,
    *,
    start: int,
    horizon: int,
    design: ForecastDesign | None = None,
) -> np.ndarray:
    """Forecast periods start..start+horizon-1 from columns before start, feeding forecasts back."""
    work = np.concatenate([matrix[:, :start], np.zeros((matrix.shape[0], horizon))], axis=1)
    out = np.zeros((matrix.shape[0], horizon))
    for h in range(horizon):
        t = start + h
        out[:, h] = _predict(model, features_at(work, t, years, freq, design))
        work[:, t] = out[:, h]
    return out


def _scale(prediction: np.ndarray) -> np.ndarray:
    # Count errors grow like sqrt(level) (Poisson-like), so residuals are normalised by it.
    return np.asarray(np.sqrt(np.maximum(prediction, 1.0)), dtype=np.float64)


class CountForecaster:
    """A fitted global forecaster for the series of one dimension, with conformal intervals."""

    def __init__(
        self,
        *,
        algorithm: str,
        freq: str,
        dimension: str,
        design: ForecastDesign | None = None,
    ) -> None:
        self.algorithm = algorithm
        self.freq = freq
        self.dimension = dimension
        # Kept as plain values: the artifact loader trusts builtins, not our dataclass.
        self.design_ = asdict(design or SERVED_DESIGN)

    @property
    def design(self) -> ForecastDesign:
        stored = getattr(self, "design_", None)
        # Artifacts saved before designs were named were all built with recent features and
        # the frequency's default half-life.
        if stored is None:
            return ForecastDesign(recent_features=True, half_life=FREQS[self.freq]["half_life"])
        return ForecastDesign(**stored)

    def fit(
        self, counts: pd.DataFrame, *, horizon: int, calibration_periods: int | None = None
    ) -> CountForecaster:
        design = self.design
        series, periods, matrix = to_matrix(counts)
        years_all = fraction_of_year(_extend(periods, horizon, self.freq))
        n = matrix.shape[1]
        # Every step ahead is calibrated on at least `ma` + 1 origins (a window of only
        # `horizon` periods left the last step of a 3-month forecast a single origin).
        calibration = calibration_periods or horizon + FREQS[self.freq]["ma"]
        calibration = min(calibration, max(n - MIN_HISTORY - 4, 0))
        quantiles = np.full(horizon, np.nan)
        if calibration >= 1:
            origin = n - calibration
            x, y = training_rows(matrix, years_all, self.freq, until=origin, design=design)
            cal_model = fit_regressor(
                self.algorithm,
                x,
                y,
                freq=self.freq,
                n_series=len(series),
                until=origin,
                design=design,
            )
            errors: list[list[float]] = [[] for _ in range(horizon)]
            for start in range(origin, n):
                steps = min(horizon, n - start)
                forecast = recursive_forecast(
                    cal_model,
                    matrix,
                    years_all,
                    self.freq,
                    start=start,
                    horizon=steps,
                    design=design,
                )
                for h in range(steps):
                    actual = matrix[:, start + h]
                    centre = point_forecast(forecast[:, h])
                    errors[h].extend((np.abs(actual - centre) / _scale(forecast[:, h])).tolist())
            last = np.nan
            for h in range(horizon):
                if errors[h]:
                    last = float(np.quantile(errors[h], INTERVAL_LEVEL))
                quantiles[h] = last
        x, y = training_rows(matrix, years_all, self.freq, until=n, design=design)
        self.model_ = fit_regressor(
            self.algorithm, x, y, freq=self.freq, n_series=len(series), until=n, design=design
        )
        fallback = np.nanmax(quantiles) if np.isfinite(quantiles).any() else 1.28
        # Uncertainty does not shrink further ahead: a step whose calibration errors happened
        # to be smaller keeps the width of the step before it.
        self.interval_quantiles_ = np.maximum.accumulate(
            np.where(np.isfinite(quantiles), quantiles, fallback)
        )
        self.series_ = series
        # Nanoseconds whatever unit pandas chose (pandas 3 often uses microseconds): the
        # forecast rebuilds its dates from these integers as nanoseconds.
        self.periods_ns_ = periods.as_unit("ns").asi8.copy()
        self.matrix_ = matrix
        self.horizon_ = horizon
        return self

    @property
    def last_period(self) -> pd.Timestamp:
        return pd.Timestamp(int(self.periods_ns_[-1]), tz="UTC")

    def forecast(self, *, horizon: int, series: list[str] | None = None) -> list[dict[str, Any]]:
        """Point forecasts and intervals for the next `horizon` periods after the training data."""
        periods = pd.DatetimeIndex(pd.to_datetime(self.periods_ns_, utc=True))
        future = _extend(periods, horizon, self.freq)
        years = fraction_of_year(future)
        n = self.matrix_.shape[1]
        point = recursive_forecast(
            self.model_,
            self.matrix_,
            years,
            self.freq,
            start=n,
            horizon=horizon,
            design=self.design,
        )
        wanted = set(series) if series else None
        out = []
        for i, name in enumerate(self.series_):
            if wanted is not None and name not in wanted:
                continue
            points = []
            for h in range(horizon):
                q = float(self.interval_quantiles_[min(h, len(self.interval_quantiles_) - 1)])
                half = q * float(_scale(point[i : i + 1, h])[0])
                centre = float(point_forecast(point[i : i + 1, h])[0])
                points.append(
                    {
                        "period_start": future[n + h].isoformat(),
                        "forecast": centre,
                        "expected": round(float(point[i, h]), 4),
                        "lower": round(max(centre - half, 0.0), 4),
                        "upper": round(centre + half, 4),
                    }
                )
            out.append({"series": name, "points": points})
        return out


def _extend(periods: pd.DatetimeIndex, horizon: int, freq: str) -> pd.DatetimeIndex:
    offset = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin()
    extra = pd.date_range(periods[-1], periods=horizon + 1, freq=offset)[1:]
    return periods.append(extra)


def rolling_origin_evaluation(
    counts: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    freq: str = "W",
    refit_every: int | None = None,
    algorithms: tuple[str, ...] = FORECAST_ALGORITHMS,
    design: ForecastDesign | None = None,
    intervals: bool = True,
    per_period: bool = False,
    should_cancel: Callable[[], bool] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """One-step-ahead forecasts of every period in [start, end] from earlier data only.

    Models are refitted every `refit_every` periods on all periods before the block; baselines
    are seasonal naive (same period a season earlier) and the moving average of the last
    `ma` periods. An 80% conformal interval per model is calibrated on the block before
    (`intervals=False` skips it, halving the fits, for comparing designs on points alone).
    With `per_period`, each method's `period_mae` also lists the MAE of every evaluated period
    in order, so differences between methods can be judged against their period-to-period spread.
    """
    spec = FREQS[freq]
    if refit_every is None:
        # A quarter: 13 weeks or 3 months (a fixed 13 would refit monthly models yearly).
        refit_every = spec["ma"]
    series, periods, matrix = to_matrix(counts)
    years = fraction_of_year(periods)
    targets = [
        t
        for t in range(len(periods))
        # The interval's calibration model needs a training period before the block before.
        if start <= periods[t] <= end and t > MIN_HISTORY + refit_every
    ]
    if not targets:
        raise ValueError("no period to evaluate in the requested window")
    predictions: dict[str, list[np.ndarray]] = {name: [] for name in algorithms}
    for name in algorithms:
        predictions[f"{name}_mean"] = []
    predictions["seasonal_naive"] = []
    predictions[f"moving_average_{spec['ma']}"] = []
    predictions[f"moving_average_{spec['ma']}_median"] = []
    lowers: dict[str, list[np.ndarray]] = {name: [] for name in algorithms}
    uppers: dict[str, list[np.ndarray]] = {name: [] for name in algorithms}
    actuals: list[np.ndarray] = []
    refits = 0
    blocks = [targets[i : i + refit_every] for i in range(0, len(targets), refit_every)]
    for b, block in enumerate(blocks):
        if should_cancel is not None and should_cancel():
            from prediction_service.ml.classification import JobCancelled

            raise JobCancelled
        origin = block[0]
        x, y = training_rows(matrix, years, freq, until=origin, design=design)
        if intervals:
            cal_origin = origin - refit_every
            cal_x, cal_y = training_rows(matrix, years, freq, until=cal_origin, design=design)
            cal_rows = np.vstack(
                [features_at(matrix, t, years, freq, design) for t in range(cal_origin, origin)]
            )
            cal_true = np.concatenate([matrix[:, t] for t in range(cal_origin, origin)])
        for name in algorithms:
            if intervals:
                cal_model = fit_regressor(
                    name,
                    cal_x,
                    cal_y,
                    freq=freq,
                    n_series=len(series),
                    until=cal_origin,
                    design=design,
                )
                cal_mean = _predict(cal_model, cal_rows)
                cal_error = np.abs(cal_true - point_forecast(cal_mean)) / _scale(cal_mean)
                q = float(np.quantile(cal_error, INTERVAL_LEVEL))
            model = fit_regressor(
                name, x, y, freq=freq, n_series=len(series), until=origin, design=design
            )
            for t in block:
                mean = _predict(model, features_at(matrix, t, years, freq, design))
                point = point_forecast(mean)
                predictions[name].append(point)
                predictions[f"{name}_mean"].append(mean)
                if intervals:
                    lowers[name].append(np.maximum(point - q * _scale(mean), 0))
                    uppers[name].append(point + q * _scale(mean))
        refits += 1
        for t in block:
            actuals.append(matrix[:, t])
            season = spec["season"]
            predictions["seasonal_naive"].append(
                matrix[:, t - season] if t >= season else matrix[:, :t].mean(axis=1)
            )
            ma = spec["ma"]
            moving = matrix[:, max(t - ma, 0) : t].mean(axis=1)
            predictions[f"moving_average_{ma}"].append(moving)
            predictions[f"moving_average_{ma}_median"].append(point_forecast(moving))
        if progress is not None:
            progress((b + 1) / len(blocks), f"rolling origin {b + 1}/{len(blocks)}")
    truth = np.concatenate(actuals)
    methods: dict[str, dict[str, Any]] = {}
    for name, values in predictions.items():
        pred = np.concatenate(values)
        row: dict[str, Any] = {
            "mae": float(np.mean(np.abs(truth - pred))),
            "rmse": float(np.sqrt(np.mean((truth - pred) ** 2))),
        }
        if per_period:
            row["period_mae"] = [
                float(np.mean(np.abs(a - p))) for a, p in zip(actuals, values, strict=True)
            ]
        if intervals and name in lowers:
            lo, hi = np.concatenate(lowers[name]), np.concatenate(uppers[name])
            row["coverage"] = float(np.mean((truth >= lo) & (truth <= hi)))
        methods[name] = row
    return {
        "methods": methods,
        "refits": refits,
        "refit_every": refit_every,
        "periods_evaluated": len(targets),
        "series": len(series),
        "first_period": periods[targets[0]].isoformat(),
        "last_period": periods[targets[-1]].isoformat(),
        "interval_level": INTERVAL_LEVEL if intervals else None,
        "design": asdict(design or SERVED_DESIGN),
    }


class ForecastBundle:
    """The forecasters of one algorithm and frequency for every dimension (area, category)."""

    def __init__(
        self, *, algorithm: str, freq: str, horizon: int, dimensions: dict[str, CountForecaster]
    ) -> None:
        self.algorithm = algorithm
        self.freq = freq
        self.horizon = horizon
        self.dimensions = dimensions
