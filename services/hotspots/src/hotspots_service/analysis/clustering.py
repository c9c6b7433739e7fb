"""K-means, DBSCAN and HDBSCAN on projected points, answered as GeoJSON cluster hulls.

Scaling: scikit-learn's DBSCAN keeps every point's neighbourhood in memory, which explodes on
dense crime data (many incidents share one geocoded address). Above `exact_limit` points we run
DBSCAN on micro-cell aggregates instead: points are snapped to a grid of side eps/4, each
occupied micro-cell becomes one weighted point (sample_weight = incidents in it), so a
neighbourhood holds at most about 16*pi micro-cells whatever the density; the snapping moves a
point by at most eps*sqrt(2)/8. HDBSCAN above the limit is fitted on a uniform random sample and
the other points join the cluster of their nearest sampled point when they lie within that
point's core distance (the approximate-predict rule of the hdbscan library), noise otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.spatial import ConvexHull, QhullError, cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans

from hotspots_service.analysis.geo import feature_collection
from hotspots_service.analysis.points import PointSet

Progress = Callable[[float, str], None]

EXACT_LIMIT = 50_000
KMEANS_SAMPLE_LIMIT = 100_000


def _no_progress(_fraction: float, _message: str) -> None:
    return None


@dataclass
class ClusterResult:
    labels: np.ndarray  # -1 noise
    algorithm: str  # what actually ran, for the answer's metadata


def kmeans(x: np.ndarray, y: np.ndarray, *, k: int, seed: int = 0) -> ClusterResult:
    """K-means (k-means++ init); fitted on a 100,000-point sample above that."""
    xy = np.column_stack([x, y])
    if len(xy) < k:
        raise ValueError(f"k={k} needs at least {k} points, got {len(xy)}")
    if len(xy) > KMEANS_SAMPLE_LIMIT:
        # centroids from a uniform sample are as good as from all points at this size; every
        # point is then assigned to its nearest centroid
        rng = np.random.default_rng(seed)
        sample = rng.choice(len(xy), size=KMEANS_SAMPLE_LIMIT, replace=False)
        model = KMeans(n_clusters=k, random_state=seed, n_init=2).fit(xy[sample])
        return ClusterResult(model.predict(xy).astype(np.int64), "kmeans-sampled")
    model = KMeans(n_clusters=k, random_state=seed, n_init=4)
    return ClusterResult(model.fit_predict(xy).astype(np.int64), "kmeans")


def dbscan(
    x: np.ndarray,
    y: np.ndarray,
    *,
    eps: float,
    min_samples: int,
    exact_limit: int = EXACT_LIMIT,
) -> ClusterResult:
    """DBSCAN in metres; exact below exact_limit points, micro-cell aggregated above it."""
    xy = np.column_stack([x, y])
    if len(xy) <= exact_limit:
        model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="kd_tree")
        return ClusterResult(model.fit_predict(xy).astype(np.int64), "dbscan-exact")
    side = eps / 4.0
    cells = np.floor(xy / side).astype(np.int64)
    low = cells.min(axis=0)
    cells -= low
    width = int(cells[:, 1].max()) + 1
    flat = cells[:, 0] * width + cells[:, 1]  # one int64 per micro-cell: a fast 1-D unique
    unique_flat, inverse, weights = np.unique(flat, return_inverse=True, return_counts=True)
    cx, cy = np.divmod(unique_flat, width)
    centres = (np.column_stack([cx, cy]) + low + 0.5) * side
    model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="kd_tree")
    cell_labels = model.fit_predict(centres, sample_weight=weights)
    return ClusterResult(cell_labels[inverse.ravel()].astype(np.int64), "dbscan-microcell")


def hdbscan(
    x: np.ndarray,
    y: np.ndarray,
    *,
    min_cluster_size: int,
    min_samples: int | None = None,
    sample_limit: int = 12_000,
    seed: int = 0,
) -> ClusterResult:
    """HDBSCAN in metres; fitted on a random sample above sample_limit points."""
    xy = np.column_stack([x, y])
    n = len(xy)
    if n <= sample_limit:
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True)
        return ClusterResult(model.fit_predict(xy).astype(np.int64), "hdbscan-exact")
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=sample_limit, replace=False))
    fraction = sample_limit / n
    size = max(2, round(min_cluster_size * fraction))
    samples = None if min_samples is None else max(1, round(min_samples * fraction))
    model = HDBSCAN(min_cluster_size=size, min_samples=samples, copy=True)
    sample_labels = model.fit_predict(xy[sample])
    k = samples if samples is not None else size
    tree = cKDTree(xy[sample])
    core_distance = tree.query(xy[sample], k=min(k + 1, sample_limit))[0][:, -1]
    distance, nearest = tree.query(xy, k=1)
    labels = np.where(distance <= core_distance[nearest] + 1e-9, sample_labels[nearest], -1).astype(
        np.int64
    )
    labels[sample] = sample_labels
    return ClusterResult(labels, "hdbscan-sampled")


def _hull(points: PointSet, index: np.ndarray, min_width: float) -> tuple[dict[str, Any], float]:
    coords = np.column_stack([points.x[index], points.y[index]])
    hull = None
    if len(coords) >= 3:
        try:  # Qhull: far cheaper than building a shapely point per incident
            hull = shapely.Polygon(coords[ConvexHull(coords).vertices])
        except QhullError:  # all on one spot or one line
            hull = None
    if hull is None:
        hull = shapely.convex_hull(shapely.multipoints(np.unique(coords, axis=0)))
    if hull.area <= 0.0:  # one location or a line: give it a small visible footprint
        hull = hull.buffer(min_width / 2.0, quad_segs=4).convex_hull
    ring = np.asarray(hull.exterior.coords)
    if shapely.is_ccw(hull.exterior) is False:
        ring = ring[::-1]
    lon, lat = points.projection.to_wgs84(ring[:, 0], ring[:, 1])
    return {
        "type": "Polygon",
        "coordinates": [
            [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]
        ],
    }, float(hull.area)


def _iso(seconds: int) -> str:
    return np.datetime_as_string(np.datetime64(int(seconds), "s"), unit="s") + "Z"


def clusters_geojson(
    points: PointSet,
    result: ClusterResult,
    *,
    parameters: dict[str, Any],
    min_width: float = 20.0,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """One feature per cluster (largest first): hull, count, category mix, time span."""
    labels = result.labels
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    ids, starts, counts = np.unique(sorted_labels, return_index=True, return_counts=True)
    features = []
    clusters = [(i, s, c) for i, s, c in zip(ids, starts, counts, strict=True) if i >= 0]
    clusters.sort(key=lambda item: -item[2])
    category_names, category_codes = np.unique(points.category.astype(str), return_inverse=True)
    category_codes = category_codes.ravel()
    for position, (_label, start, count) in enumerate(clusters):
        index = order[start : start + count]
        geometry, area_m2 = _hull(points, index, min_width)
        mix = np.bincount(category_codes[index], minlength=category_names.size)
        cats, cat_counts = category_names[mix > 0], mix[mix > 0]
        times = points.t[index]
        features.append(
            {
                "type": "Feature",
                "id": position,
                "geometry": geometry,
                "properties": {
                    "cluster": position,
                    "count": int(count),
                    "category_mix": {
                        str(c): int(n)
                        for c, n in sorted(zip(cats, cat_counts, strict=True), key=lambda p: -p[1])
                    },
                    "first_occurred_at": _iso(times.min()),
                    "last_occurred_at": _iso(times.max()),
                    "centroid": [
                        round(float(np.mean(points.lon[index])), 7),
                        round(float(np.mean(points.lat[index])), 7),
                    ],
                    "hull_area_m2": round(area_m2, 1),
                },
            }
        )
        if position % 50 == 0:
            progress(0.8 + 0.2 * position / max(1, len(clusters)), "building cluster hulls")
    noise = int(np.sum(labels < 0))
    return feature_collection(
        features,
        algorithm=result.algorithm,
        parameters=parameters,
        crs_used_for_distances=f"EPSG:{points.projection.epsg}",
        points=len(points),
        clusters=len(features),
        noise_points=noise,
    )
