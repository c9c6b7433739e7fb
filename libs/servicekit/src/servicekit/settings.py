"""Settings base: every service subclasses it with its own env prefix (RECORDS_, AUTH_, ...)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set `model_config = service_config("RECORDS_")`."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/service.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    log_level: str = Field(default="INFO", description="Minimum log level")
    log_json: bool = Field(default=True, description="JSON log lines (false: console lines)")
    jwks_url: str = Field(
        default="http://127.0.0.1:8001/api/v1/auth/.well-known/jwks.json",
        description="Where the auth service publishes its public signing keys",
    )
    token_issuer: str = Field(default="stationhouse-auth", description="Expected JWT iss")
    token_audience: str = Field(default="stationhouse", description="Expected JWT aud")
    jwks_cache_seconds: float = Field(default=300.0, description="How long fetched keys are kept")
    revocation_refresh_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "How often the list of ended sessions is refreshed from beside the JWKS URL; a "
            "signed-out or disabled session's access tokens stop working within this (0: off)"
        ),
    )
    drain_seconds: float = Field(
        default=0.0,
        description="On shutdown, how long /readyz fails before the server stops accepting work",
    )


def service_config(prefix: str) -> SettingsConfigDict:
    """Settings config for a service with its own env prefix."""
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", env_file=None)
