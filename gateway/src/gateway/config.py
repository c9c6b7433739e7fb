"""Gateway settings (environment variables prefixed GATEWAY_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from servicekit.settings import ServiceSettings, service_config

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICE_NAMES = ("auth", "records", "prediction", "hotspots")


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

    # Timeouts and pooling.
    connect_timeout: float = Field(default=2.0, description="Seconds to connect to an upstream")
    read_timeout: float = Field(
        default=30.0, description="Seconds to wait for an upstream's next bytes"
    )
    read_timeouts: dict[str, float] = Field(
        default_factory=lambda: {
            "auth": 10.0,
            "records": 30.0,
            "prediction": 120.0,
            "hotspots": 120.0,
        },
        description='Per-upstream read timeout in seconds, JSON: {"prediction": 120}',
    )
    write_timeout: float = Field(default=30.0, description="Seconds to send the next bytes")
    pool_timeout: float = Field(default=2.0, description="Seconds to wait for a pooled connection")
    max_connections: int = Field(default=200, description="Pooled connections to all upstreams")
    readiness_timeout: float = Field(default=2.0, description="Seconds per upstream /readyz check")
    readiness_interval: float = Field(
        default=2.0, description="Seconds between background checks of every upstream's /readyz"
    )

    # Rate limits: requests per client per window, by route class.
    rate_limit_window_seconds: float = Field(default=60.0, description="Rate-limit window")
    rate_limit_api: int = Field(
        default=600, description="Requests per client per window for ordinary API routes"
    )
    rate_limit_credentials: int = Field(
        default=10,
        description="Requests per client per window for login, token, MFA and registration",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db: share rate limits between gateway replicas",
    )
    redis_key_prefix: str = Field(default="stationhouse:ratelimit", description="Redis key prefix")
    trust_forwarded_for: bool = Field(
        default=False,
        description="Identify clients by X-Forwarded-For (only behind a trusted proxy)",
    )

    # Bodies.
    max_body_bytes: int = Field(
        default=25 * 1024 * 1024, description="Largest request body (documents included)"
    )
    max_credentials_body_bytes: int = Field(
        default=64 * 1024, description="Largest body for login/token/registration routes"
    )

    # Retries and circuit breaking.
    retry_attempts: int = Field(
        default=2, description="Extra attempts for idempotent requests when an upstream fails"
    )
    retry_backoff_seconds: float = Field(default=0.05, description="First retry delay (doubles)")
    breaker_failure_threshold: int = Field(
        default=5, description="Consecutive upstream failures that open its circuit"
    )
    breaker_open_seconds: float = Field(
        default=10.0, description="How long an open circuit refuses calls before one probe"
    )

    # Shutdown.
    shutdown_grace_seconds: float = Field(
        default=20.0, description="On shutdown, wait this long for in-flight requests"
    )

    # Browser-facing.
    cors_origins: list[str] = Field(
        default_factory=list, description='Allowed CORS origins, JSON: ["https://x.example"]'
    )
    force_hsts: bool = Field(
        default=False, description="Send HSTS even when no proxy says the request came over TLS"
    )
    hsts_max_age: int = Field(default=31_536_000, description="HSTS max-age in seconds")
    openapi_cache_seconds: float = Field(
        default=60.0, description="How long the merged OpenAPI document is cached"
    )
    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tile URL template for the web UI",
    )
    tile_attribution: str = Field(
        default="&copy; OpenStreetMap contributors", description="Map tile attribution"
    )
    map_center: tuple[float, float] = Field(
        default=(43.70, -79.40), description="Initial map centre [lat, lon]"
    )
    map_zoom: int = Field(default=11, description="Initial map zoom")
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

    def read_timeout_for(self, service: str) -> float:
        return self.read_timeouts.get(service, self.read_timeout)

    def tile_origin(self) -> str:
        """scheme://host of the tile server, for the UI's Content-Security-Policy."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.tile_url.replace("{s}.", ""))
        host = parts.netloc
        if "{s}" in self.tile_url:
            host = "*." + host
        return f"{parts.scheme}://{host}" if parts.scheme else ""
