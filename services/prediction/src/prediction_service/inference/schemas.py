"""Classification and forecast requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 10_000


class IncidentInput(BaseModel):
    """What is known of an incident when it is classified."""

    model_config = ConfigDict(extra="forbid")

    occurred_at: datetime = Field(description="When it happened (ISO 8601; no offset means UTC)")
    premises_type: str | None = Field(default=None, max_length=100)
    area: str | None = Field(default=None, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident: IncidentInput
    top_features: int = Field(default=3, ge=0, le=10)


class ClassifyBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incidents: list[IncidentInput] = Field(min_length=1, max_length=MAX_BATCH)
    explain: bool = Field(
        default=False, description="Add the top contributing features per row (slower)"
    )
    top_features: int = Field(default=3, ge=1, le=10)


class ModelRef(BaseModel):
    id: str
    kind: str
    version: int
    algorithm: str
    class_balanced: bool


class FeatureContribution(BaseModel):
    feature: str
    contribution: float = Field(description="Drop of the predicted class's probability without it")


class Classification(BaseModel):
    predicted_category: str
    probabilities: dict[str, float]
    top_features: list[FeatureContribution] | None = None


class ClassifyResponse(Classification):
    model: ModelRef


class ClassifyBatchResponse(BaseModel):
    model: ModelRef
    predictions: list[Classification]


class ForecastPoint(BaseModel):
    period_start: datetime
    forecast: float = Field(
        description="Point forecast: median of a Poisson with the expected count"
    )
    expected: float = Field(description="Expected count (the model's mean)")
    lower: float
    upper: float


class ForecastSeries(BaseModel):
    series: str
    points: list[ForecastPoint]


class ForecastResponse(BaseModel):
    model: ModelRef
    freq: Literal["week", "month"]
    dimension: Literal["area", "category"]
    interval_level: float
    series: list[ForecastSeries]
