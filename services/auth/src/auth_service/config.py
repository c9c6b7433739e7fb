"""Settings of the auth service (environment variables prefixed AUTH_)."""

from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("AUTH_")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/auth.db",
        description="SQLAlchemy URL of the auth database",
    )
