"""A circuit breaker per upstream: stop sending work to a service that keeps failing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass
class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures; after `open_seconds` one probe
    request is let through (half-open): its success closes the circuit, its failure reopens it."""

    failure_threshold: int
    open_seconds: float
    clock: Callable[[], float] = time.monotonic
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _probe_in_flight: bool = field(default=False, repr=False)

    def allow(self) -> bool:
        """May a request go to the upstream now?"""
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self.clock() - self.opened_at >= self.open_seconds:
            self.state = HALF_OPEN
            self._probe_in_flight = False
        if self.state == HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def retry_after(self) -> int:
        """Seconds until the circuit lets a probe through."""
        remaining = self.open_seconds - (self.clock() - self.opened_at)
        return max(1, math.ceil(remaining))

    def record_success(self) -> None:
        self.state, self.failures, self._probe_in_flight = CLOSED, 0, False

    def record_failure(self) -> None:
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.failure_threshold:
            self.state, self.opened_at, self._probe_in_flight = OPEN, self.clock(), False

    def release_probe(self) -> None:
        """The probe ended without telling us anything (e.g. the client left)."""
        self._probe_in_flight = False
