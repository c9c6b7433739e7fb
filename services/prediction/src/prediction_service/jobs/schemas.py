"""Job requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prediction_service.ml.classification import ALGORITHMS
from prediction_service.ml.forecasting import FORECAST_ALGORITHMS

# Grid parameters a caller may set, per algorithm (anything else is refused).
GRID_PARAMS: dict[str, dict[str, type]] = {
    "logistic_regression": {"C": float},
    "decision_tree": {"max_depth": int, "min_samples_leaf": int},
    "random_forest": {"n_estimators": int, "max_depth": int, "min_samples_leaf": int},
    "gradient_boosting": {"learning_rate": float, "max_leaf_nodes": int, "max_iter": int},
}

ClassifierAlgorithm = Literal[
    "logistic_regression", "decision_tree", "random_forest", "gradient_boosting"
]
ForecastAlgorithm = Literal["linear_regression", "gradient_boosting"]


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["classifier", "forecast_week", "forecast_month"]
    algorithms: list[str] | None = Field(
        default=None, max_length=4, description="Default: all of the kind"
    )
    class_balanced: bool = Field(default=False, description="Also train class-balanced variants")
    grids: dict[str, dict[str, list[float | int | None]]] | None = Field(
        default=None,
        description="Grid overrides per classifier algorithm,"
        " e.g. {'decision_tree': {'max_depth': [4, 8]}}",
    )
    data_from: datetime | None = None
    data_to: datetime | None = None
    horizon: int = Field(default=8, ge=1, le=52, description="Forecast periods ahead")
    evaluation_periods: int | None = Field(default=None, ge=4, le=260)

    @model_validator(mode="after")
    def _check(self) -> JobCreate:
        allowed = ALGORITHMS if self.kind == "classifier" else FORECAST_ALGORITHMS
        algorithms = self.algorithms or list(allowed)
        unknown = [a for a in algorithms if a not in allowed]
        if unknown or len(set(algorithms)) != len(algorithms):
            raise ValueError(f"algorithms must be distinct values of {list(allowed)}")
        self.algorithms = algorithms
        if self.grids:
            if self.kind != "classifier":
                raise ValueError("grids apply to classifier jobs only")
            for algorithm, grid in self.grids.items():
                if algorithm not in GRID_PARAMS:
                    raise ValueError(f"no grid for {algorithm!r}")
                for name, values in grid.items():
                    if name not in GRID_PARAMS[algorithm]:
                        raise ValueError(f"{algorithm} has no tunable parameter {name!r}")
                    if not 1 <= len(values) <= 4:
                        raise ValueError("give 1 to 4 values per grid parameter")
                    for value in values:
                        if value is None and name == "max_depth":
                            continue
                        if value is None or value <= 0:
                            raise ValueError(f"{algorithm}.{name} values must be positive")
        if self.data_from and self.data_to and self.data_from >= self.data_to:
            raise ValueError("data_from must be before data_to")
        return self

    def job_params(self) -> dict[str, Any]:
        grids = None
        if self.grids:
            grids = {
                algorithm: {
                    f"model__{name}": [
                        v if v is None else GRID_PARAMS[algorithm][name](v) for v in values
                    ]
                    for name, values in grid.items()
                }
                for algorithm, grid in self.grids.items()
            }
        default_eval = 26 if self.kind == "forecast_week" else 12
        return {
            "algorithms": self.algorithms,
            "class_balanced": self.class_balanced,
            "grids": grids,
            "data_from": self.data_from.isoformat() if self.data_from else None,
            "data_to": self.data_to.isoformat() if self.data_to else None,
            "horizon": self.horizon,
            "evaluation_periods": self.evaluation_periods or default_eval,
        }


class JobPublic(BaseModel):
    id: str
    kind: str
    status: str
    progress: float
    message: str | None
    params: dict[str, Any]
    result: dict[str, Any] | None
    cancel_requested: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
