"""`stationhouse up` brings up all five processes, answers /readyz, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from servicekit.testing import DatabaseFactory, free_port

pytestmark = pytest.mark.e2e


def _children(pid: int) -> set[int]:
    """Every live descendant of pid, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents[int(entry.name)] = ppid
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def up_env(tmp_path: Path, database_factory: DatabaseFactory) -> dict[str, str]:
    env = {**os.environ, "STATIONHOUSE_DATA_DIR": str(tmp_path / "data")}
    for prefix in ("AUTH_", "RECORDS_", "PREDICTION_", "HOTSPOTS_", "GATEWAY_"):
        env[f"{prefix}PORT"] = str(free_port())
    if database_factory.server_url is not None:
        for name in ("auth", "records", "prediction", "hotspots"):
            env[f"{name.upper()}_DATABASE_URL"] = database_factory.create(f"up_{name}")
    return env


def test_up_serves_every_upstream_and_ctrl_c_leaves_no_process(up_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "stationhouse", "up", "--no-seed"],
        env=up_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Stationhouse is running at" in line:
                break
        assert any("Stationhouse is running at" in line for line in output), "".join(output)
        gateway = f"http://127.0.0.1:{up_env['GATEWAY_PORT']}"
        ready = httpx.get(f"{gateway}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        checks = ready.json()["checks"]
        assert {
            name: checks[name]["ok"] for name in ("auth", "records", "prediction", "hotspots")
        } == {
            "auth": True,
            "records": True,
            "prediction": True,
            "hotspots": True,
        }
        children = _children(proc.pid)
        assert len(children) >= 5
        proc.send_signal(signal.SIGINT)  # what Ctrl-C delivers
        assert proc.wait(timeout=60) == 0
        time.sleep(0.2)
        assert [pid for pid in children if _alive(pid)] == []
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{gateway}/livez", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
