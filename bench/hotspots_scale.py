"""Hotspots at scale: DBSCAN, HDBSCAN, K-means and the grid maps on 1,000,000 points.

Each analysis runs in its own fresh process so its peak memory (ru_maxrss) is its own; the
time covers projection, the algorithm and building the GeoJSON answer. Points: the Toronto MCI
incidents resampled to 1,000,000 with 30 m jitter (same spatial structure: many incidents on
one geocoded address), or a synthetic city when the dataset is absent.
Usage: uv run python bench/hotspots_scale.py [--points 1000000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

DAY = 86_400


def make_points(n: int, seed: int = 0):
    from hotspots_common import DATASET, load_toronto

    from hotspots_service.analysis.points import PointSet
    from hotspots_service.analysis.synthetic import PROJECTION

    rng = np.random.default_rng(seed)
    if DATASET.exists():
        base = load_toronto()
        pick = rng.integers(0, len(base), n)
        x = base.x[pick] + rng.normal(0, 30, n)
        y = base.y[pick] + rng.normal(0, 30, n)
        t, category = base.t[pick], base.category[pick]
        projection = base.projection
        source = "toronto_mci resampled with 30 m jitter"
    else:
        centres = rng.uniform(0, 30_000, (400, 2))
        which = rng.integers(0, 400, n)
        x = 600_000 + centres[which, 0] + rng.normal(0, 300, n)
        y = 4_830_000 + centres[which, 1] + rng.normal(0, 300, n)
        t = 1_546_300_800 + rng.integers(0, 3 * 365 * DAY, n)
        category = rng.choice(np.array(["theft", "assault"], dtype=object), n)
        projection = PROJECTION
        source = "synthetic city (400 centres)"
    lon, lat = projection.to_wgs84(x, y)
    return PointSet.build(lat=lat, lon=lon, t=t, category=category), source


def run_case(name: str, n: int, queue: mp.Queue) -> None:
    from hotspots_service.analysis import clustering, hotspot_maps

    points, _ = make_points(n)
    started = time.perf_counter()
    # re-project from WGS84 as the service does
    from hotspots_service.analysis.points import PointSet

    points = PointSet.build(lat=points.lat, lon=points.lon, t=points.t, category=points.category)
    info: dict = {}
    if name == "dbscan":
        result = clustering.dbscan(points.x, points.y, eps=100.0, min_samples=50)
        fc = clustering.clusters_geojson(points, result, parameters={})
        info = {
            "algorithm": result.algorithm,
            "clusters": fc["clusters"],
            "noise": fc["noise_points"],
        }
    elif name == "hdbscan":
        result = clustering.hdbscan(points.x, points.y, min_cluster_size=2000)
        fc = clustering.clusters_geojson(points, result, parameters={})
        info = {
            "algorithm": result.algorithm,
            "clusters": fc["clusters"],
            "noise": fc["noise_points"],
        }
    elif name == "kmeans":
        result = clustering.kmeans(points.x, points.y, k=50)
        fc = clustering.clusters_geojson(points, result, parameters={})
        info = {"algorithm": result.algorithm, "clusters": fc["clusters"]}
    elif name == "grid_gi_star":
        fc = hotspot_maps.grid_map(
            points.x, points.y, projection=points.projection, cell_size=250.0
        )
        info = {"cells_out": len(fc["features"]), "hot": fc["hot_cells"], "grid": fc["grid"]}
    elif name == "kde":
        fc = hotspot_maps.kde_map(
            points.x, points.y, projection=points.projection, cell_size=250.0, bandwidth=300.0
        )
        info = {"cells_out": len(fc["features"])}
    elif name == "emerging":
        end = int(points.t.max()) + 1
        edges = end - np.arange(12, -1, -1, dtype=np.int64) * 30 * DAY
        keep = points.t >= edges[0]
        sub = points.subset(keep)
        fc = hotspot_maps.emerging_hotspots(
            sub.x, sub.y, sub.t, projection=sub.projection, cell_size=250.0, slice_edges=edges
        )
        info = {"points_in_slices": int(keep.sum()), "patterns": fc["patterns"]}
    elapsed = time.perf_counter() - started
    json.dumps(fc)  # the answer must serialise
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"case": name, "seconds": elapsed, "peak_rss_mb": peak_mb, **info})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--cases", default="dbscan,hdbscan,kmeans,grid_gi_star,kde,emerging")
    args = parser.parse_args()
    _, source = make_points(1000)
    print(f"{args.points} points: {source}")
    # baseline memory of a process that only builds the points (subtract to see the algorithm)
    ctx = mp.get_context("spawn")
    for name in args.cases.split(","):
        queue = ctx.Queue()
        process = ctx.Process(target=run_case, args=(name, args.points, queue))
        process.start()
        process.join()
        if process.exitcode != 0:
            print(f"{name:<14} FAILED (exit {process.exitcode})")
            continue
        row = queue.get()
        extra = {k: v for k, v in row.items() if k not in ("case", "seconds", "peak_rss_mb")}
        verdict = "ok" if row["seconds"] <= 60 and row["peak_rss_mb"] <= 4096 else "OVER TARGET"
        print(
            f"{name:<14} {row['seconds']:7.1f} s  peak RSS {row['peak_rss_mb']:7.0f} MB  "
            f"{verdict}  {json.dumps(extra)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
