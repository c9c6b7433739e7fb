"""Synthetic incident points with known structure, for tests, demos and benchmarks."""

from __future__ import annotations

import numpy as np

from hotspots_service.analysis.geo import Projection
from hotspots_service.analysis.points import PointSet

# A UTM 17N frame near Toronto; points are made in metres and projected back to WGS84.
PROJECTION = Projection(32617)
ORIGIN_X, ORIGIN_Y = 630_000.0, 4_835_000.0
DAY = 86_400
START = 1_546_300_800  # 2019-01-01T00:00:00Z


def points_from_metres(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    category: np.ndarray | None = None,
    area: np.ndarray | None = None,
) -> PointSet:
    lon, lat = PROJECTION.to_wgs84(x, y)
    if category is None:
        category = np.full(x.size, "theft", dtype=object)
    return PointSet.build(
        lat=lat, lon=lon, t=t, category=category, area=area, projection=PROJECTION
    )


def blobs(seed: int = 1) -> tuple[PointSet, np.ndarray]:
    """Three tight clusters (300, 200, 150 points) in 4 km x 4 km of sparse noise (80)."""
    rng = np.random.default_rng(seed)
    centres = [(800.0, 800.0), (3000.0, 1200.0), (1800.0, 3200.0)]
    sizes = [300, 200, 150]
    xs, ys, truth = [], [], []
    for label, ((cx, cy), n) in enumerate(zip(centres, sizes, strict=True)):
        xs.append(rng.normal(cx, 60, n))
        ys.append(rng.normal(cy, 60, n))
        truth += [label] * n
    xs.append(rng.uniform(0, 4000, 80))
    ys.append(rng.uniform(0, 4000, 80))
    truth += [-1] * 80
    x = ORIGIN_X + np.concatenate(xs)
    y = ORIGIN_Y + np.concatenate(ys)
    t = START + rng.integers(0, 365 * DAY, x.size)
    cats = rng.choice(np.array(["theft", "assault", "robbery"], dtype=object), x.size)
    return points_from_metres(x, y, t, cats), np.array(truth)


def planted_hotspot_history(
    seed: int = 2, *, weeks: int = 130, hot_cell_xy: tuple[float, float] = (1125.0, 1375.0)
) -> PointSet:
    """Uniform background over 3 km x 3 km for `weeks` weeks plus one cell with steady crime."""
    rng = np.random.default_rng(seed)
    n_background = 20 * weeks
    x = rng.uniform(0, 3000, n_background)
    y = rng.uniform(0, 3000, n_background)
    t = START + rng.integers(0, weeks * 7 * DAY, n_background)
    hot_n = 6 * weeks
    hx = hot_cell_xy[0] + rng.uniform(-100, 100, hot_n)
    hy = hot_cell_xy[1] + rng.uniform(-100, 100, hot_n)
    ht = START + rng.integers(0, weeks * 7 * DAY, hot_n)
    cats = np.where(rng.random(n_background + hot_n) < 0.5, "theft", "burglary").astype(object)
    areas = np.where(np.concatenate([x, hx]) < 1500, "West", "East").astype(object)
    return points_from_metres(
        ORIGIN_X + np.concatenate([x, hx]),
        ORIGIN_Y + np.concatenate([y, hy]),
        np.concatenate([t, ht]),
        cats,
        areas,
    )
