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
    auth_url: str | None = Field(
        default=None, description="Base URL of the auth service (client-credentials tokens)"
    )
    records_url: str | None = Field(
        default=None, description="Base URL of the records service (incident export feed)"
    )
    client_id: str = Field(default="prediction", description="Service account client id")
    client_secret: str | None = Field(default=None, description="Service account client secret")
    sync_interval_seconds: float = Field(
        default=300.0, ge=0, description="Seconds between background syncs of incidents; 0 disables"
    )
    sync_page_size: int = Field(default=5000, ge=1, le=10000, description="Feed lines per request")
    artifact_key: str | None = Field(
        default=None,
        description="Secret for HMAC-signing model artifacts (defaults to one derived from the"
        " client secret; every replica must share it)",
    )
    job_stale_seconds: float = Field(
        default=120.0, gt=0, description="A running job without heartbeat this long is failed"
    )
    job_poll_seconds: float = Field(
        default=5.0, ge=0, description="How often a replica looks for queued or stale jobs; 0 off"
    )
    ml_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Native (OpenMP/BLAS) threads per training or inference call",
    )
    replica_id: str | None = Field(default=None, description="Name of this replica in job rows")
