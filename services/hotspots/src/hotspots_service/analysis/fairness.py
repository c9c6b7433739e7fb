"""Who gets flagged: flagged cells versus recorded crime across area indicators, and a
feedback-loop simulation (flagged cells get extra recorded crime) of repeated deployment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hotspots_service.analysis.evaluation import MethodRunner
from hotspots_service.analysis.forecasting import History, flagged_count, rank_cells
from hotspots_service.analysis.geo import Grid
from hotspots_service.analysis.points import PointSet

Progress = Callable[[float, str], None]


def cell_areas(points: PointSet, grid: Grid) -> np.ndarray:
    """The area (neighbourhood) most of each cell's incidents were recorded in ("" if none)."""
    cells = grid.cell_index(points.x, points.y)
    keep = (cells >= 0) & (points.area != "")
    labels = np.full(grid.n_cells, "", dtype=object)
    if not keep.any():
        return labels
    names, codes = np.unique(points.area[keep].astype(str), return_inverse=True)
    pair = cells[keep] * len(names) + codes.ravel()
    unique_pairs, counts = np.unique(pair, return_counts=True)
    cell_of, code_of = np.divmod(unique_pairs, len(names))
    order = np.lexsort((-counts, cell_of))  # per cell, most frequent area first
    first = np.unique(cell_of[order], return_index=True)[1]
    chosen = order[first]
    labels[cell_of[chosen]] = names[code_of[chosen]]
    return labels


def indicator_distribution(
    *,
    flagged: np.ndarray,
    recorded: np.ndarray,
    study: np.ndarray,
    areas: np.ndarray,
    indicator: dict[str, float],
    groups: int = 4,
) -> dict[str, Any]:
    """Shares of flagged cells, recorded crime and study cells per indicator quantile group."""
    known = np.array([a in indicator for a in areas])
    values = np.array([indicator.get(a, np.nan) for a in areas], dtype=float)
    area_values = np.array(sorted(indicator.values()), dtype=float)
    edges = np.quantile(area_values, np.linspace(0, 1, groups + 1)) if area_values.size else []
    in_study = study & known
    flag_mask = np.zeros(study.size, bool)
    flag_mask[flagged] = True
    flag_mask &= in_study
    rows = []
    total_flag = max(1, int(flag_mask.sum()))
    total_crime = float(recorded[in_study].sum()) or 1.0
    total_cells = max(1, int(in_study.sum()))
    for g in range(groups):
        low, high = edges[g], edges[g + 1]
        member = (
            in_study & (values >= low) & ((values <= high) if g == groups - 1 else (values < high))
        )
        flag_share = float((flag_mask & member).sum() / total_flag)
        crime_share = float(recorded[member].sum() / total_crime)
        rows.append(
            {
                "group": g + 1,
                "indicator_from": float(low),
                "indicator_to": float(high),
                "study_cells_share": float(member.sum() / total_cells),
                "flagged_cells_share": flag_share,
                "recorded_crime_share": crime_share,
                "flag_to_crime_ratio": (flag_share / crime_share) if crime_share else None,
            }
        )
    ratios = [r["flag_to_crime_ratio"] for r in rows if r["flag_to_crime_ratio"] is not None]
    return {
        "groups": rows,
        "cells_without_indicator": int((study & ~known).sum()),
        "max_over_min_flag_to_crime_ratio": (max(ratios) / min(ratios))
        if ratios and min(ratios) > 0
        else None,
    }


def feedback_simulation(
    history: History,
    *,
    start_index: int,
    rounds: int,
    method: str,
    share: float,
    boost: float,
    seed: int = 0,
    retrain_every: int = 4,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replay `rounds` real periods twice: once as recorded, once where every incident in a
    flagged cell brings Poisson(boost) extra recorded incidents (more patrols, more records).

    The model is self-reinforcing when the feedback run keeps flagging the same cells more than
    the honest run does, and the recorded share of crime in flagged cells drifts above the true
    share.
    """
    rng = np.random.default_rng(seed)
    honest = MethodRunner(method, retrain_every=retrain_every, training_origins=26, seed=seed)
    looped = MethodRunner(method, retrain_every=retrain_every, training_origins=26, seed=seed)
    fed = History(
        history.grid,
        history.edges,
        history.counts.copy(),
        history.category_counts.copy(),
        history.categories,
        history.first_seen,
    )
    per_round = []
    previous: dict[str, set[int]] = {}
    first: dict[str, set[int]] = {}
    for r in range(rounds):
        o = start_index + r
        flagged = {}
        for name, runner, source in (("honest", honest, history), ("feedback", looped, fed)):
            view = source.past(o)
            ranking = rank_cells(runner.scores(view), view.study, seed=seed)
            n = flagged_count(share, int(view.study.sum()))
            flagged[name] = ranking[:n]
        true_counts = history.counts[o].astype(np.int64)
        extra = np.zeros_like(true_counts)
        cells = flagged["feedback"]
        extra[cells] = rng.poisson(boost * true_counts[cells])
        # record the extra incidents in the feedback world, category in the cell's proportions
        fed.counts[o] = true_counts + extra
        for cell in cells[extra[cells] > 0]:
            cat_counts = history.category_counts[:, o, cell].astype(float)
            probs = cat_counts / cat_counts.sum()
            fed.category_counts[:, o, cell] += rng.multinomial(extra[cell], probs).astype(np.int32)
        fed.__post_init__()
        total_true = max(1, int(true_counts.sum()))
        row: dict[str, Any] = {"round": r + 1, "origin_index": o}
        for name, cells_flagged in flagged.items():
            current = set(cells_flagged.tolist())
            first.setdefault(name, current)
            row[f"{name}_true_hit_rate"] = float(true_counts[cells_flagged].sum() / total_true)
            row[f"{name}_overlap_with_previous"] = (
                len(current & previous[name]) / len(current | previous[name])
                if name in previous
                else None
            )
            row[f"{name}_overlap_with_first"] = len(current & first[name]) / len(
                current | first[name]
            )
            previous[name] = current
        recorded = true_counts + extra
        row["feedback_recorded_share_in_flagged"] = float(
            recorded[cells].sum() / max(1, recorded.sum())
        )
        row["feedback_true_share_in_flagged"] = float(true_counts[cells].sum() / total_true)
        row["extra_recorded"] = int(extra.sum())
        per_round.append(row)
        if progress is not None:
            progress((r + 1) / rounds, f"simulated round {r + 1} of {rounds}")
    last = per_round[-1]
    lock_in = last["feedback_overlap_with_first"] - last["honest_overlap_with_first"]
    inflation = last["feedback_recorded_share_in_flagged"] - last["feedback_true_share_in_flagged"]
    return {
        "method": method,
        "area_share": share,
        "boost": boost,
        "rounds": per_round,
        "lock_in": lock_in,
        "recorded_share_inflation": inflation,
        "self_reinforcing": bool(lock_in > 0.05),
        "verdict_rule": (
            "self-reinforcing when, after the last round, the feedback run's flagged cells "
            "overlap its first flags (Jaccard) by more than 0.05 above the honest run's"
        ),
    }
