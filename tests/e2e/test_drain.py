"""On SIGTERM a service first reports not-ready (so load balancers move away), then stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from servicekit.migrations import upgrade_to_head
from servicekit.testing import DatabaseFactory, free_port

pytestmark = pytest.mark.e2e


def test_sigterm_fails_readyz_then_exits(tmp_path: Path, database_factory: DatabaseFactory) -> None:
    from prediction_service.db import MIGRATIONS_PATH

    url = database_factory.create("drain")
    upgrade_to_head(MIGRATIONS_PATH, url)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicekit.serve",
            "prediction_service.main:create_app",
            "--port",
            str(port),
            "--drain-seconds",
            "1.5",
        ],
        env={**os.environ, "PREDICTION_DATABASE_URL": url, "PREDICTION_SYNC_INTERVAL_SECONDS": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # slow machines: sklearn imports take a while
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.get(base + "/readyz", timeout=1).status_code == 200
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        draining = httpx.get(base + "/readyz", timeout=1)
        assert draining.status_code == 503
        assert draining.json()["checks"]["draining"]["ok"] is False
        assert httpx.get(base + "/livez", timeout=1).status_code == 200  # still serving
        # uvicorn re-raises the captured SIGTERM after its graceful shutdown
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
