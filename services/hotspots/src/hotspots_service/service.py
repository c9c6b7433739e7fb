"""Domain logic: load incident points from our copy, run the analyses as job tasks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotspots_service.analysis import clustering, hotspot_maps
from hotspots_service.analysis.evaluation import backtest, history_for_forecast
from hotspots_service.analysis.fairness import (
    cell_areas,
    feedback_simulation,
    indicator_distribution,
)
from hotspots_service.analysis.forecasting import (
    DAY,
    HORIZON_DAYS,
    History,
    PastView,
    decayed_scores,
    fit_boosted,
    fit_self_exciting,
    flagged_count,
    naive_scores,
    prospective_scores,
    rank_cells,
)
from hotspots_service.analysis.geo import feature_collection
from hotspots_service.analysis.hotspot_maps import grid_features
from hotspots_service.analysis.points import PointSet
from hotspots_service.jobs import Progress, Task
from hotspots_service.models import AreaIndicator, IncidentPoint
from hotspots_service.schemas import (
    BacktestRequest,
    ClusterRequest,
    EmergingRequest,
    FairnessRequest,
    ForecastRequest,
    GridMapRequest,
    IncidentFilter,
    KdeRequest,
)
from servicekit.db import Database
from servicekit.errors import BadRequest, UnprocessableContent

MIN_POINTS = 3


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def load_points(
    database: Database,
    incident_filter: IncidentFilter,
    *,
    epsg: int | None,
    before: datetime | None = None,
) -> PointSet:
    """The filtered incidents that have coordinates, projected to metres."""
    query = select(
        IncidentPoint.lat,
        IncidentPoint.lon,
        IncidentPoint.occurred_at,
        IncidentPoint.category,
        IncidentPoint.area,
    ).where(IncidentPoint.lat.is_not(None), IncidentPoint.lon.is_not(None))
    f = incident_filter
    if f.categories:
        query = query.where(IncidentPoint.category.in_(f.categories))
    if f.occurred_from:
        query = query.where(IncidentPoint.occurred_at >= f.occurred_from)
    if f.occurred_to:
        query = query.where(IncidentPoint.occurred_at < f.occurred_to)
    if before is not None:
        query = query.where(IncidentPoint.occurred_at < before)
    if f.areas:
        query = query.where(IncidentPoint.area.in_(f.areas))
    if f.bbox:
        min_lon, min_lat, max_lon, max_lat = f.bbox
        query = query.where(
            IncidentPoint.lon >= min_lon,
            IncidentPoint.lon <= max_lon,
            IncidentPoint.lat >= min_lat,
            IncidentPoint.lat <= max_lat,
        )
    with database.session(write=False) as session:
        rows = session.execute(query).all()
    if len(rows) < MIN_POINTS:
        raise UnprocessableContent(
            f"Only {len(rows)} incidents with coordinates match the filter; "
            f"at least {MIN_POINTS} are needed."
        )
    lat = np.fromiter((r[0] for r in rows), float, len(rows))
    lon = np.fromiter((r[1] for r in rows), float, len(rows))
    t = np.fromiter((_epoch(r[2]) for r in rows), np.int64, len(rows))
    category = np.array([r[3] for r in rows], dtype=object)
    area = np.array([r[4] or "" for r in rows], dtype=object)
    return PointSet.build(lat=lat, lon=lon, t=t, category=category, area=area, epsg=epsg)


def _filter(parameters: dict[str, Any]) -> IncidentFilter:
    return IncidentFilter.model_validate(parameters.get("filter") or {})


def run_clusters(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = ClusterRequest.model_validate(parameters)
    points = load_points(database, request.filter, epsg=epsg)
    progress(0.1, f"clustering {len(points)} incidents")
    if request.method == "kmeans":
        result = clustering.kmeans(points.x, points.y, k=request.k)
        used: dict[str, float] = {"k": request.k}
    elif request.method == "dbscan":
        result = clustering.dbscan(
            points.x, points.y, eps=request.eps_m, min_samples=request.min_samples
        )
        used = {"eps_m": request.eps_m, "min_samples": request.min_samples}
    else:
        result = clustering.hdbscan(
            points.x,
            points.y,
            min_cluster_size=request.min_cluster_size,
            min_samples=request.min_samples,
        )
        used = {"min_cluster_size": request.min_cluster_size, "min_samples": request.min_samples}
    progress(0.8, "building cluster hulls")
    return clustering.clusters_geojson(
        points, result, parameters={"method": request.method, **used}, progress=progress
    )


def run_grid_map(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = GridMapRequest.model_validate(parameters)
    points = load_points(database, request.filter, epsg=epsg)
    progress(0.3, "computing Gi*")
    return hotspot_maps.grid_map(
        points.x,
        points.y,
        projection=points.projection,
        cell_size=request.cell_size_m,
        radius=request.neighbourhood_cells,
        alpha=request.fdr_alpha,
    )


def run_kde(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = KdeRequest.model_validate(parameters)
    points = load_points(database, request.filter, epsg=epsg)
    progress(0.3, "smoothing")
    return hotspot_maps.kde_map(
        points.x,
        points.y,
        projection=points.projection,
        cell_size=request.cell_size_m,
        bandwidth=request.bandwidth_m,
        min_share_of_peak=request.min_share_of_peak,
    )


def run_emerging(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = EmergingRequest.model_validate(parameters)
    end = _epoch(request.end) if request.end else int(datetime.now(UTC).timestamp())
    edges = end - np.arange(request.slices, -1, -1, dtype=np.int64) * request.slice_days * DAY
    points = load_points(database, request.filter, epsg=epsg)
    inside = (points.t >= edges[0]) & (points.t < edges[-1])
    if inside.sum() < MIN_POINTS:
        raise UnprocessableContent("Too few incidents fall inside the time slices.")
    points = points.subset(inside)
    progress(0.3, "Gi* per slice")
    return hotspot_maps.emerging_hotspots(
        points.x,
        points.y,
        points.t,
        projection=points.projection,
        cell_size=request.cell_size_m,
        slice_edges=edges,
        radius=request.neighbourhood_cells,
        alpha=request.fdr_alpha,
    )


def _origin(as_of: datetime | None) -> int:
    return _epoch(as_of) if as_of else int(datetime.now(UTC).timestamp())


def forecast_scores(
    points: PointSet, *, method: str, origin: int, horizon: str, cell_size: float
) -> tuple[History, PastView, np.ndarray]:
    history = history_for_forecast(points, origin=origin, horizon=horizon, cell_size=cell_size)
    view = history.past(history.counts.shape[0])
    if method == "naive":
        scores = naive_scores(view)
    elif method == "decayed":
        scores = decayed_scores(view)
    elif method == "prospective":
        scores = prospective_scores(view)
    elif method == "sepp":
        scores = fit_self_exciting(view).scores(view)
    else:
        scores = fit_boosted(view).scores(view)
    return history, view, scores


def run_forecast(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = ForecastRequest.model_validate(parameters)
    origin = _origin(request.as_of)
    points = load_points(
        database, request.filter, epsg=epsg, before=datetime.fromtimestamp(origin, UTC)
    )
    progress(0.2, f"scoring cells with {request.method}")
    history, view, scores = forecast_scores(
        points,
        method=request.method,
        origin=origin,
        horizon=request.horizon,
        cell_size=request.cell_size_m,
    )
    ranking = rank_cells(scores, view.study)
    study_cells = int(view.study.sum())
    n = flagged_count(request.area_share, study_cells)
    top = ranking[:n]
    baseline = naive_scores(view)
    properties = [
        {"rank": i + 1, "risk": round(float(scores[c]), 6), "count_last_365_days": int(baseline[c])}
        for i, c in enumerate(top)
    ]
    end = origin + HORIZON_DAYS[request.horizon] * DAY
    return feature_collection(
        grid_features(history.grid, points.projection, top, properties),
        method=request.method,
        horizon=request.horizon,
        period_start=datetime.fromtimestamp(origin, UTC).isoformat(),
        period_end=datetime.fromtimestamp(end, UTC).isoformat(),
        cell_size_m=request.cell_size_m,
        study_cells=study_cells,
        flagged_cells=int(n),
        area_share=n / study_cells,
        flagged_area_km2=round(n * history.grid.cell_area_km2, 4),
        crs_used_for_distances=f"EPSG:{points.projection.epsg}",
    )


def run_backtest(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = BacktestRequest.model_validate(parameters)
    points = load_points(database, request.filter, epsg=epsg)
    return backtest(
        points,
        start=_epoch(request.start),
        end=_epoch(request.end),
        horizon=request.horizon,
        cell_size=request.cell_size_m,
        methods=tuple(request.methods),
        shares=tuple(sorted(set(request.shares))),
        retrain_every=request.retrain_every,
        training_origins=request.training_origins,
        keep_rankings=request.include_rankings,
        progress=progress,
    )


def load_indicators(database: Database) -> dict[str, dict[str, float]]:
    """indicator -> area -> value."""
    with database.session(write=False) as session:
        rows = session.execute(
            select(AreaIndicator.indicator, AreaIndicator.area, AreaIndicator.value)
        ).all()
    indicators: dict[str, dict[str, float]] = {}
    for indicator, area, value in rows:
        indicators.setdefault(indicator, {})[area] = value
    return indicators


def run_fairness(
    database: Database, parameters: dict[str, Any], progress: Progress, *, epsg: int | None
) -> dict[str, Any]:
    request = FairnessRequest.model_validate(parameters)
    indicators = load_indicators(database)
    if not indicators:
        raise UnprocessableContent("Upload area indicators first (PUT /area-indicators).")
    origin = _origin(request.as_of)
    points = load_points(
        database, request.filter, epsg=epsg, before=datetime.fromtimestamp(origin, UTC)
    )
    history, view, scores = forecast_scores(
        points,
        method=request.method,
        origin=origin,
        horizon=request.horizon,
        cell_size=request.cell_size_m,
    )
    ranking = rank_cells(scores, view.study)
    flagged = ranking[: flagged_count(request.area_share, int(view.study.sum()))]
    recorded = naive_scores(view)
    areas = cell_areas(points, history.grid)
    distribution = {
        name: indicator_distribution(
            flagged=flagged,
            recorded=recorded,
            study=view.study,
            areas=areas,
            indicator=values,
            groups=request.groups,
        )
        for name, values in sorted(indicators.items())
    }
    progress(0.3, "simulating repeated deployment")
    n_bins = history.counts.shape[0]
    rounds = min(request.rounds, n_bins - 60)
    if rounds < 1:
        raise UnprocessableContent("Not enough history for a feedback simulation.")
    simulation = feedback_simulation(
        history,
        start_index=n_bins - rounds,
        rounds=rounds,
        method=request.method,
        share=request.area_share,
        boost=request.boost,
        progress=lambda f, m: progress(0.3 + 0.7 * f, m),
    )
    return {
        "method": request.method,
        "horizon": request.horizon,
        "as_of": datetime.fromtimestamp(origin, UTC).isoformat(),
        "area_share": request.area_share,
        "recorded_crime_window": "the 365 days before as_of",
        "indicators": distribution,
        "feedback_loop": simulation,
    }


def task_table(epsg: int | None) -> dict[str, Task]:
    """Job kind -> task, with the configured projection bound in."""

    def bind(function: Any) -> Task:
        return lambda database, parameters, progress: function(
            database, parameters, progress, epsg=epsg
        )

    return {
        "clusters": bind(run_clusters),
        "grid_map": bind(run_grid_map),
        "kde": bind(run_kde),
        "emerging": bind(run_emerging),
        "forecast": bind(run_forecast),
        "backtest": bind(run_backtest),
        "fairness": bind(run_fairness),
    }


MAX_INDICATOR_CSV = 2_000_000


def replace_indicators(session: Session, *, body: bytes, actor: str) -> int:
    """Replace every area indicator with a CSV: column `area` plus one numeric column each."""
    if len(body) > MAX_INDICATOR_CSV:
        raise BadRequest("The CSV is larger than 2 MB.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest("The CSV must be UTF-8.") from exc
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in (reader.fieldnames or [])]
    if "area" not in fields or len(fields) < 2:
        raise UnprocessableContent("The CSV needs a header with 'area' and indicator columns.")
    reader.fieldnames = fields
    rows: dict[tuple[str, str], float] = {}
    for line, record in enumerate(reader, start=2):
        area = (record.get("area") or "").strip()
        if not area:
            raise UnprocessableContent(f"Line {line} has no area.")
        for name in fields:
            if name == "area":
                continue
            raw = (record.get(name) or "").strip()
            if raw == "":
                continue
            try:
                value = float(raw)
            except ValueError as exc:
                raise UnprocessableContent(
                    f"Line {line}: {name} is not a number ({raw[:40]!r})."
                ) from exc
            if not np.isfinite(value):
                raise UnprocessableContent(f"Line {line}: {name} is not finite.")
            rows[(area[:200], name[:64])] = value
    if not rows:
        raise UnprocessableContent("The CSV holds no indicator values.")
    session.execute(delete(AreaIndicator))
    now = datetime.now(UTC)
    session.add_all(
        AreaIndicator(area=a, indicator=i, value=v, uploaded_by=actor, uploaded_at=now)
        for (a, i), v in rows.items()
    )
    session.flush()
    return len(rows)


def count_points(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(IncidentPoint)) or 0)
