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
    auth_url: str | None = Field(
        default=None,
        description="Base URL of the auth service (token endpoint /api/v1/auth/token below it)",
    )
    client_id: str = Field(default="hotspots", description="Service account client id")
    client_secret: str | None = Field(default=None, description="Service account secret")
    records_url: str | None = Field(default=None, description="Base URL of the records service")
    sync_page_size: int = Field(default=5000, ge=1, le=10000, description="Export feed page size")
    sync_interval_seconds: float = Field(
        default=300.0, ge=0.0, description="Background sync period; 0 turns it off"
    )
    epsg: int | None = Field(
        default=None,
        description="Projected CRS for distances; unset picks the UTM zone of the data",
    )
    job_workers: int = Field(default=1, ge=1, le=8, description="Threads running analysis jobs")
