"""`stationhouse`: run the whole system, apply migrations, administer it."""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import httpx
import typer

from stationhouse.processes import BACKENDS, GATEWAY, SERVICES, ServiceSpec, data_dir, resolved_env

app = typer.Typer(help="Stationhouse: crime records, statistics and honest machine learning.")

# Functions run once every process answers /readyz (first admin, demo data, ...).
# Each takes the resolved environment and the gateway URL.
PostStartHook = Callable[[dict[str, str], str], None]
POST_START_HOOKS: list[PostStartHook] = []


def _migrate(env: dict[str, str]) -> None:
    from servicekit.migrations import upgrade_to_head

    for spec in BACKENDS:
        url = env[f"{spec.prefix}DATABASE_URL"]
        path = spec.migrations_path()
        assert path is not None
        upgrade_to_head(path, url)
        typer.echo(f"  {spec.name:<11} migrated")


@app.command()
def migrate() -> None:
    """Apply every service's database migrations (safe to run again)."""
    env = resolved_env()
    data_dir(env).mkdir(parents=True, exist_ok=True)
    _migrate(env)


def _die_with_parent() -> None:
    # Linux: a child gets SIGTERM if `stationhouse up` itself is killed, so none is orphaned.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start(spec: ServiceSpec, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    host = env.get("STATIONHOUSE_HOST", "127.0.0.1")
    log_file = open(log_dir / f"{spec.name}.log", "ab")  # noqa: SIM115 (owned by the child)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "servicekit.serve",
            spec.app,
            "--host",
            host,
            "--port",
            str(spec.port(env)),
            "--drain-seconds",
            env.get("STATIONHOUSE_DRAIN_SECONDS", "0"),
        ],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        preexec_fn=_die_with_parent,
    )


def _wait_ready(
    specs: tuple[ServiceSpec, ...],
    env: dict[str, str],
    procs: dict[str, subprocess.Popen[bytes]],
    timeout: float,
) -> None:
    host = env.get("STATIONHOUSE_HOST", "127.0.0.1")
    pending = {s.name: f"http://{host}:{s.port(env)}/readyz" for s in specs}
    deadline = time.monotonic() + timeout
    while pending:
        for name, url in list(pending.items()):
            if procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited with code {procs[name].returncode}")
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
        if pending:
            time.sleep(0.2)


def _stop_all(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 25.0) -> None:
    # Gateway first so no new work arrives, then the services, each finishing in-flight requests.
    order = [GATEWAY.name] + [s.name for s in BACKENDS]
    for name in order:
        proc = procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        if name == GATEWAY.name and proc is not None:
            _wait(proc, timeout)
    for name in order:
        proc = procs.get(name)
        if proc is not None:
            _wait(proc, timeout)


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@app.command()
def up(
    ready_timeout: float = typer.Option(60.0, help="Seconds to wait for every /readyz"),
    seed: bool = typer.Option(True, help="On a first run, create the first admin and demo data"),
) -> None:
    """Start all five processes, wait until every one is ready, stop them all on Ctrl-C."""
    env = resolved_env()
    directory = data_dir(env)
    log_dir = directory / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"Stationhouse: data in {directory}")
    typer.echo("Applying migrations")
    _migrate(env)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = {"flag": False}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    exit_code = 0
    try:
        for spec in SERVICES:
            procs[spec.name] = _start(spec, env, log_dir)
        _wait_ready(SERVICES, env, procs, ready_timeout)
        host = env.get("STATIONHOUSE_HOST", "127.0.0.1")
        url = f"http://{'localhost' if host == '127.0.0.1' else host}:{GATEWAY.port(env)}"
        if seed:
            for hook in POST_START_HOOKS:
                hook(env, url)
        typer.echo("")
        typer.echo(f"Stationhouse is running at {url}")
        typer.echo(f"  API docs:  {url}/docs    health: {url}/readyz")
        typer.echo(f"  Logs:      {log_dir}/<service>.log")
        typer.echo("Press Ctrl-C to stop.")
        while not stopping["flag"]:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    typer.echo(f"{name} stopped unexpectedly (code {proc.returncode}); stopping")
                    stopping["flag"] = True
                    exit_code = 1
            time.sleep(0.3)
    except RuntimeError as exc:
        typer.echo(f"Could not start Stationhouse: {exc} (see {log_dir})", err=True)
        exit_code = 1
    finally:
        typer.echo("Stopping...")
        _stop_all(procs)
        typer.echo("Stopped.")
    raise typer.Exit(exit_code)


def _register_service_commands() -> None:
    """Each service may add subcommands and post-start hooks in its own `commands` module."""
    for spec in BACKENDS:
        assert spec.package is not None
        if importlib.util.find_spec(f"{spec.package}.commands") is None:
            continue
        module = importlib.import_module(f"{spec.package}.commands")
        module.register(app, POST_START_HOOKS)


_register_service_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
