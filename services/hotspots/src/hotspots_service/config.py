"""Settings of the hotspots service (environment variables prefixed HOTSPOTS_)."""

from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("HOTSPOTS_")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/hotspots.db",
        description="SQLAlchemy URL of the hotspots database",
    )
