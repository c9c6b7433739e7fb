"""What the gateway keeps between requests: the pooled client, limiter, breakers, metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request

from gateway.breaker import CircuitBreaker
from gateway.config import Settings
from gateway.ratelimit import RateLimiter
from servicekit.security import Principal


class GatewayMetrics:
    """Gateway-specific series, registered beside the shared per-route ones."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.upstream_requests = Counter(
            "gateway_upstream_requests_total",
            "Requests forwarded, by upstream, method and upstream status",
            ["upstream", "method", "status"],
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "gateway_upstream_duration_seconds",
            "Time until the upstream's response headers arrived",
            ["upstream"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total",
            "Requests refused with 429",
            ["route_class"],
            registry=registry,
        )
        self.retries = Counter(
            "gateway_retries_total", "Retried upstream attempts", ["upstream"], registry=registry
        )
        self.rejected_open = Counter(
            "gateway_circuit_rejections_total",
            "Requests refused because the upstream's circuit was open",
            ["upstream"],
            registry=registry,
        )
        self.circuit_open = Gauge(
            "gateway_circuit_open",
            "1 while the upstream's circuit is open",
            ["upstream"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "gateway_in_flight_requests", "Requests being forwarded now", registry=registry
        )
        # labels() takes a lock and validates on every call; the children it returns are
        # the same objects each time, so each forwarded request reuses them.
        self._forwarded: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def forwarded(self, service: str, method: str, status: int, seconds: float) -> None:
        """Count one forwarded request and the time until its upstream's headers arrived."""
        children = self._forwarded.get((service, method, status))
        if children is None:
            children = (
                self.upstream_requests.labels(service, method, str(status)),
                self.upstream_latency.labels(service),
            )
            self._forwarded[(service, method, status)] = children
        children[0].inc()
        children[1].observe(seconds)


# The request, and what to await before a token the gateway has not seen is verified (the
# signature check is the expensive part, so an unknown token first costs its sender a hit
# against their address's rate limit).
EdgeAuth = Callable[[Request, Callable[[], Awaitable[None]]], Awaitable[Principal | None]]


@dataclass
class GatewayState:
    settings: Settings
    upstreams: dict[str, str]
    metrics: GatewayMetrics
    limiter: RateLimiter
    http: httpx.AsyncClient  # readiness probes and OpenAPI fetches
    upstream_session: aiohttp.ClientSession  # forwarding: far less overhead per request
    edge_auth: EdgeAuth
    breakers: dict[str, CircuitBreaker] = field(default_factory=dict)
    # Per-upstream aiohttp timeouts, made once rather than on every request.
    timeouts: dict[str, aiohttp.ClientTimeout] = field(default_factory=dict)
    in_flight: int = 0
    # Last readiness of each upstream, from the background poller: name -> (ok, detail).
    upstream_health: dict[str, tuple[bool, str]] = field(default_factory=dict)
