"""One OpenAPI document for the whole API: every service's document, fetched, cached, merged."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import Any

import httpx

from servicekit.logging import get_logger

log = get_logger(__name__)


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                name = value.rsplit("/", 1)[-1]
                if value.startswith("#/components/schemas/") and name in renames:
                    value = "#/components/schemas/" + renames[name]
                out[key] = value
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge_documents(
    documents: dict[str, dict[str, Any]], *, title: str, version: str
) -> dict[str, Any]:
    """Merge per-service documents. Paths are already prefixed (/api/v1/<service>/...);
    a schema name used by two services with different shapes is renamed `<service>_<name>`."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every Stationhouse service behind one gateway. Send the access "
            "token from POST /api/v1/auth/login as `Authorization: Bearer <token>`.",
        },
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "tags": [],
        "security": [{"bearer": []}, {}],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    for service, document in sorted(documents.items()):
        document = copy.deepcopy(document)
        own = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service}_{name}"
            for name, schema in own.items()
            if name in schemas
            and json.dumps(schemas[name], sort_keys=True)
            != json.dumps(_rename_refs(schema, {}), sort_keys=True)
        }
        document = _rename_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        for other, scheme in document.get("components", {}).get("securitySchemes", {}).items():
            merged["components"]["securitySchemes"].setdefault(other, scheme)
        for path, item in document.get("paths", {}).items():
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation.setdefault("tags", [service])
                    if "operationId" in operation:
                        operation["operationId"] = f"{service}_{operation['operationId']}"
            merged["paths"][path] = item
        merged["tags"].append(
            {"name": service, "description": document.get("info", {}).get("title", service)}
        )
    return merged


class OpenAPIAggregator:
    """Fetches /api/v1/<service>/openapi.json from each upstream; keeps the merge a while."""

    def __init__(self, upstreams: dict[str, str], *, cache_seconds: float) -> None:
        self.upstreams = upstreams
        self.cache_seconds = cache_seconds
        self._cached: dict[str, Any] | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(
        self, client: httpx.AsyncClient, service: str, base: str
    ) -> dict[str, Any] | None:
        try:
            response = await client.get(f"{base}/api/v1/{service}/openapi.json", timeout=5.0)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("openapi.fetch_failed", upstream=service, error=type(exc).__name__)
            return None

    async def document(self, client: httpx.AsyncClient) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached_at < self.cache_seconds:
                return self._cached
            results = await asyncio.gather(
                *(self._fetch(client, name, base) for name, base in self.upstreams.items())
            )
            fetched = {name: doc for name, doc in zip(self.upstreams, results, strict=True) if doc}
            merged = merge_documents(fetched, title="Stationhouse API", version="1")
            missing = sorted(set(self.upstreams) - set(fetched))
            if missing:
                merged["info"]["x-unavailable-services"] = missing
                # Try again soon rather than serve a partial document for the whole period.
                self._cached_at = now - self.cache_seconds + min(5.0, self.cache_seconds)
            else:
                self._cached_at = now
            self._cached = merged
            return merged
