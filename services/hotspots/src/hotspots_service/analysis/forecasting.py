"""Hotspot forecasts on a square grid: naive last-365-days, prospective hotspotting, boosting.

Time is cut into bins the length of the horizon (day 1, week 7, month 30 days) anchored at an
origin. A forecast for the bin starting at origin index `o` sees a `PastView`, which holds only
the bins before `o`; every method takes a PastView, so nothing after the origin can reach it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingRegressor

from hotspots_service.analysis.geo import Grid
from hotspots_service.analysis.hotspot_maps import window_sum
from hotspots_service.analysis.points import PointSet

DAY = 86_400
HORIZON_DAYS = {"day": 1, "week": 7, "month": 30}
METHODS = ("naive", "decayed", "prospective", "sepp", "gbm")


@dataclass
class History:
    """Counts per (time bin, cell), overall and per category, with cumulative sums over time."""

    grid: Grid
    edges: np.ndarray  # (B+1,) seconds; bin b = [edges[b], edges[b+1])
    counts: np.ndarray  # (B, cells) int32
    category_counts: np.ndarray  # (C, B, cells) int32
    categories: list[str]
    first_seen: np.ndarray  # (cells,) earliest incident time per cell (int64 max if none)
    cum: NDArray[np.int64] = field(init=False)  # (B+1, cells), cum[b] = sum of bins < b
    cat_cum: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.cum = np.concatenate(
            [np.zeros((1, self.counts.shape[1]), np.int64), np.cumsum(self.counts, 0)]
        )
        zeros = np.zeros((len(self.categories), 1, self.counts.shape[1]), np.int64)
        self.cat_cum = np.concatenate([zeros, np.cumsum(self.category_counts, 1)], axis=1)

    @property
    def bin_seconds(self) -> int:
        return int(self.edges[1] - self.edges[0])

    def past(self, origin_index: int) -> PastView:
        """Everything a forecast for bin `origin_index` may see: bins strictly before it."""
        o = origin_index
        return PastView(
            grid=self.grid,
            origin=int(self.edges[o]),
            bin_seconds=self.bin_seconds,
            cum=self.cum[: o + 1],
            cat_cum=self.cat_cum[:, : o + 1],
            categories=self.categories,
            study=self.first_seen < self.edges[o],
        )


@dataclass
class PastView:
    """Counts strictly before `origin`; cum[-1] is the total up to the origin."""

    grid: Grid
    origin: int
    bin_seconds: int
    cum: NDArray[np.int64]
    cat_cum: NDArray[np.int64]
    categories: list[str]
    study: np.ndarray  # cells with any incident before the origin

    @property
    def n_bins(self) -> int:
        return int(self.cum.shape[0]) - 1

    def bins_for_days(self, days: float) -> int:
        return max(1, math.ceil(days * DAY / self.bin_seconds))

    def window(self, bins: int, *, end: int | None = None) -> NDArray[np.float64]:
        """Counts per cell in the `bins` bins before bin index `end` (default: the origin)."""
        end = self.n_bins if end is None else end
        start = max(0, end - bins)
        counts: NDArray[np.int64] = self.cum[end] - self.cum[start]  # cum is 2-D: a row
        return counts.astype(float)

    def category_window(self, bins: int, *, end: int | None = None) -> NDArray[np.float64]:
        end = self.n_bins if end is None else end
        start = max(0, end - bins)
        return (self.cat_cum[:, end] - self.cat_cum[:, start]).astype(float)

    def bin_counts(self, index: int) -> NDArray[np.float64]:
        counts: NDArray[np.int64] = self.cum[index + 1] - self.cum[index]  # a row of cum
        return counts.astype(float)

    def truncated(self, end: int) -> PastView:
        """The view an earlier origin (bin index `end` < n_bins) would have had, minus study."""
        return PastView(
            grid=self.grid,
            origin=self.origin - (self.n_bins - end) * self.bin_seconds,
            bin_seconds=self.bin_seconds,
            cum=self.cum[: end + 1],
            cat_cum=self.cat_cum[:, : end + 1],
            categories=self.categories,
            study=self.study,
        )


def build_history(
    points: PointSet,
    *,
    grid: Grid,
    first_origin: int,
    bin_seconds: int,
    bins_before: int,
    bins_after: int = 0,
    categories: list[str] | None = None,
) -> History:
    """Bin points into (time, cell) counts; bin edges at first_origin + k*bin_seconds."""
    edges = first_origin + np.arange(-bins_before, bins_after + 1, dtype=np.int64) * bin_seconds
    cats = categories if categories is not None else sorted({str(c) for c in points.category})
    cells = grid.cell_index(points.x, points.y)
    b = np.floor_divide(points.t - edges[0], bin_seconds)
    keep = (cells >= 0) & (b >= 0) & (b < len(edges) - 1)
    n_bins = len(edges) - 1
    counts = np.zeros((n_bins, grid.n_cells), np.int32)
    np.add.at(counts, (b[keep], cells[keep]), 1)
    category_counts = np.zeros((len(cats), n_bins, grid.n_cells), np.int32)
    cat_index = {c: i for i, c in enumerate(cats)}
    ci = np.array([cat_index.get(str(c), -1) for c in points.category], dtype=np.int64)
    keep_c = keep & (ci >= 0)
    np.add.at(category_counts, (ci[keep_c], b[keep_c], cells[keep_c]), 1)
    first_seen = np.full(grid.n_cells, np.iinfo(np.int64).max, dtype=np.int64)
    inside = cells >= 0
    np.minimum.at(first_seen, cells[inside], points.t[inside])
    return History(grid, edges, counts, category_counts, cats, first_seen)


# --- methods ---------------------------------------------------------------------------------


def naive_scores(view: PastView) -> np.ndarray:
    """The baseline: count of the last 365 days per cell."""
    return view.window(view.bins_for_days(365))


def decayed_scores(view: PastView) -> np.ndarray:
    """Count of the last 3 years, each incident's weight halved every year it has aged."""
    return decayed_counts(view, half_life_days=365.0, span_days=3 * 365.0)


