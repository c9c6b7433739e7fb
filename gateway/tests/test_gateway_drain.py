"""A real gateway process: one Date and Server per answer; on shutdown readiness fails first,
in-flight requests finish, then the process exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from servicekit.testing import ServiceProcess, free_port


def test_sigterm_drains_in_flight_requests(upstream: ServiceProcess, tmp_path) -> None:
    port = free_port()
    env = {
        "GATEWAY_AUTH_URL": upstream.url,
        "GATEWAY_RECORDS_URL": upstream.url,
        "GATEWAY_PREDICTION_URL": upstream.url,
        "GATEWAY_HOTSPOTS_URL": upstream.url,
        "GATEWAY_WEB_DIST": str(tmp_path / "none"),
    }

    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicekit.serve",
            "gateway.main:create_app",
            "--port",
            str(port),
            "--drain-seconds",
            "1.0",
        ],
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # The server writes its own Date and Server; the upstream's are not repeated after them.
        answer = httpx.get(base + "/api/v1/records/echo", timeout=5)
        assert answer.status_code == 200
        assert len(answer.headers.get_list("date")) == 1
        assert len(answer.headers.get_list("server")) == 1
        result: dict[str, object] = {}

        def slow_call() -> None:
            response = httpx.get(base + "/api/v1/records/slow?seconds=2", timeout=10)
            result["status"] = response.status_code
            result["body"] = response.json()

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(0.4)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        draining = httpx.get(base + "/readyz", timeout=2)
        assert draining.status_code == 503
        assert draining.json()["checks"]["draining"]["ok"] is False
        caller.join(timeout=15)
        assert result == {"status": 200, "body": {"slept": 2.0}}
        # uvicorn re-raises the SIGTERM after a clean shutdown.
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
