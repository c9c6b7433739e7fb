"""Settings of the prediction service (environment variables prefixed PREDICTION_)."""

from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("PREDICTION_")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/prediction.db",
        description="SQLAlchemy URL of the prediction database",
    )
