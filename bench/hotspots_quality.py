"""Hotspot forecast quality on Toronto MCI: weekly rolling-origin forecasts over 2019-2021.

250 m cells; study area = cells with any incident before each origin; every method beside the
naive baseline (count of the last 365 days). Prints hit rate and PAI at 1 % and 5 % (and PEI,
and 10 %). Usage: uv run python bench/hotspots_quality.py [--retrain-every 13] [--every 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from hotspots_common import DATASET, load_toronto

from hotspots_service.analysis.evaluation import backtest
from hotspots_service.analysis.forecasting import (
    DAY,
    build_history,
    flagged_count,
    naive_scores,
    rank_cells,
)
from hotspots_service.analysis.geo import Grid
from hotspots_service.analysis.points import PointSet

WEEK = 7 * DAY


def ceilings(points: PointSet, *, start: int, end: int, share: float = 0.05) -> dict[str, float]:
    """Hit rates at `share` of rankings that cheat by looking at the future (not forecasts).

    They bound what any forecast from the past could reach under this protocol: each week is
    ranked by the counts of the 52 weeks before AND after it (the week itself left out), with
    or without extra weight on the two neighbouring weeks (short-term, near-repeat structure);
    and a Poisson simulation asks how much better the true stationary rate of every cell
    (its 2019-2021 mean) ranks than a 53-week count drawn from that same rate.
    """
    n_origins = (end - start) // WEEK
    before = points.t < start
    grid = Grid.covering(points.x[before], points.y[before], 250.0)
    pad = 53
    history = build_history(
        points, grid=grid, first_origin=start, bin_seconds=WEEK, bins_before=pad,
        bins_after=n_origins + pad,
    )  # fmt: skip
    in_period = (points.t >= start) & (points.t < start + n_origins * WEEK)
    totals = np.bincount((points.t[in_period] - start) // WEEK, minlength=n_origins)
    cum = history.cum.astype(float)
    rankers = {
        "naive (service baseline)": lambda o: naive_scores(history.past(o)),
        "hindsight: 52 weeks either side": lambda o: cum[o + 53] - cum[o - 52] - history.counts[o],
        "hindsight: 52 weeks either side + 2 x next/previous week": lambda o: (
            cum[o + 53] - cum[o - 52] - history.counts[o]
            + 2 * (history.counts[o - 1] + history.counts[o + 1])
        ),
    }  # fmt: skip
    answer = {}
    for name, ranker in rankers.items():
        rates = []
        for k in range(n_origins):
            o = pad + k
            study = history.first_seen < history.edges[o]
            top = rank_cells(ranker(o), study)[: flagged_count(share, int(study.sum()))]
            rates.append(history.counts[o][top].sum() / max(1, totals[k]))
        answer[name] = float(np.mean(rates))
    # Poisson simulation with known stationary rates
    rng = np.random.default_rng(0)
    study = history.first_seen < history.edges[pad]
    rate = (cum[pad + n_origins] - cum[pad])[study] / n_origins
    n = flagged_count(share, int(study.sum()))
    truth, counted = [], []
    for _ in range(200):
        week = rng.poisson(rate)
        for ranking_scores, out in ((rate, truth), (rng.poisson(53 * rate), counted)):
            top = np.lexsort((rng.random(rate.size), -ranking_scores))[:n]
            out.append(week[top].sum() / max(1, week.sum()))
    answer["simulated Poisson: rank by the true rate"] = float(np.mean(truth))
    answer["simulated Poisson: rank by a 53-week count"] = float(np.mean(counted))
    return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", default="2019-01-01")
    parser.add_argument("--end", default="2022-01-01")
    parser.add_argument("--retrain-every", type=int, default=13)
    parser.add_argument("--training-origins", type=int, default=26)
    parser.add_argument("--origin-stride", type=int, default=1)
    parser.add_argument(
        "--every", type=int, default=1, help="score every n-th week only (quick check)"
    )
    parser.add_argument("--methods", default="naive,decayed,prospective,sepp,gbm")
    parser.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="count rows the records import merges (same time, place, category) separately",
    )
    parser.add_argument(
        "--ceilings", action="store_true", help="print hindsight ceilings instead of forecasts"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not DATASET.exists():
        print(f"dataset not found at {DATASET}; nothing to measure")
        return
    started = time.perf_counter()
    points = load_toronto(merge_duplicates=not args.keep_duplicates)
    print(
        f"loaded {len(points)} incidents with coordinates in {time.perf_counter() - started:.1f}s"
        f" (projection EPSG:{points.projection.epsg})"
    )
    start = int(datetime.fromisoformat(args.start).replace(tzinfo=UTC).timestamp())
    end = int(datetime.fromisoformat(args.end).replace(tzinfo=UTC).timestamp())
    if args.ceilings:
        found = ceilings(points, start=start, end=end)
        base = found["naive (service baseline)"]
        for name, value in found.items():
            print(f"{name:<60} hit@5% {value:.4f}  ({value / base:.3f} x naive)")
        sim = found["simulated Poisson: rank by the true rate"]
        print(f"simulated gain of knowing the true rate: {sim / found[list(found)[-1]]:.3f} x")
        return
    last_print = [0.0]

    def progress(fraction: float, message: str) -> None:
        if time.perf_counter() - last_print[0] > 30:
            last_print[0] = time.perf_counter()
            print(f"  {fraction:5.1%} {message} ({time.perf_counter() - started:.0f}s)", flush=True)

    result = backtest(
        points,
        start=start,
        end=end,
        horizon="week",
        cell_size=250.0,
        methods=tuple(args.methods.split(",")),
        retrain_every=args.retrain_every,
        training_origins=args.training_origins,
        origin_stride=args.origin_stride,
        every=args.every,
        progress=progress,
    )
    elapsed = time.perf_counter() - started
    cpu = time.process_time()
    print(
        f"\nweekly origins: {result['origins']} ({result['first_origin']} .. "
        f"{result['last_origin']}), grid {result['grid']}, {elapsed:.0f}s wall, {cpu:.0f}s CPU"
    )
    header = (
        f"{'method':<12} {'hit@1%':>8} {'PAI@1%':>8} {'hit@5%':>8} {'PAI@5%':>8} "
        f"{'PEI@5%':>8} {'hit@10%':>8} {'PAI@10%':>8} {'hit@5% vs base':>15}"
    )
    print(header)
    for method, shares in result["methods"].items():
        one, five, ten = shares["0.01"], shares["0.05"], shares["0.1"]
        print(
            f"{method:<12} {one['hit_rate']:8.4f} {one['pai']:8.2f} {five['hit_rate']:8.4f} "
            f"{five['pai']:8.2f} {five['pei']:8.3f} {ten['hit_rate']:8.4f} {ten['pai']:8.2f} "
            f"{five['hit_rate_vs_baseline']:15.3f}"
        )
    best = max(result["methods"], key=lambda m: result["methods"][m]["0.05"]["hit_rate"])
    ratio = result["methods"][best]["0.05"]["hit_rate_vs_baseline"]
    print(
        f"\nbest method at 5%: {best}, hit rate {ratio:.3f}x the baseline "
        f"(target >= 1.10: {'met' if ratio >= 1.10 else 'NOT met'})"
    )
    if args.json:
        result["run"] = {"argv": sys.argv[1:], "wall_seconds": elapsed, "cpu_seconds": cpu}
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
