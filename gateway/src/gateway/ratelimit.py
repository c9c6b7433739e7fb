"""Fixed-window rate limits per client and route class: in memory, or in Redis for replicas."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Protocol

from servicekit.logging import get_logger

log = get_logger(__name__)

# Routes where a guessing attacker gains the most: far tighter limits.
_CREDENTIAL_PATHS = re.compile(
    r"^/api/v1/auth/(login|token|mfa|totp|register|password|refresh|logout)(/|$)"
)


def route_class(method: str, path: str) -> str:
    """'credentials' for login/token/MFA/registration writes, 'api' for everything else."""
    if method != "GET" and _CREDENTIAL_PATHS.match(path):
        return "credentials"
    return "api"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until the window resets


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window: float) -> Decision: ...

    async def aclose(self) -> None: ...


class MemoryRateLimiter:
    """One process's counters; right for a single gateway."""

    def __init__(self, *, clock: object = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._last_sweep = 0.0

    async def hit(self, key: str, *, limit: int, window: float) -> Decision:
        now: float = self._clock()  # type: ignore[operator]
        start = math.floor(now / window) * window
        current = self._windows.get(key)
        count = current[1] + 1 if current is not None and current[0] == start else 1
        self._windows[key] = (start, count)
        if now - self._last_sweep > window:
            self._sweep(now, window)
        retry_after = max(1, math.ceil(start + window - now))
        return Decision(count <= limit, limit, max(0, limit - count), retry_after)

    def _sweep(self, now: float, window: float) -> None:
        self._last_sweep = now
        stale = [k for k, (start, _) in self._windows.items() if start + window <= now]
        for key in stale:
            del self._windows[key]

    async def aclose(self) -> None:
        self._windows.clear()


# INCR the window's counter, set its expiry on first use, and return count and TTL in ms.
_REDIS_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


class RedisRateLimiter:
    """Counters in Redis so every gateway replica enforces the same limits."""

    def __init__(self, url: str, *, prefix: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        self._script = self._redis.register_script(_REDIS_HIT)
        self._prefix = prefix
        self._fallback = MemoryRateLimiter()

    async def hit(self, key: str, *, limit: int, window: float) -> Decision:
        window_ms = max(1, int(window * 1000))
        slot = int(time.time() * 1000) // window_ms
        redis_key = f"{self._prefix}:{key}:{slot}"
        try:
            count, ttl_ms = await self._script(keys=[redis_key], args=[window_ms])
        except Exception as exc:  # Redis down: keep limiting, per replica, rather than fail open
            log.warning("ratelimit.redis_unavailable", error=type(exc).__name__)
            return await self._fallback.hit(key, limit=limit, window=window)
        count, ttl_ms = int(count), int(ttl_ms)
        retry_after = max(1, math.ceil(ttl_ms / 1000))
        return Decision(count <= limit, limit, max(0, limit - count), retry_after)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()
