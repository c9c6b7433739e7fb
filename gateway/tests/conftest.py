"""Gateway test fixtures: a real upstream process, and gateways built against it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.main import create_app
from servicekit.testing import ServiceProcess, TokenFactory, free_port

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The echo/slow/flaky upstream (tests/upstream_app.py) as its own uvicorn process."""
    log_dir = tmp_path_factory.mktemp("upstream")
    proc = ServiceProcess(
        app="upstream_app:create_app",
        env={"PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])},
        log_path=log_dir / "upstream.log",
    )
    proc.start(timeout=60)
    yield proc
    proc.stop()


@pytest.fixture
def dead_url() -> str:
    """A loopback address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


GatewayFactory = Callable[..., TestClient]


@pytest.fixture
def make_gateway(
    upstream: ServiceProcess, token_factory: TokenFactory, tmp_path: Path
) -> Iterator[GatewayFactory]:
    """Build a gateway whose four upstreams are the test upstream (override any setting)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "auth_url": upstream.url,
            "records_url": upstream.url,
            "prediction_url": upstream.url,
            "hotspots_url": upstream.url,
            "web_dist": tmp_path / "no-dist",
            "log_json": True,
        }
        values.update(overrides)
        app = create_app(Settings(**values), verifier=token_factory.verifier())
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of our own (redis-server on a free port) when the binary exists, else the
    machine's Redis at 127.0.0.1:6379."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        return
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)
