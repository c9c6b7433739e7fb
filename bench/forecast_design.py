"""Choose the weekly forecaster's design on 2017-2019 only, before 2020-2021 is scored.

    uv run python bench/forecast_design.py [--start 2017-01-01 --end 2019-12-31] [--jobs 2]

Every candidate design (with or without the extra views of the recent past, and each recency
half-life) is evaluated by rolling origin, one week ahead, refit every 13 weeks, on weekly
incidents per neighbourhood of the Toronto MCI data, over the development window only. The
design with the lowest gradient-boosting MAE there is the one the service serves
(`forecasting.SERVED_DESIGN`); `bench/ml_quality.py --part forecast` then scores that design,
and only that one, on 2020-2021. Each difference is given with its standard error over weeks,
so a design is not chosen for a difference smaller than the week-to-week noise.
Results go to bench/results/forecast_design.md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import inspect
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prediction_service.ml.forecasting import (
    FREQS,
    SERVED_DESIGN,
    ForecastDesign,
    rolling_origin_evaluation,
    weekly_counts,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ml_quality import DATA, DATA_END, RESULTS, all_incidents

# Recency half-lives of one, two and four years, in the frequency's periods.
HALF_LIVES: dict[str, tuple[float | None, ...]] = {
    "W": (None, 52.0, 104.0, 208.0),
    "M": (None, 12.0, 24.0, 48.0),
}
UNIT = {"W": "weeks", "M": "months"}


def candidates(freq: str) -> list[ForecastDesign]:
    return [
        ForecastDesign(recent_features=recent, half_life=half_life)
        for recent in (False, True)
        for half_life in HALF_LIVES[freq]
    ]


def label(design: ForecastDesign, freq: str) -> str:
    features = "base + recent views" if design.recent_features else "base"
    weighting = "none" if design.half_life is None else f"{design.half_life:g} {UNIT[freq]}"
    return f"{features}; half-life {weighting}"


def counts(freq: str) -> pd.DataFrame:
    return weekly_counts(all_incidents(), group_column="area", freq=freq, complete_to=DATA_END)


def evaluate(args: tuple[ForecastDesign, str, str, str]) -> dict[str, Any]:
    design, freq, start, end = args
    started, cpu = time.perf_counter(), time.process_time()
    report = rolling_origin_evaluation(
        counts(freq),
        start=pd.Timestamp(start, tz="UTC"),
        end=pd.Timestamp(end, tz="UTC"),
        freq=freq,
        design=design,
        intervals=False,
        per_period=True,
    )
    report["seconds"] = time.perf_counter() - started
    report["cpu"] = time.process_time() - cpu
    return report


def ceilings(freq: str, windows: list[tuple[str, str]], seed: int = 0) -> list[str]:
    """How far below the moving average a forecaster could get at all, on the same series.

    - hindsight: each period forecast by the mean of the k periods before and the k after it
      (a smoother that sees the future, not a forecaster);
    - known rate: a simulated world where each series' count is Poisson around a smooth rate
      (the real series smoothed over +-k periods) and the forecaster knows that rate exactly;
      the moving average is scored on the same simulated counts. Real counts are, if anything,
      more dispersed than Poisson, which makes these ratios optimistic.
    """
    from prediction_service.ml.forecasting import point_forecast, to_matrix

    ma = FREQS[freq]["ma"]
    _series, periods, matrix = to_matrix(counts(freq))
    rng = np.random.default_rng(seed)

    def moving(m: np.ndarray, t: int) -> np.ndarray:
        return np.asarray(m[:, t - ma : t].mean(axis=1))

    def mae(m: np.ndarray, targets: list[int], forecast: Any) -> float:
        return float(np.mean([np.abs(m[:, t] - forecast(t)).mean() for t in targets]))

    unit = UNIT[freq]
    lines = [
        f"| window | MA{ma} MAE | forecaster | k ({unit}) | MAE / MA{ma} |",
        "| --- | --- | --- | --- | --- |",
    ]
    for first, last in windows:
        lo, hi = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC")
        targets = [t for t, p in enumerate(periods) if lo <= p <= hi]
        base = mae(matrix, targets, lambda t: moving(matrix, t))
        name = f"{first[:4]}-{last[:4]}"
        for k in (ma, 2 * ma):
            seen = mae(
                matrix,
                targets,
                lambda t, k=k: point_forecast(
                    (matrix[:, t - k : t].sum(axis=1) + matrix[:, t + 1 : t + k + 1].sum(axis=1))
                    / (2 * k)
                ),
            )
            lines.append(
                f"| {name} | {base:.4f} | hindsight (+-k, not itself) | {k} | {seen / base:.4f} |"
            )
        for k in (ma // 2, ma, 2 * ma):
            rate = np.stack(
                [matrix[:, max(t - k, 0) : t + k + 1].mean(axis=1) for t in range(len(periods))],
                axis=1,
            )
            ratios = []
            for _ in range(3):
                world = rng.poisson(rate).astype(np.float64)
                known = mae(world, targets, lambda t, rate=rate: point_forecast(rate[:, t]))
                ratios.append(known / mae(world, targets, lambda t, w=world: moving(w, t)))
            lines.append(
                f"| {name} | {base:.4f} | known rate, Poisson world (3 draws) | {k} |"
                f" {np.mean(ratios):.4f} |"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--start", default="2017-01-01")
    parser.add_argument("--end", default="2019-12-31")
    parser.add_argument("--freq", choices=["W", "M"], default="W")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--ceilings",
        action="store_true",
        help="instead: the best ratios reachable at all, on the development and test windows",
    )
    args = parser.parse_args()
    freq = args.freq
    output = args.output or RESULTS / f"forecast_design{'' if freq == 'W' else '_monthly'}.md"
    designs = candidates(freq)
    if not DATA.exists():
        print(f"dataset not found at {DATA}", file=sys.stderr)
        return 2
    if pd.Timestamp(args.end) >= pd.Timestamp("2020-01-01"):
        print("the development window must end before 2020: 2020-2021 is the test", file=sys.stderr)
        return 2
    if args.ceilings:
        output = args.output or RESULTS / f"forecast_ceilings{'' if freq == 'W' else '_monthly'}.md"
        lines = [
            "# How far below the moving average a count forecast can get at all",
            "",
            f"Command: `uv run python bench/forecast_design.py {' '.join(sys.argv[1:])}`",
            f"Run at {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC.",
            "",
            inspect.cleandoc(ceilings.__doc__ or ""),
            "",
            *ceilings(freq, [(args.start, args.end), ("2020-01-01", "2021-12-31")]),
        ]
        text = "\n".join(lines) + "\n"
        print(text)
        output.write_text(text)
        return 0
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        reports = list(pool.map(evaluate, [(d, freq, args.start, args.end) for d in designs]))
    ma_window = FREQS[freq]["ma"]
    ma_name = f"moving_average_{ma_window}"
    ma = reports[0]["methods"][ma_name]
    gb = [r["methods"]["gradient_boosting"] for r in reports]
    best = int(np.argmin([row["mae"] for row in gb]))
    best_weeks = np.asarray(gb[best]["period_mae"])
    served = SERVED_DESIGN
    unit = UNIT[freq]
    lines = [
        f"# Forecast design ({unit}), chosen on 2017-2019 only",
        "",
        f"Command: `uv run python bench/forecast_design.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"Run at {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC on a shared 2-core machine,"
        f" {time.perf_counter() - started:.0f} s wall-clock for all {len(designs)} designs.",
        "",
        f"Development window {reports[0]['first_period'][:10]} to {reports[0]['last_period'][:10]}"
        f" ({reports[0]['periods_evaluated']} {unit}, {reports[0]['series']} neighbourhoods):"
        f" rolling origin, one period ahead, refit every {reports[0]['refit_every']} {unit} on all"
        " earlier ones. Nothing from 2020 on is read by any fit or forecast here."
        f" {ma_window}-period moving average (MA) MAE {ma['mae']:.4f}; seasonal naive"
        f" {reports[0]['methods']['seasonal_naive']['mae']:.4f}.",
        "",
        f"| design | GB MAE | GB / MA | GB - best (SE over {unit}) | LR MAE | LR / MA | CPU s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for design, report, row in zip(designs, reports, gb, strict=True):
        diff = np.asarray(row["period_mae"]) - best_weeks
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        lr = report["methods"]["linear_regression"]
        marks = (" (chosen)" if design == designs[best] else "") + (
            " (served)" if design == served else ""
        )
        lines.append(
            f"| {label(design, freq)}{marks} | {row['mae']:.4f} | {row['mae'] / ma['mae']:.4f} |"
            f" {diff.mean():+.4f} ({se:.4f}) | {lr['mae']:.4f} | {lr['mae'] / ma['mae']:.4f} |"
            f" {report['cpu']:.0f} |"
        )
    lines += [
        "",
        f"Chosen: **{label(designs[best], freq)}** (lowest gradient-boosting MAE on the"
        " development window). `forecasting.SERVED_DESIGN` must name it before 2020-2021 is"
        " scored.",
        "",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
