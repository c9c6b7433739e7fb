"""The spatial analytics recover planted structure and match hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from hotspots_service.analysis import clustering, hotspot_maps
from hotspots_service.analysis.evaluation import backtest
from hotspots_service.analysis.fairness import feedback_simulation, indicator_distribution
from hotspots_service.analysis.forecasting import (
    build_history,
    decayed_scores,
    fit_boosted,
    fit_self_exciting,
    naive_scores,
    prospective_scores,
    rank_cells,
)
from hotspots_service.analysis.geo import Grid, utm_epsg_for
from hotspots_service.analysis.synthetic import (
    DAY,
    ORIGIN_X,
    ORIGIN_Y,
    START,
    blobs,
    planted_hotspot_history,
    points_from_metres,
)


def test_utm_zone_is_picked_from_the_data() -> None:
    assert utm_epsg_for(np.array([43.7]), np.array([-79.4])) == 32617
    assert utm_epsg_for(np.array([-33.9]), np.array([151.2])) == 32756


def _recovers_blobs(labels: np.ndarray, truth: np.ndarray) -> None:
    in_blob = truth >= 0
    assert len(set(labels[in_blob]) - {-1}) == 3
    assert adjusted_rand_score(truth[in_blob], labels[in_blob]) > 0.95


def test_dbscan_recovers_known_clusters_exact_and_microcell() -> None:
    points, truth = blobs()
    exact = clustering.dbscan(points.x, points.y, eps=60, min_samples=8)
    assert exact.algorithm == "dbscan-exact"
    _recovers_blobs(exact.labels, truth)
    scaled = clustering.dbscan(points.x, points.y, eps=60, min_samples=8, exact_limit=10)
    assert scaled.algorithm == "dbscan-microcell"
    _recovers_blobs(scaled.labels, truth)


def test_hdbscan_recovers_known_clusters_exact_and_sampled() -> None:
    points, truth = blobs()
    _recovers_blobs(clustering.hdbscan(points.x, points.y, min_cluster_size=40).labels, truth)
    sampled = clustering.hdbscan(points.x, points.y, min_cluster_size=40, sample_limit=400)
    assert sampled.algorithm == "hdbscan-sampled"
    _recovers_blobs(sampled.labels, truth)


def test_kmeans_centres_land_on_the_blobs() -> None:
    points, truth = blobs()
    keep = truth >= 0
    sub = points.subset(keep)
    result = clustering.kmeans(sub.x, sub.y, k=3)
    assert adjusted_rand_score(truth[keep], result.labels) > 0.95


def test_cluster_geojson_has_hull_count_mix_and_span() -> None:
    points, _truth = blobs()
    result = clustering.dbscan(points.x, points.y, eps=60, min_samples=8)
    fc = clustering.clusters_geojson(points, result, parameters={"eps_m": 60})
    assert fc["type"] == "FeatureCollection"
    assert fc["clusters"] == 3
    biggest = fc["features"][0]
    props = biggest["properties"]
    assert 280 <= props["count"] <= 320  # the 300-point blob, give or take noise
    assert sum(props["category_mix"].values()) == props["count"]
    assert props["first_occurred_at"] <= props["last_occurred_at"]
    ring = biggest["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert len(ring) >= 4
    # the hull is around the blob centre (800 m, 800 m from the frame origin), in WGS84
    lon, lat = points.projection.to_wgs84(np.array([ORIGIN_X + 800]), np.array([ORIGIN_Y + 800]))
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    assert min(lons) < lon[0] < max(lons)
    assert min(lats) < lat[0] < max(lats)


def _gi_star_by_hand(counts: np.ndarray, row: int, col: int) -> float:
    """Getis-Ord Gi* written out term by term with queen (3x3 incl. self) binary weights."""
    values = counts.ravel().astype(float)
    n = values.size
    mean = values.sum() / n
    s = math.sqrt((values**2).sum() / n - mean**2)
    w_sum = 0.0
    wx = 0.0
    for r in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            if abs(r - row) <= 1 and abs(c - col) <= 1:
                w_sum += 1.0
                wx += counts[r, c]
    return (wx - mean * w_sum) / (s * math.sqrt((n * w_sum - w_sum**2) / (n - 1)))


def test_gi_star_matches_hand_computation_on_small_grid() -> None:
    counts = np.array([[0, 1, 0, 2], [1, 9, 7, 0], [0, 6, 8, 1], [2, 0, 1, 0]])
    gi = hotspot_maps.getis_ord_gi_star(counts, radius=1)
    # interior, edge and corner cells
    for row, col in [(1, 1), (2, 2), (0, 3), (3, 0), (1, 3)]:
        assert gi.z[row, col] == pytest.approx(_gi_star_by_hand(counts, row, col), rel=1e-9)
    # one value written down from the formula: cell (1,1), neighbourhood sum 32 over 9 cells,
    # n=16, mean=38/16, S=sqrt(242/16 - (38/16)^2)
    mean = 38 / 16
    s = math.sqrt(242 / 16 - mean**2)
    expected = (32 - mean * 9) / (s * math.sqrt((16 * 9 - 81) / 15))
    assert gi.z[1, 1] == pytest.approx(expected, rel=1e-9)
    assert gi.z[1, 1] == pytest.approx(1.6834, abs=1e-4)


def test_benjamini_hochberg_adjusts_like_the_textbook() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005,0.01,0.03,0.04 -> *4/rank = 0.02,0.02,0.04,0.04
    assert hotspot_maps.benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_grid_map_flags_the_planted_hotspot_significant_after_fdr() -> None:
    points = planted_hotspot_history(weeks=20)
    fc = hotspot_maps.grid_map(points.x, points.y, projection=points.projection, cell_size=250)
    hot = [f for f in fc["features"] if f["properties"]["hotspot"] == "hot"]
    assert hot, "the planted hotspot must be significant"
    grid = Grid.covering(points.x, points.y, 250, margin=1)
    planted = grid.cell_index(np.array([ORIGIN_X + 1125.0]), np.array([ORIGIN_Y + 1375.0]))[0]
    by_cell = {f["properties"]["cell"]: f["properties"] for f in fc["features"]}
    assert by_cell[planted]["hotspot"] == "hot"
    assert by_cell[planted]["p_fdr"] < 0.01
    assert by_cell[planted]["count"] == max(p["count"] for p in by_cell.values())
    # uniform background: hot cells stay next to the planted one
    for feature in hot:
        r, c = divmod(feature["properties"]["cell"], grid.nx)
        pr, pc = divmod(int(planted), grid.nx)
        assert abs(r - pr) <= 1
        assert abs(c - pc) <= 1


def test_mann_kendall_on_a_rising_series_by_hand() -> None:
    z, p = hotspot_maps.mann_kendall(np.arange(10.0))
    # S = 45, Var(S) = 10*9*25/18 = 125, z = (45-1)/sqrt(125)
    assert z[0] == pytest.approx(44 / math.sqrt(125))
    assert p[0] < 0.001
    z_flat, p_flat = hotspot_maps.mann_kendall(np.ones(10))
    assert z_flat[0] == 0.0
    assert p_flat[0] == pytest.approx(1.0)


def test_emerging_hotspots_name_new_and_intensifying_cells() -> None:
    rng = np.random.default_rng(5)
    slices = 10
    xs, ys, ts = [], [], []
    for k in range(slices):
        n = 60
        xs.append(rng.uniform(0, 3000, n))
        ys.append(rng.uniform(0, 3000, n))
        ts.append(START + k * 30 * DAY + rng.integers(0, 30 * DAY, n))
        grow = 10 + 4 * k  # intensifying cell near (500, 500)
        xs.append(500 + rng.uniform(-100, 100, grow))
        ys.append(500 + rng.uniform(-100, 100, grow))
        ts.append(START + k * 30 * DAY + rng.integers(0, 30 * DAY, grow))
        if k == slices - 1:  # a new hotspot near (2500, 2500) only in the last slice
            xs.append(2500 + rng.uniform(-100, 100, 40))
            ys.append(2500 + rng.uniform(-100, 100, 40))
            ts.append(START + k * 30 * DAY + rng.integers(0, 30 * DAY, 40))
    from hotspots_service.analysis.synthetic import points_from_metres

    points = points_from_metres(
        ORIGIN_X + np.concatenate(xs), ORIGIN_Y + np.concatenate(ys), np.concatenate(ts)
    )
    edges = START + np.arange(slices + 1) * 30 * DAY
    fc = hotspot_maps.emerging_hotspots(
        points.x,
        points.y,
        points.t,
        projection=points.projection,
        cell_size=250,
        slice_edges=edges,
    )
    by_cell = {f["properties"]["cell"]: f["properties"] for f in fc["features"]}
    grid = Grid.covering(points.x, points.y, 250, margin=1)
    grow_cell = int(grid.cell_index(np.array([ORIGIN_X + 500]), np.array([ORIGIN_Y + 500]))[0])
    new_cell = int(grid.cell_index(np.array([ORIGIN_X + 2500]), np.array([ORIGIN_Y + 2500]))[0])
    assert by_cell[grow_cell]["pattern"] == "intensifying"
    assert by_cell[grow_cell]["trend_z"] > 0
    assert by_cell[new_cell]["pattern"] == "new"


def _history_and_view(points, origin_week: int = 110):
    origin = START + origin_week * 7 * DAY
    before = points.t < origin
    grid = Grid.covering(points.x[before], points.y[before], 250)
    history = build_history(
        points, grid=grid, first_origin=origin, bin_seconds=7 * DAY, bins_before=origin_week
    )
    return history, history.past(origin_week), grid


def test_every_forecast_method_ranks_the_planted_hotspot_first() -> None:
    points = planted_hotspot_history()
    _, view, grid = _history_and_view(points)
    planted = grid.cell_index(np.array([ORIGIN_X + 1125.0]), np.array([ORIGIN_Y + 1375.0]))[0]
    for scores in (
        naive_scores(view),
        decayed_scores(view),
        prospective_scores(view),
        fit_self_exciting(view, training_origins=8).scores(view),
        fit_boosted(view, training_origins=8, max_iter=40).scores(view),
    ):
        assert rank_cells(scores, view.study)[0] == planted


def test_decayed_counts_remember_older_years_at_a_discount() -> None:
    # cell A: 20 incidents two years ago and 5 this year; cell B: 8 this year, none before
    origin_week = 160
    a, b = (375.0, 375.0), (1375.0, 1375.0)
    weeks_ago = np.concatenate([np.full(20, 104), np.full(5, 20), np.full(8, 20)])
    x = np.concatenate([np.full(25, a[0]), np.full(8, b[0])])
    y = np.concatenate([np.full(25, a[1]), np.full(8, b[1])])
    t = START + (origin_week - weeks_ago) * 7 * DAY + DAY
    points = points_from_metres(ORIGIN_X + x, ORIGIN_Y + y, t)
    _, view, grid = _history_and_view(points, origin_week=origin_week)
    cell_a, cell_b = grid.cell_index(
        ORIGIN_X + np.array([a[0], b[0]]), ORIGIN_Y + np.array([a[1], b[1]])
    )
    assert rank_cells(naive_scores(view), view.study)[0] == cell_b  # 8 > 5 in the last year
    scores = decayed_scores(view)
    assert rank_cells(scores, view.study)[0] == cell_a  # 20/4 + 5*0.8 > 8*0.8
    assert scores[cell_a] == pytest.approx(
        20 * 0.5 ** (103.5 * 7 / 365) + 5 * 0.5 ** (19.5 * 7 / 365)
    )


def _near_repeat_history(weeks: int = 110, seed: int = 4):
    """Uniform background plus weekly bursts: one event, then ~8 more in its cell within 2 weeks.

    The last week before the origin ends with a fresh burst at a known place.
    """
    rng = np.random.default_rng(seed)
    n_background = 20 * weeks
    xs = [rng.uniform(0, 3000, n_background)]
    ys = [rng.uniform(0, 3000, n_background)]
    ts = [START + rng.integers(0, weeks * 7 * DAY, n_background)]
    for week in range(weeks - 1):
        cx, cy = rng.uniform(200, 2800, 2)
        n = 1 + rng.poisson(8)
        xs.append(cx + rng.uniform(-40, 40, n))
        ys.append(cy + rng.uniform(-40, 40, n))
        ts.append(START + week * 7 * DAY + rng.integers(0, 14 * DAY, n))
    fresh = (1625.0, 625.0)
    xs.append(fresh[0] + rng.uniform(-40, 40, 5))
    ys.append(fresh[1] + rng.uniform(-40, 40, 5))
    ts.append(START + (weeks - 1) * 7 * DAY + rng.integers(0, 7 * DAY, 5))
    t = np.concatenate(ts)
    keep = t < START + weeks * 7 * DAY
    points = points_from_metres(
        ORIGIN_X + np.concatenate(xs)[keep], ORIGIN_Y + np.concatenate(ys)[keep], t[keep]
    )
    return points, fresh


def test_self_exciting_model_learns_near_repeats_and_ranks_a_fresh_burst_first() -> None:
    points, fresh = _near_repeat_history()
    _, view, grid = _history_and_view(points)
    burst_cell = grid.cell_index(np.array([ORIGIN_X + fresh[0]]), np.array([ORIGIN_Y + fresh[1]]))
    model = fit_self_exciting(view, training_origins=26)
    assert model.trigger > 0.15  # a sizeable share of crime is explained by recent crime
    assert rank_cells(model.scores(view), view.study)[0] == burst_cell[0]
    # the long-term count does not single it out: many cells had bursts during the year
    assert rank_cells(naive_scores(view), view.study)[0] != burst_cell[0]
    # the fitted kernel is the generating one: repeats within two weeks, in the same cell
    assert model.decay_per_bin == pytest.approx(1.0)  # 1/7 per day: the fastest candidate
    assert model.sigma_cells < 0.5


def _backtest(points):
    return backtest(
        points,
        start=START + 100 * 7 * DAY,
        end=START + 106 * 7 * DAY,
        methods=("naive", "decayed", "prospective", "sepp", "gbm"),
        retrain_every=3,
        training_origins=6,
        keep_rankings=True,
    )


def test_backtest_never_uses_data_from_the_period_it_scores() -> None:
    points = planted_hotspot_history(weeks=110)
    baseline = _backtest(points)
    # Move every incident of the last scored week (week 105) into one far corner cell, and
    # make that week ten times busier: if any forecast looked at it, its ranking would change.
    rng = np.random.default_rng(9)
    last = points.t >= START + 105 * 7 * DAY
    moved = points.subset(np.ones(len(points), bool))
    moved.x = moved.x.copy()
    moved.y = moved.y.copy()
    moved.x[last] = ORIGIN_X + 2900 + rng.uniform(0, 50, last.sum())
    moved.y[last] = ORIGIN_Y + 2900 + rng.uniform(0, 50, last.sum())
    extra = moved.subset(last)
    for _ in range(9):
        moved = _concat(moved, extra)
    changed = _backtest(moved)
    before = {(r["origin"], r["method"]): r for r in baseline["rankings"]}
    after = {(r["origin"], r["method"]): r for r in changed["rankings"]}
    assert before.keys() == after.keys()
    for key, row in before.items():
        assert row["top_cells"] == after[key]["top_cells"], key  # forecasts unchanged
    last_origin = max(r["origin"] for r in baseline["rankings"])
    assert (
        after[(last_origin, "naive")]["incidents"]
        == 10 * before[(last_origin, "naive")]["incidents"]
    )
    assert after[(last_origin, "naive")]["hits"] != before[(last_origin, "naive")]["hits"]


def _concat(a, b):
    from hotspots_service.analysis.points import PointSet

    return PointSet(
        lat=np.concatenate([a.lat, b.lat]),
        lon=np.concatenate([a.lon, b.lon]),
        x=np.concatenate([a.x, b.x]),
        y=np.concatenate([a.y, b.y]),
        t=np.concatenate([a.t, b.t]),
        category=np.concatenate([a.category, b.category]),
        area=np.concatenate([a.area, b.area]),
        projection=a.projection,
    )


def test_backtest_reports_hit_rate_pai_pei_beside_the_baseline() -> None:
    result = _backtest(planted_hotspot_history(weeks=110))
    assert result["baseline"] == "naive"
    assert result["origins"] == 6
    for method in ("naive", "decayed", "prospective", "sepp", "gbm"):
        for share in ("0.01", "0.05", "0.1"):
            values = result["methods"][method][share]
            assert 0 < values["hit_rate"] <= 1
            assert values["pai"] == pytest.approx(
                values["hit_rate"] / values["area_share"], rel=0.05
            )
            assert 0 < values["pei"] <= 1
    # the planted cell holds ~23% of crime in ~1% of the area
    assert result["methods"]["naive"]["0.01"]["pai"] > 10


def test_indicator_distribution_and_feedback_simulation() -> None:
    points = planted_hotspot_history(weeks=110)
    _history, view, grid = _history_and_view(points, origin_week=100)
    scores = naive_scores(view)
    flagged = rank_cells(scores, view.study)[:5]
    from hotspots_service.analysis.fairness import cell_areas

    areas = cell_areas(points, grid)
    report = indicator_distribution(
        flagged=flagged,
        recorded=scores,
        study=view.study,
        areas=areas,
        indicator={"West": 10.0, "East": 50.0},
        groups=2,
    )
    groups = report["groups"]
    assert sum(g["flagged_cells_share"] for g in groups) == pytest.approx(1.0)
    assert sum(g["recorded_crime_share"] for g in groups) == pytest.approx(1.0)
    # the planted hotspot is in the West (x < 1500): the low-indicator group gets more flags
    assert groups[0]["flagged_cells_share"] > groups[1]["flagged_cells_share"]
    history2, _, _ = _history_and_view(points, origin_week=110)
    sim = feedback_simulation(
        history2, start_index=100, rounds=6, method="naive", share=0.05, boost=3.0
    )
    assert len(sim["rounds"]) == 6
    last = sim["rounds"][-1]
    assert last["feedback_recorded_share_in_flagged"] > last["feedback_true_share_in_flagged"]
    assert isinstance(sim["self_reinforcing"], bool)
    assert sim["lock_in"] >= 0
