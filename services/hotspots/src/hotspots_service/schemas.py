"""Request and response shapes of the hotspots API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CATEGORIES = (
    "assault", "robbery", "burglary", "theft", "vehicle_theft", "theft_from_vehicle",
    "criminal_damage", "drugs", "weapons", "sexual_offence", "homicide", "fraud",
    "public_order", "other",
)  # fmt: skip
Category = Literal[
    "assault", "robbery", "burglary", "theft", "vehicle_theft", "theft_from_vehicle",
    "criminal_damage", "drugs", "weapons", "sexual_offence", "homicide", "fraud",
    "public_order", "other",
]  # fmt: skip
Horizon = Literal["day", "week", "month"]
Method = Literal["naive", "decayed", "prospective", "sepp", "gbm"]


def _all_methods() -> list[Method]:
    return ["naive", "decayed", "prospective", "sepp", "gbm"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentFilter(Strict):
    """Which incidents to analyse: categories, time frame, area names, bounding box."""

    categories: list[Category] | None = Field(default=None, max_length=14)
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    areas: list[str] | None = Field(default=None, max_length=500)
    bbox: list[float] | None = Field(
        default=None, description="[min_lon, min_lat, max_lon, max_lat] in WGS84"
    )

    @field_validator("occurred_from", "occurred_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("times need a UTC offset")
        return value

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if len(value) != 4:
            raise ValueError("bbox needs 4 numbers")
        min_lon, min_lat, max_lon, max_lat = value
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValueError("bbox must be [min_lon, min_lat, max_lon, max_lat] with min < max")
        return value

    @model_validator(mode="after")
    def _order(self) -> IncidentFilter:
        if self.occurred_from and self.occurred_to and self.occurred_from >= self.occurred_to:
            raise ValueError("occurred_from must be before occurred_to")
        return self


class ClusterRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    method: Literal["kmeans", "dbscan", "hdbscan"] = "dbscan"
    k: int = Field(default=8, ge=2, le=200, description="K-means clusters")
    eps_m: float = Field(default=150.0, gt=0, le=5000, description="DBSCAN radius in metres")
    min_samples: int = Field(default=10, ge=1, le=100_000)
    min_cluster_size: int = Field(default=25, ge=2, le=100_000, description="HDBSCAN")


class GridMapRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    cell_size_m: float = Field(default=250.0, ge=25, le=5000)
    neighbourhood_cells: int = Field(default=1, ge=1, le=5)
    fdr_alpha: float = Field(default=0.05, gt=0, le=0.2)


class KdeRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    cell_size_m: float = Field(default=250.0, ge=25, le=5000)
    bandwidth_m: float = Field(default=300.0, ge=10, le=10_000)
    min_share_of_peak: float = Field(default=0.05, ge=0, le=1)


class EmergingRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    cell_size_m: float = Field(default=250.0, ge=25, le=5000)
    slice_days: int = Field(default=30, ge=1, le=366)
    slices: int = Field(default=12, ge=3, le=60)
    end: datetime | None = Field(default=None, description="End of the last slice (default: now)")
    neighbourhood_cells: int = Field(default=1, ge=1, le=5)
    fdr_alpha: float = Field(default=0.05, gt=0, le=0.2)


class ForecastRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    method: Method = "gbm"
    horizon: Horizon = "week"
    as_of: datetime | None = Field(default=None, description="Forecast origin (default: now)")
    cell_size_m: float = Field(default=250.0, ge=50, le=5000)
    area_share: float = Field(default=0.05, gt=0, le=0.5)


class BacktestRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    start: datetime
    end: datetime
    horizon: Horizon = "week"
    cell_size_m: float = Field(default=250.0, ge=50, le=5000)
    methods: list[Method] = Field(default_factory=_all_methods)
    shares: list[float] = Field(default_factory=lambda: [0.01, 0.05, 0.10], max_length=10)
    retrain_every: int = Field(default=4, ge=1, le=52)
    training_origins: int = Field(default=26, ge=2, le=104)
    include_rankings: bool = False

    @model_validator(mode="after")
    def _period(self) -> BacktestRequest:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a UTC offset")
        if self.start >= self.end:
            raise ValueError("start must be before end")
        if any(not 0 < s <= 0.5 for s in self.shares):
            raise ValueError("shares must be in (0, 0.5]")
        return self


class FairnessRequest(Strict):
    filter: IncidentFilter = Field(default_factory=IncidentFilter)
    method: Method = "naive"
    horizon: Horizon = "week"
    as_of: datetime | None = None
    cell_size_m: float = Field(default=250.0, ge=50, le=5000)
    area_share: float = Field(default=0.05, gt=0, le=0.5)
    groups: int = Field(default=4, ge=2, le=10)
    rounds: int = Field(default=8, ge=1, le=52, description="Feedback simulation rounds")
    boost: float = Field(default=0.5, ge=0, le=5, description="Extra records per incident")


class JobPublic(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: float
    message: str | None
    error: str | None
    input_hash: str
    parameters: dict[str, Any]
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = None


class SyncStatePublic(BaseModel):
    cursor: str | None
    data_version: int
    applied_total: int
    deleted_total: int
    last_synced_at: datetime | None
    last_error: str | None
    incident_points: int


class SyncReportPublic(BaseModel):
    pages: int
    upserted: int
    deleted: int
    cursor: str | None
    data_version: int


class AreaIndicatorsPublic(BaseModel):
    areas: int
    indicators: list[str]
    values: dict[str, dict[str, float]]
