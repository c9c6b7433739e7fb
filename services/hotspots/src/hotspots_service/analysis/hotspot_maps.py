"""Grid counts, kernel density, Getis-Ord Gi* with Benjamini-Hochberg FDR, emerging hotspots.

Gi* (Getis & Ord 1992, the "star" form that includes the cell itself) with binary weights: a
cell's neighbourhood is the (2r+1)x(2r+1) block of cells around it, clipped at the grid edge.
For counts x_j over all n cells of the grid, with W_i = sum_j w_ij and S1_i = sum_j w_ij^2:

    Gi* = (sum_j w_ij x_j - xbar W_i) / (s * sqrt((n S1_i - W_i^2) / (n - 1)))
    xbar = mean(x), s = sqrt(mean(x^2) - xbar^2)

and p is the two-sided normal tail. Significance is decided on Benjamini-Hochberg adjusted p
(the false discovery rate correction ArcGIS applies).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, stats

from hotspots_service.analysis.geo import Grid, Projection, cell_polygons, feature_collection


def window_sum(values: np.ndarray, radius: int) -> NDArray[np.float64]:
    """Sum over the (2r+1)^2 block around every cell, zero outside the grid."""
    size = 2 * radius + 1
    # uniform_filter averages; constant mode pads with zeros, so mean*size^2 is the clipped sum
    mean: NDArray[np.float64] = ndimage.uniform_filter(
        values.astype(float), size=size, mode="constant", cval=0.0
    )
    return mean * (size * size)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (monotone, capped at 1), same shape as p."""
    flat = np.asarray(p, dtype=float).ravel()
    n = flat.size
    if n == 0:
        return flat.reshape(np.shape(p))
    order = np.argsort(flat)
    ranked = flat[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out.reshape(np.shape(p))


@dataclass
class GiStar:
    z: np.ndarray  # (ny, nx)
    p: np.ndarray
    p_fdr: np.ndarray


def getis_ord_gi_star(counts: np.ndarray, *, radius: int = 1) -> GiStar:
    """Gi* z-score, p-value and FDR-adjusted p-value of every cell of a (ny, nx) count grid."""
    x = counts.astype(float)
    n = x.size
    xbar = x.mean()
    s = np.sqrt(max((x * x).mean() - xbar * xbar, 0.0))
    ones = np.ones_like(x)
    w_sum = window_sum(ones, radius)  # binary weights: W_i = S1_i = neighbours incl. self
    local = window_sum(x, radius)
    denominator = s * np.sqrt(np.maximum(n * w_sum - w_sum * w_sum, 0.0) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denominator > 0, (local - xbar * w_sum) / denominator, 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return GiStar(z=z, p=p, p_fdr=benjamini_hochberg(p))


def classify(z: float, p_fdr: float) -> tuple[str, int]:
    """ArcGIS-style bin: hot/cold with 99, 95 or 90 % confidence after FDR, else none."""
    for level, alpha in ((99, 0.01), (95, 0.05), (90, 0.10)):
        if p_fdr <= alpha:
            return ("hot" if z > 0 else "cold"), level
    return "not_significant", 0


def kde_surface(
    x: np.ndarray, y: np.ndarray, grid: Grid, *, bandwidth: float
) -> NDArray[np.float64]:
    """Gaussian kernel density in incidents per km^2 at each cell (binned, then smoothed)."""
    counts = grid.counts(x, y)
    sigma = bandwidth / grid.cell_size
    smoothed: NDArray[np.float64] = ndimage.gaussian_filter(
        counts.astype(float), sigma=sigma, mode="constant"
    )
    return smoothed / grid.cell_area_km2


def grid_features(
    grid: Grid,
    projection: Projection,
    cells: np.ndarray,
    properties: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    polygons = cell_polygons(grid, projection, cells)
    features: list[dict[str, Any]] = []
    for cell, polygon, props in zip(cells, polygons, properties, strict=True):
        row, col = divmod(int(cell), grid.nx)
        features.append(
            {
                "type": "Feature",
                "id": int(cell),
                "geometry": {"type": "Polygon", "coordinates": polygon},
                "properties": {"cell": int(cell), "row": row, "col": col, **props},
            }
        )
    return features


def grid_map(
    x: np.ndarray,
    y: np.ndarray,
    *,
    projection: Projection,
    cell_size: float,
    radius: int = 1,
    alpha: float = 0.05,
    include_empty: bool = False,
) -> dict[str, Any]:
    """Square-grid counts with Gi* z, p, FDR p and class per cell, as GeoJSON."""
    grid = Grid.covering(x, y, cell_size, margin=radius)
    counts = grid.counts(x, y)
    gi = getis_ord_gi_star(counts, radius=radius)
    flat_counts = counts.ravel()
    significant = gi.p_fdr.ravel() <= alpha
    keep = np.ones(grid.n_cells, bool) if include_empty else (flat_counts > 0) | significant
    cells = np.flatnonzero(keep)
    z = gi.z.ravel()[cells]
    p = gi.p.ravel()[cells]
    q = gi.p_fdr.ravel()[cells]
    properties: list[dict[str, Any]] = []
    for c, zi, pi, qi in zip(flat_counts[cells], z, p, q, strict=True):
        kind, level = classify(float(zi), float(qi))
        properties.append(
            {
                "count": int(c),
                "gi_z": round(float(zi), 4),
                "p_value": float(pi),
                "p_fdr": float(qi),
                "hotspot": kind,
                "confidence": level,
                "significant": bool(qi <= alpha),
            }
        )
    features = grid_features(grid, projection, cells, properties)
    return feature_collection(
        features,
        cell_size_m=cell_size,
        crs_used_for_distances=f"EPSG:{projection.epsg}",
        grid={"nx": grid.nx, "ny": grid.ny, "cells": grid.n_cells},
        neighbourhood=f"{2 * radius + 1}x{2 * radius + 1} cells, binary weights, incl. self",
        fdr_alpha=alpha,
        points=int(x.size),
        hot_cells=int(np.sum((gi.z.ravel() > 0) & (gi.p_fdr.ravel() <= alpha))),
        cold_cells=int(np.sum((gi.z.ravel() < 0) & (gi.p_fdr.ravel() <= alpha))),
    )


def kde_map(
    x: np.ndarray,
    y: np.ndarray,
    *,
    projection: Projection,
    cell_size: float,
    bandwidth: float,
    min_share_of_peak: float = 0.05,
) -> dict[str, Any]:
    """KDE surface on the grid as GeoJSON cells whose density is at least a share of the peak."""
    margin = int(np.ceil(3 * bandwidth / cell_size))
    grid = Grid.covering(x, y, cell_size, margin=margin)
    density = kde_surface(x, y, grid, bandwidth=bandwidth).ravel()
    peak = float(density.max()) if density.size else 0.0
    cells = np.flatnonzero(density >= peak * min_share_of_peak) if peak > 0 else np.array([], int)
    properties = [{"density_per_km2": round(float(density[c]), 4)} for c in cells]
    return feature_collection(
        grid_features(grid, projection, cells, properties),
        cell_size_m=cell_size,
        bandwidth_m=bandwidth,
        kernel="gaussian",
        peak_density_per_km2=round(peak, 4),
        crs_used_for_distances=f"EPSG:{projection.epsg}",
        points=int(x.size),
    )


def mann_kendall(series: np.ndarray) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mann-Kendall trend test with the tie-corrected variance: (z, two-sided p) per row.

    `series` is (cells, slices); returns arrays of z and p.
    """
    values = np.asarray(series, dtype=float)
    if values.ndim == 1:
        values = values[None, :]
    cells, n = values.shape
    s = np.zeros(cells)
    for k in range(n - 1):
        s += np.sign(values[:, k + 1 :] - values[:, k : k + 1]).sum(axis=1)
    var = np.full(cells, n * (n - 1) * (2 * n + 5), dtype=float)
    for row in range(cells):  # tie correction only where ties exist
        _, tie_counts = np.unique(values[row], return_counts=True)
        ties = tie_counts[tie_counts > 1]
        if ties.size:
            var[row] -= float(np.sum(ties * (ties - 1) * (2 * ties + 5)))
    var /= 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.nan_to_num(z)
    p: NDArray[np.float64] = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def emerging_category(
    hot: np.ndarray, cold: np.ndarray, trend_z: float, trend_p: float, alpha: float
) -> str:
    """ArcGIS emerging-hotspot pattern of one cell from its per-slice hot/cold flags."""
    n = hot.size
    hot_share = hot.sum() / n
    final_hot = bool(hot[-1])
    if not hot.any():
        return "no_pattern"
    if final_hot and hot.sum() == 1:
        return "new"
    if final_hot:
        if hot_share >= 0.9:
            if trend_p <= alpha and trend_z > 0:
                return "intensifying"
            if trend_p <= alpha and trend_z < 0:
                return "diminishing"
            return "persistent"
        run = 0
        for flag in hot[::-1]:
            if not flag:
                break
            run += 1
        if run == hot.sum():
            return "consecutive"
        if cold.any():
            return "oscillating"
        return "sporadic"
    if hot_share >= 0.9 or (hot[:-1].sum() / max(1, n - 1)) >= 0.9:
        return "historical"
    return "no_pattern"


def emerging_hotspots(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    *,
    projection: Projection,
    cell_size: float,
    slice_edges: np.ndarray,
    radius: int = 1,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Gi* per time slice and a Mann-Kendall trend of each cell's z over the slices."""
    grid = Grid.covering(x, y, cell_size, margin=radius)
    slices = len(slice_edges) - 1
    if slices < 3:
        raise ValueError("emerging hotspots need at least 3 time slices")
    z_all = np.zeros((slices, grid.n_cells))
    q_all = np.ones((slices, grid.n_cells))
    counts_all = np.zeros((slices, grid.n_cells))
    for k in range(slices):
        mask = (t >= slice_edges[k]) & (t < slice_edges[k + 1])
        counts = grid.counts(x[mask], y[mask])
        counts_all[k] = counts.ravel()
        if counts.sum() == 0:
            continue
        gi = getis_ord_gi_star(counts, radius=radius)
        z_all[k] = gi.z.ravel()
        q_all[k] = gi.p_fdr.ravel()
    hot = (z_all > 0) & (q_all <= alpha)
    cold = (z_all < 0) & (q_all <= alpha)
    candidates = np.flatnonzero(hot.any(axis=0) | (counts_all.sum(axis=0) > 0))
    trend_z, trend_p = (
        mann_kendall(z_all[:, candidates].T) if candidates.size else (np.zeros(0), np.zeros(0))
    )
    properties: list[dict[str, Any]] = []
    keep = []
    for position, cell in enumerate(candidates):
        category = emerging_category(
            hot[:, cell], cold[:, cell], float(trend_z[position]), float(trend_p[position]), alpha
        )
        if category == "no_pattern" and not hot[:, cell].any():
            continue
        keep.append(cell)
        properties.append(
            {
                "pattern": category,
                "trend_z": round(float(trend_z[position]), 4),
                "trend_p": float(trend_p[position]),
                "hot_slices": int(hot[:, cell].sum()),
                "slices": slices,
                "counts": [int(c) for c in counts_all[:, cell]],
                "gi_z": [round(float(v), 3) for v in z_all[:, cell]],
            }
        )
    cells = np.asarray(keep, dtype=np.int64)
    tally: dict[str, int] = {}
    for props in properties:
        tally[props["pattern"]] = tally.get(props["pattern"], 0) + 1
    return feature_collection(
        grid_features(grid, projection, cells, properties),
        cell_size_m=cell_size,
        slices=[
            {
                "start": np.datetime_as_string(np.datetime64(int(a), "s"), unit="s") + "Z",
                "end": np.datetime_as_string(np.datetime64(int(b), "s"), unit="s") + "Z",
            }
            for a, b in itertools.pairwise(slice_edges)
        ],
        patterns=tally,
        fdr_alpha=alpha,
        crs_used_for_distances=f"EPSG:{projection.epsg}",
    )
