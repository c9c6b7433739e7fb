"""Rolling-origin backtests of hotspot forecasts: hit rate, PAI and PEI at shares of area.

For each origin (one per horizon bin from `start` to `end`), every method ranks the study cells
(cells with any incident before that origin) from a PastView, which holds only the bins before
the origin; the bin after it is then scored. The grid is laid over the data before `start`.
Hit rate = share of the period's incidents in the flagged cells (incidents outside the study
area count as misses); PAI = hit rate / share of the study area flagged; PEI = flagged hits /
the most hits any choice of that many cells could have had.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hotspots_service.analysis.forecasting import (
    DAY,
    HORIZON_DAYS,
    BoostedModel,
    History,
    PastView,
    SelfExcitingModel,
    build_history,
    decayed_scores,
    fit_boosted,
    fit_self_exciting,
    flagged_count,
    history_bins,
    naive_scores,
    prospective_scores,
    rank_cells,
)
from hotspots_service.analysis.geo import Grid
from hotspots_service.analysis.points import PointSet

Progress = Callable[[float, str], None]
DEFAULT_SHARES = (0.01, 0.05, 0.10)


def _quiet(_f: float, _m: str) -> None:
    return None


@dataclass
class OriginScore:
    origin: int
    method: str
    incidents: int
    hits: dict[float, int]
    best_hits: dict[float, int]
    flagged: dict[float, int]
    study_cells: int
    top_cells: list[int]  # ranking of the first flagged cells at the largest share


def score_ranking(
    ranking: np.ndarray,
    actual: np.ndarray,
    *,
    study: np.ndarray,
    total_incidents: int,
    shares: tuple[float, ...],
) -> tuple[dict[float, int], dict[float, int], dict[float, int]]:
    """Hits, best possible hits and flagged cell count at each share of the study area."""
    study_cells = int(study.sum())
    best_order = np.sort(actual[study])[::-1]
    hits, best, flagged = {}, {}, {}
    for share in shares:
        n = flagged_count(share, study_cells)
        hits[share] = int(actual[ranking[:n]].sum())
        best[share] = int(best_order[:n].sum())
        flagged[share] = n
    return hits, best, flagged


class MethodRunner:
    """Scores of one method at successive origins, refitting the learned model as configured."""

    def __init__(
        self,
        method: str,
        *,
        retrain_every: int,
        training_origins: int,
        seed: int,
        target_bins: int = 1,
        origin_stride: int = 1,
    ):
        self.method = method
        self.target_bins = target_bins
        self.retrain_every = retrain_every
        self.training_origins = training_origins
        self.origin_stride = origin_stride
        self.seed = seed
        self._model: BoostedModel | SelfExcitingModel | None = None
        self._fitted_bin = 0  # view.n_bins at the last fit

    def _fit(self, view: PastView) -> BoostedModel | SelfExcitingModel:
        if self.method == "gbm":
            return fit_boosted(
                view,
                training_origins=self.training_origins,
                origin_stride=self.origin_stride,
                target_bins=self.target_bins,
                seed=self.seed,
            )
        return fit_self_exciting(view, training_origins=self.training_origins)

    def scores(self, view: PastView) -> np.ndarray:
        if self.method == "naive":
            return naive_scores(view)
        if self.method == "decayed":
            return decayed_scores(view)
        if self.method == "prospective":
            return prospective_scores(view)
        if self.method in ("gbm", "sepp"):
            stale = view.n_bins - self._fitted_bin >= self.retrain_every
            if self._model is None or stale:
                self._model = self._fit(view)
                self._fitted_bin = view.n_bins
            return self._model.scores(view)
        raise ValueError(f"unknown method {self.method!r}")


def backtest(
    points: PointSet,
    *,
    start: int,
    end: int,
    horizon: str = "week",
    cell_size: float = 250.0,
    methods: tuple[str, ...] = ("naive", "decayed", "prospective", "sepp", "gbm"),
    shares: tuple[float, ...] = DEFAULT_SHARES,
    retrain_every: int = 4,
    training_origins: int = 26,
    origin_stride: int = 1,
    target_bins: int = 1,
    every: int = 1,
    seed: int = 0,
    keep_rankings: bool = False,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Rolling-origin backtest of `methods` (the naive baseline is always added).

    `every` > 1 scores only every n-th origin (a quick check); learned models are still refit
    every `retrain_every` bins of time.
    """
    if horizon not in HORIZON_DAYS:
        raise ValueError(f"horizon must be one of {sorted(HORIZON_DAYS)}")
    methods = tuple(dict.fromkeys(("naive", *methods)))
    bin_seconds = HORIZON_DAYS[horizon] * DAY
    n_origins = (end - start) // bin_seconds
    if n_origins < 1:
        raise ValueError("the backtest period is shorter than one horizon")
    before = points.t < start
    if not before.any():
        raise ValueError("no incidents before the backtest start to learn from")
    grid = Grid.covering(points.x[before], points.y[before], cell_size)
    bins_before = history_bins(
        bin_seconds, training_origins=training_origins, origin_stride=origin_stride
    )
    history = build_history(
        points,
        grid=grid,
        first_origin=start,
        bin_seconds=bin_seconds,
        bins_before=bins_before,
        bins_after=n_origins,
    )
    # incidents per scored bin, including those outside the grid (they count as misses)
    in_period = (points.t >= start) & (points.t < start + n_origins * bin_seconds)
    period_totals = np.bincount(
        (points.t[in_period] - start) // bin_seconds, minlength=n_origins
    ).astype(int)
    runners = {
        m: MethodRunner(
            m,
            retrain_every=retrain_every,
            training_origins=training_origins,
            seed=seed,
            target_bins=target_bins,
            origin_stride=origin_stride,
        )
        for m in methods
    }
    results: list[OriginScore] = []
    for k in range(0, n_origins, max(1, every)):
        o = bins_before + k
        view = history.past(o)
        actual = history.counts[o].astype(float)
        for method, runner in runners.items():
            ranking = rank_cells(runner.scores(view), view.study, seed=seed)
            hits, best, flagged = score_ranking(
                ranking,
                actual,
                study=view.study,
                total_incidents=int(period_totals[k]),
                shares=shares,
            )
            top = ranking[: flagged[max(shares)]].tolist() if keep_rankings else []
            results.append(
                OriginScore(
                    origin=int(history.edges[o]),
                    method=method,
                    incidents=int(period_totals[k]),
                    hits=hits,
                    best_hits=best,
                    flagged=flagged,
                    study_cells=int(view.study.sum()),
                    top_cells=top,
                )
            )
        progress((k + 1) / n_origins, f"scored origin {k + 1} of {n_origins}")
    return summarise(
        results,
        methods=methods,
        shares=shares,
        horizon=horizon,
        cell_size=cell_size,
        grid=grid,
        keep_rankings=keep_rankings,
    )