def _distance_kernel(radius_cells: int, decay_per_cell: float) -> np.ndarray:
    offsets = np.arange(-radius_cells, radius_cells + 1)
    dx, dy = np.meshgrid(offsets, offsets)
    distance = np.hypot(dx, dy)
    kernel = np.where(distance <= radius_cells + 1e-9, 1.0 / (1.0 + distance * decay_per_cell), 0.0)
    return kernel


def prospective_scores(
    view: PastView,
    *,
    space_bandwidth_m: float = 250.0,
    space_decay_m: float = 100.0,
    time_bandwidth_days: float = 730.0,
    time_decay_days: float = 120.0,
) -> np.ndarray:
    """Prospective hotspotting (Bowers, Johnson & Pease 2004): near-repeat risk.

    Each past incident within the bandwidths adds 1/(1 + d/space_decay) * 1/(1 + age/time_decay),
    d the distance between cell centres and age the time since the incident.
    """
    from scipy import ndimage

    radius = max(0, int(space_bandwidth_m // view.grid.cell_size))
    kernel = _distance_kernel(radius, view.grid.cell_size / space_decay_m)
    bins = view.bins_for_days(time_bandwidth_days)
    start = max(0, view.n_bins - bins)
    weighted = np.zeros(view.grid.n_cells)
    decay_bins = time_decay_days * DAY / view.bin_seconds
    for b in range(start, view.n_bins):
        age = view.n_bins - b - 0.5
        counts = view.bin_counts(b)
        if counts.any():
            weighted += counts / (1.0 + age / decay_bins)
    grid2d = weighted.reshape(view.grid.ny, view.grid.nx)
    smoothed: NDArray[np.float64] = ndimage.convolve(grid2d, kernel, mode="constant", cval=0.0)
    return smoothed.ravel()


@dataclass
class SelfExcitingModel:
    """Self-exciting point process on the grid (Mohler et al. 2011, as in PredPol/open_cp).

    Rate of cell c in the next bin = background * (cell's mean count per bin over the
    `background_days` before) + trigger * sum over past bins b of
    decay * exp(-decay * age_b) * (counts of bin b smoothed by a Gaussian of `sigma_cells`).
    Background and trigger weights, the time decay and the spatial bandwidth are fitted by
    Poisson maximum likelihood on the bins before the fitting origin.
    """

    background: float
    trigger: float
    decay_per_bin: float
    sigma_cells: float
    background_days: float
    trigger_bins: int
    trained_until: int

    def scores(self, view: PastView) -> np.ndarray:
        if view.origin < self.trained_until:
            raise ValueError("the model was trained on data after this origin")
        base, excite = _sepp_terms(
            view,
            end=view.n_bins,
            decay_per_bin=self.decay_per_bin,
            sigma_cells=self.sigma_cells,
            background_days=self.background_days,
            trigger_bins=self.trigger_bins,
        )
        rate: NDArray[np.float64] = self.background * base + self.trigger * excite
        return rate


def _sepp_terms(
    view: PastView,
    *,
    end: int,
    decay_per_bin: float,
    sigma_cells: float,
    background_days: float,
    trigger_bins: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from scipy import ndimage

    background_bins = min(end, view.bins_for_days(background_days))
    base = view.window(background_bins, end=end) / max(1, background_bins)
    start = max(0, end - trigger_bins)
    per_bin = np.diff(view.cum[start : end + 1], axis=0).astype(float)
    age = end - np.arange(start, end) - 0.5
    recent = (decay_per_bin * np.exp(-decay_per_bin * age)) @ per_bin
    grid = view.grid
    excite: NDArray[np.float64] = ndimage.gaussian_filter(
        recent.reshape(grid.ny, grid.nx), sigma_cells, mode="constant", cval=0.0, truncate=3.0
    ).ravel()
    return base, excite


def fit_self_exciting(
    view: PastView,
    *,
    training_origins: int = 26,
    background_days: float = 365.0,
    trigger_days: float = 91.0,
    decays_per_day: tuple[float, ...] = (1 / 7, 1 / 28, 1 / 91),
    sigmas_m: tuple[float, ...] = (1.0, 250.0, 500.0),
) -> SelfExcitingModel:
    """Poisson maximum likelihood over the last `training_origins` bins before the origin."""
    from scipy.optimize import minimize

    study = view.study
    trigger_bins = view.bins_for_days(trigger_days)
    last = view.n_bins - 1
    first = max(view.bins_for_days(background_days) // 2, last - training_origins + 1)
    targets = range(first, last + 1)
    if not targets:
        raise ValueError("not enough history before the origin to train the model")
    labels = np.concatenate([view.bin_counts(b)[study] for b in targets])
    best: tuple[float, SelfExcitingModel] | None = None
    for per_day in decays_per_day:
        decay = per_day * view.bin_seconds / DAY
        for sigma_m in sigmas_m:
            sigma = sigma_m / view.grid.cell_size
            terms = [
                _sepp_terms(
                    view,
                    end=b,
                    decay_per_bin=decay,
                    sigma_cells=sigma,
                    background_days=background_days,
                    trigger_bins=trigger_bins,
                )
                for b in targets
            ]
            base = np.concatenate([t[0][study] for t in terms])
            excite = np.concatenate([t[1][study] for t in terms])

            def negative_log_likelihood(
                w: np.ndarray, base: np.ndarray = base, excite: np.ndarray = excite
            ) -> tuple[float, np.ndarray]:
                rate = w[0] * base + w[1] * excite + 1e-9
                ratio = labels / rate
                value = float(rate.sum() - labels @ np.log(rate))
                gradient = np.array([(base - ratio * base).sum(), (excite - ratio * excite).sum()])
                return value, gradient

            fitted = minimize(
                negative_log_likelihood,
                x0=np.array([0.9, 0.1]),
                jac=True,
                method="L-BFGS-B",
                bounds=[(0.0, None), (0.0, None)],
            )
            model = SelfExcitingModel(
                background=float(fitted.x[0]),
                trigger=float(fitted.x[1]),
                decay_per_bin=decay,
                sigma_cells=sigma,
                background_days=background_days,
                trigger_bins=trigger_bins,
                trained_until=view.origin,
            )
            if best is None or fitted.fun < best[0]:
                best = (float(fitted.fun), model)
    assert best is not None
    return best[1]


# 1, 4, 13, 26, 52, 104 and 156 weeks: from near-repeat to the long-term level of the cell
FEATURE_WINDOWS_DAYS = (7, 28, 91, 182, 365, 730, 1095)
CATEGORY_WINDOWS_DAYS = (91, 365, 1095)
DECAY_HALF_LIVES_DAYS = (91, 365)
LONGEST_FEATURE_DAYS = max(FEATURE_WINDOWS_DAYS)


def decayed_counts(
    view: PastView,
    *,
    half_life_days: float,
    span_days: float = LONGEST_FEATURE_DAYS,
    end: int | None = None,
) -> NDArray[np.float64]:
    """Counts per cell over `span_days` before bin `end`, each halved every `half_life_days`."""
    end = view.n_bins if end is None else end
    start = max(0, end - view.bins_for_days(span_days))
    per_bin = np.diff(view.cum[start : end + 1], axis=0).astype(float)
    age_days = (end - np.arange(start, end) - 0.5) * view.bin_seconds / DAY
    weights = 0.5 ** (age_days / half_life_days)
    decayed: NDArray[np.float64] = weights @ per_bin
    return decayed


def _features(view: PastView, target_start: int) -> np.ndarray:
    """Feature matrix (cells, f) for a forecast of bin `target_start` from bins before it.

    Counts of the cell and of its 1- and 2-cell rings over each window, per category, the
    cell's recent-to-long-term trend, the same season a year earlier and the target's season.
    """
    grid = view.grid
    columns = []
    per_bin: dict[int, NDArray[np.float64]] = {}
    for days in FEATURE_WINDOWS_DAYS:
        bins = view.bins_for_days(days)
        own = view.window(bins, end=target_start)
        ring1 = window_sum(own.reshape(grid.ny, grid.nx), 1).ravel() - own
        ring2 = window_sum(own.reshape(grid.ny, grid.nx), 2).ravel() - own - ring1
        columns += [own, ring1, ring2]
        # history available for this window (short near the start of the data)
        per_bin[days] = own / max(1, min(bins, target_start))
    for days in CATEGORY_WINDOWS_DAYS:
        columns += list(view.category_window(view.bins_for_days(days), end=target_start))
    for half_life_days in DECAY_HALF_LIVES_DAYS:
        columns.append(decayed_counts(view, half_life_days=half_life_days, end=target_start))
    long_rate = per_bin[LONGEST_FEATURE_DAYS]
    for days in (91, 365):
        columns.append((per_bin[days] + 0.05) / (long_rate + 0.05))
    # same season last year: the bins one year before the target
    year = view.bins_for_days(365)
    last_year_end = max(0, target_start - year + view.bins_for_days(14))
    columns.append(view.window(view.bins_for_days(28), end=last_year_end))
    # the target's season
    target_time = view.origin - (view.n_bins - target_start) * view.bin_seconds
    day_of_year = (target_time / DAY) % 365.25
    angle = 2 * np.pi * day_of_year / 365.25
    n = grid.n_cells
    columns += [np.full(n, np.sin(angle)), np.full(n, np.cos(angle))]
    return np.column_stack(columns)


def history_bins(bin_seconds: int, *, training_origins: int, origin_stride: int = 1) -> int:
    """Bins of history a learned forecast needs: its training origins plus the longest window."""
    longest = math.ceil(LONGEST_FEATURE_DAYS * DAY / bin_seconds)
    return longest + training_origins * origin_stride + 1


@dataclass
class BoostedModel:
    """Gradient boosting (Poisson loss) on multi-window counts of the cell and its rings."""

    model: HistGradientBoostingRegressor
    trained_until: int  # the model saw nothing at or after this time (epoch seconds)
    training_rows: int

    def scores(self, view: PastView) -> np.ndarray:
        if view.origin < self.trained_until:
            raise ValueError("the model was trained on data after this origin")
        predicted: NDArray[np.float64] = self.model.predict(_features(view, view.n_bins))
        return predicted


def fit_boosted(
    view: PastView,
    *,
    training_origins: int = 26,
    origin_stride: int = 1,
    target_bins: int = 1,
    zero_keep: float = 0.25,
    seed: int = 0,
    max_iter: int = 120,
) -> BoostedModel:
    """Fit on `training_origins` origins `origin_stride` bins apart before the view's origin.

    The target is the count in the `target_bins` bins after each training origin, per bin, so
    a smoother label still ends before the view's origin. Cells with no incident in the target
    window are subsampled (kept with probability zero_keep, weighted up by 1/zero_keep).
    """
    study = np.flatnonzero(view.study)
    rng = np.random.default_rng(seed)
    xs, ys, ws = [], [], []
    last = view.n_bins - target_bins
    first = max(view.bins_for_days(365) // 2, last - (training_origins - 1) * origin_stride)
    for target in range(last, first - 1, -max(1, origin_stride)):
        label = view.window(target_bins, end=target + target_bins)[study] / target_bins
        keep = (label > 0) | (rng.random(study.size) < zero_keep)
        xs.append(_features(view, target)[study][keep])
        ys.append(label[keep])
        ws.append(np.where(label[keep] > 0, 1.0, 1.0 / zero_keep))
    if not xs or sum(y.sum() for y in ys) <= 0:
        raise ValueError("not enough history before the origin to train the model")
    x_train = np.vstack(xs)
    y_train = np.concatenate(ys)
    model = HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=0.08,
        max_iter=max_iter,
        max_leaf_nodes=31,
        min_samples_leaf=100,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    model.fit(x_train, y_train, sample_weight=np.concatenate(ws))
    return BoostedModel(model, trained_until=view.origin, training_rows=len(y_train))


def rank_cells(scores: np.ndarray, study: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Study cells ordered by descending score; ties broken by a seeded random order."""
    cells = np.flatnonzero(study)
    rng = np.random.default_rng(seed)
    jitter = rng.random(cells.size)
    order = np.lexsort((jitter, -scores[cells]))
    return cells[order]


def flagged_count(share: float, study_cells: int) -> int:
    return max(1, round(share * study_cells))
