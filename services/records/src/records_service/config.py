"""Settings of the records service (environment variables prefixed RECORDS_)."""

from __future__ import annotations

from pydantic import Field
from servicekit.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("RECORDS_")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/records.db",
        description="SQLAlchemy URL of the records database",
    )