def _iso(seconds: int) -> str:
    return np.datetime_as_string(np.datetime64(int(seconds), "s"), unit="s") + "Z"


def summarise(
    results: list[OriginScore],
    *,
    methods: tuple[str, ...],
    shares: tuple[float, ...],
    horizon: str,
    cell_size: float,
    grid: Grid,
    keep_rankings: bool,
) -> dict[str, Any]:
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for method in methods:
        rows = [r for r in results if r.method == method and r.incidents > 0]
        per_share = {}
        for share in shares:
            hit_rates = np.array([r.hits[share] / r.incidents for r in rows])
            area = np.array([r.flagged[share] / r.study_cells for r in rows])
            pei = np.array(
                [r.hits[share] / r.best_hits[share] if r.best_hits[share] else 0.0 for r in rows]
            )
            total_hits = sum(r.hits[share] for r in rows)
            total = sum(r.incidents for r in rows)
            per_share[f"{share:g}"] = {
                "hit_rate": float(hit_rates.mean()) if rows else 0.0,
                "pai": float((hit_rates / area).mean()) if rows else 0.0,
                "pei": float(pei.mean()) if rows else 0.0,
                "pooled_hit_rate": total_hits / total if total else 0.0,
                "area_share": float(area.mean()) if rows else 0.0,
            }
        summary[method] = per_share
    baseline = summary["naive"]
    for method in methods:
        for key, values in summary[method].items():
            base = baseline[key]["hit_rate"]
            values["hit_rate_vs_baseline"] = values["hit_rate"] / base if base else None
    origins = sorted({r.origin for r in results})
    answer: dict[str, Any] = {
        "protocol": "rolling origin; each origin ranks study cells using only earlier data",
        "horizon": horizon,
        "cell_size_m": cell_size,
        "origins": len(origins),
        "first_origin": _iso(origins[0]) if origins else None,
        "last_origin": _iso(origins[-1]) if origins else None,
        "grid": {"nx": grid.nx, "ny": grid.ny},
        "baseline": "naive",
        "methods": summary,
    }
    if keep_rankings:
        answer["rankings"] = [
            {
                "origin": _iso(r.origin),
                "method": r.method,
                "top_cells": r.top_cells,
                "hits": {f"{k:g}": v for k, v in r.hits.items()},
                "incidents": r.incidents,
            }
            for r in results
        ]
    return answer


def history_for_forecast(
    points: PointSet, *, origin: int, horizon: str, cell_size: float, training_origins: int = 26
) -> History:
    """Bins before `origin` over a grid laid on the incidents before it."""
    bin_seconds = HORIZON_DAYS[horizon] * DAY
    before = points.t < origin
    if not before.any():
        raise ValueError("no incidents before the forecast origin")
    grid = Grid.covering(points.x[before], points.y[before], cell_size)
    return build_history(
        points.subset(before),
        grid=grid,
        first_origin=origin,
        bin_seconds=bin_seconds,
        bins_before=history_bins(bin_seconds, training_origins=training_origins),
    )
