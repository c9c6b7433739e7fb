"""Gateway settings (environment variables prefixed GATEWAY_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from servicekit.settings import ServiceSettings, service_config

REPO_ROOT = Path(__file__).resolve().parents[3]


class Settings(ServiceSettings):
    model_config = service_config("GATEWAY_")

    auth_url: str = Field(default="http://127.0.0.1:8001", description="Auth service base URL")
    records_url: str = Field(
        default="http://127.0.0.1:8002", description="Records service base URL"
    )
    prediction_url: str = Field(
        default="http://127.0.0.1:8003", description="Prediction service base URL"
    )
    hotspots_url: str = Field(
        default="http://127.0.0.1:8004", description="Hotspots service base URL"
    )
    connect_timeout: float = Field(default=2.0, description="Seconds to connect to an upstream")
    read_timeout: float = Field(
        default=30.0, description="Seconds to wait for an upstream's next bytes"
    )
    write_timeout: float = Field(default=30.0, description="Seconds to send the next bytes")
    pool_timeout: float = Field(default=2.0, description="Seconds to wait for a pooled connection")
    max_connections: int = Field(default=200, description="Pooled connections to all upstreams")
    readiness_timeout: float = Field(default=2.0, description="Seconds per upstream /readyz check")
    web_dist: Path = Field(
        default=REPO_ROOT / "web" / "dist", description="Built web UI served at /"
    )

    def upstreams(self) -> dict[str, str]:
        return {
            "auth": self.auth_url.rstrip("/"),
            "records": self.records_url.rstrip("/"),
            "prediction": self.prediction_url.rstrip("/"),
            "hotspots": self.hotspots_url.rstrip("/"),
        }
