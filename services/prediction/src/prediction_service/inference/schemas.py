"""Classification and forecast requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

MAX_BATCH = 10_000


@with_config(ConfigDict(extra="forbid"))
class IncidentInput(TypedDict):
    """What is known of an incident when it is classified.

    A TypedDict rather than a model: a batch validates 10,000 of these, and plain dicts cost a
    third of model instances (and leave the garbage collector far less to scan).
    """

    occurred_at: Annotated[
        datetime, Field(description="When it happened (ISO 8601; no offset means UTC)")
    ]
    premises_type: NotRequired[Annotated[str | None, Field(max_length=100)]]
    area: NotRequired[Annotated[str | None, Field(max_length=200)]]
    lat: NotRequired[Annotated[float | None, Field(ge=-90, le=90)]]
    lon: NotRequired[Annotated[float | None, Field(ge=-180, le=180)]]


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


class Score(BaseModel):
    mae: float
    rmse: float


class ForecastEvaluation(BaseModel):
    """How the served model did, beside the baselines, when it was trained: every period of the
    evaluation window forecast one step ahead from earlier periods only, over all series of
    the dimension."""

    protocol: str
    first_period: datetime
    last_period: datetime
    periods_evaluated: int
    series: int
    model: Score
    interval_coverage: float | None = Field(
        description="Share of evaluated counts inside the model's interval"
    )
    baselines: dict[str, Score] = Field(
        description="seasonal_naive (same period a year before) and the moving average"
    )


class ForecastResponse(BaseModel):
    model: ModelRef
    freq: Literal["week", "month"]
    dimension: Literal["area", "category"]
    interval_level: float
    evaluation: ForecastEvaluation | None = Field(
        description="The model's rolling-origin evaluation for this dimension (null if none)"
    )
    series: list[ForecastSeries]
