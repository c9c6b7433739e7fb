"""Client of the records export feed, for the services that keep a copy of incidents.

It signs in with the service's client-credentials account, reuses that token until shortly
before it expires, and reads one NDJSON page after a cursor. A 401 gets one retry with a fresh
token (expired, or auth rotated its keys). The client is thread-safe and synchronous: callers
run it in a worker thread next to their database work.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from servicekit.errors import ServiceUnavailable

EXPORT_PATH = "/api/v1/records/export/incidents"
TOKEN_PATH = "/api/v1/auth/token"  # noqa: S105 (a path, not a secret)
NDJSON = "application/x-ndjson"
# A token is renewed this long before auth says it expires.
TOKEN_RENEW_MARGIN_SECONDS = 30.0


class FeedUnavailable(ServiceUnavailable):
    type_slug, title = "feed-unavailable", "The records export feed could not be read"


class FeedMalformed(ServiceUnavailable):
    type_slug, title = "feed-malformed", "The records export feed sent a line we cannot apply"


def parse_page(body: str) -> list[dict[str, Any]]:
    """The feed objects of one NDJSON page; any line that is not one fails the whole page."""
    lines = []
    for number, raw in enumerate(body.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise FeedMalformed(f"line {number} is not JSON") from exc
        if not isinstance(line, dict) or "cursor" not in line or "id" not in line:
            raise FeedMalformed(f"line {number} lacks cursor or id")
        lines.append(line)
    return lines


class ExportFeedClient:
    """Reads pages of the export feed with a client-credentials token."""

    def __init__(
        self,
        *,
        auth_url: str,
        records_url: str,
        client_id: str,
        client_secret: str,
        page_size: int = 5000,
        timeout: float = 60.0,
    ) -> None:
        self.token_url = auth_url.rstrip("/")
        if not self.token_url.endswith("/token"):
            self.token_url += TOKEN_PATH
        self.export_url = records_url.rstrip("/") + EXPORT_PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _access_token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.monotonic() >= self._token_expires:
                try:
                    response = self._client.post(
                        self.token_url,
                        data={
                            "grant_type": "client_credentials",
                            "client_id": self.client_id,
                            "client_secret": self.client_secret,
                        },
                    )
                except httpx.HTTPError as exc:
                    raise FeedUnavailable(f"auth unreachable: {type(exc).__name__}") from exc
                if response.status_code != 200:
                    raise FeedUnavailable(
                        f"auth refused the service account (HTTP {response.status_code})"
                    )
                body = response.json()
                self._token = str(body["access_token"])
                lifetime = float(body.get("expires_in", 300))
                self._token_expires = time.monotonic() + max(
                    5.0, lifetime - TOKEN_RENEW_MARGIN_SECONDS
                )
            return self._token

    def fetch_page(self, cursor: str | None) -> list[dict[str, Any]]:
        """One page of feed lines after `cursor` (an empty list when caught up)."""
        params: dict[str, Any] = {"limit": self.page_size}
        if cursor:
            params["cursor"] = cursor
        for attempt in range(2):
            headers = {
                "Authorization": f"Bearer {self._access_token(renew=attempt > 0)}",
                "Accept": NDJSON,
            }
            try:
                response = self._client.get(self.export_url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise FeedUnavailable(f"records unreachable: {type(exc).__name__}") from exc
            if response.status_code == 401 and attempt == 0:
                continue  # token expired or keys rotated: fetch a new one once
            if response.status_code != 200:
                raise FeedUnavailable(f"records export answered HTTP {response.status_code}")
            return parse_page(response.text)
        raise FeedUnavailable("records export refused the service token")
