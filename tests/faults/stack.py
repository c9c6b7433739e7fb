"""Real Stationhouse processes for fault, bad-input, fuzz and load runs.

Everything here is the real thing: each service is `python -m servicekit.serve ...` on its own
migrated database (SQLite file or throwaway PostgreSQL), the gateway forwards real HTTP, tokens
are EdDSA JWTs checked against a JWKS document served over HTTP. Two test-only pieces stand in
for the platform a deployment runs on:

- `JwksServer` publishes the test signing key (in production: the auth service's JWKS);
- `Balancer` is a TCP load balancer that sends new connections only to replicas whose /readyz
  answers 200 (in production: a Kubernetes Service with readiness probes, or compose DNS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

APPS = {
    "auth": "auth_service.main:create_app",
    "records": "records_service.main:create_app",
    "prediction": "prediction_service.main:create_app",
    "hotspots": "hotspots_service.main:create_app",
    "gateway": "gateway.main:create_app",
}
MIGRATIONS_PACKAGE = {
    "auth": "auth_service",
    "records": "records_service",
    "prediction": "prediction_service",
    "hotspots": "hotspots_service",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class JwksServer:
    """Serves a JWKS document at http://127.0.0.1:<port>/jwks.json from a thread.

    It publishes the test signing key, plus, once `also_from` is set, the keys the real auth
    service publishes, so tokens of either kind verify everywhere.
    """

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.also_from: str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                keys = list(jwks["keys"])
                if server.also_from is not None:
                    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                        keys += httpx.get(server.also_from, timeout=2.0).json()["keys"]
                body = json.dumps({"keys": keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Proc:
    """One service process on a fixed port, which survives restarts (same port, same DB)."""

    name: str
    app: str
    env: Mapping[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    drain_seconds: float = 0.0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 180.0) -> Proc:
        log = open(self.log_path, "ab")  # noqa: SIM115 (owned by the child)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "servicekit.serve",
                self.app,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--drain-seconds",
                str(self.drain_seconds),
            ],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if wait:
            self.wait_ready(timeout=timeout)
        return self

    def wait_ready(self, *, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}): {self.logs()}")
            try:
                response = httpx.get(self.url + "/readyz", timeout=2.0)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s: {last}\n{self.logs()}")

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup, exactly what a crash or an OOM kill does."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        """SIGTERM: the graceful stop a rolling update sends."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        if wait:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


class Balancer:
    """TCP load balancer: new connections go round-robin to backends whose /readyz is 200."""

    def __init__(self, backends: list[str] | None = None, *, poll_seconds: float = 0.1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backends: list[str] = list(backends or [])  # base URLs http://127.0.0.1:port
        self.ready: list[str] = []
        self.poll_seconds = poll_seconds
        self._turn = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        checker = asyncio.create_task(self._check_forever())
        self._started.set()
        await self._stop.wait()
        checker.cancel()
        server.close()
        await server.wait_closed()

    async def _check_forever(self) -> None:
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                ready = []
                for backend in list(self.backends):
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(backend + "/readyz")).status_code == 200:
                            ready.append(backend)
                self.ready = ready
                await asyncio.sleep(self.poll_seconds)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ready = list(self.ready)
        if not ready:
            writer.close()
            return
        backend = ready[self._turn % len(ready)]
        self._turn += 1
        host, port = backend.removeprefix("http://").split(":")
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def migrate(service: str, url: str) -> None:
    """Apply a service's real Alembic migrations to `url`."""
    import importlib

    from servicekit.migrations import upgrade_to_head

    module = importlib.import_module(f"{MIGRATIONS_PACKAGE[service]}.db")
    upgrade_to_head(module.MIGRATIONS_PATH, url)


class Stack:
    """Services and a gateway as real processes, each service on its own database."""

    def __init__(self, workdir: Path, database_factory: Any, token_factory: Any) -> None:
        self.workdir = workdir
        self.database_factory = database_factory
        self.token_factory = token_factory
        self.jwks = JwksServer(token_factory.jwks())
        self.databases: dict[str, str] = {}
        self.procs: list[Proc] = []
        self.balancers: list[Balancer] = []
        self.gateway: Proc | None = None

    def database(self, service: str) -> str:
        if service not in self.databases:
            url = self.database_factory.create(f"stack_{service}")
            migrate(service, url)
            self.databases[service] = url
        return self.databases[service]

    def service_env(self, service: str, **extra: str) -> dict[str, str]:
        prefix = service.upper() + "_"
        env = {
            f"{prefix}DATABASE_URL": self.database(service),
            f"{prefix}JWKS_URL": self.jwks.url,
            f"{prefix}LOG_LEVEL": "WARNING",
        }
        if service == "records":
            env["RECORDS_DOCUMENTS_DIR"] = str(self.workdir / "documents")
        if service in ("prediction", "hotspots"):
            # No background pull from records in these runs.
            env[f"{prefix}SYNC_INTERVAL_SECONDS"] = "0"
        if service == "auth":
            env["AUTH_ALLOW_DEV_KEY"] = "true"
        env.update(extra)
        return env

    def start_services(self, services: list[str]) -> dict[str, Proc]:
        """Start several services at once (imports overlap), then wait for all of them."""
        procs = {name: self.start_service(name, wait=False) for name in services}
        for proc in procs.values():
            proc.wait_ready()
        return procs

    def start_service(
        self,
        service: str,
        *,
        drain_seconds: float = 0.0,
        port: int | None = None,
        wait: bool = True,
        **extra: str,
    ) -> Proc:
        proc = Proc(
            name=service,
            app=APPS[service],
            env=self.service_env(service, **extra),
            log_path=self.workdir / f"{service}-{len(self.procs)}.log",
            drain_seconds=drain_seconds,
        )
        if port is not None:
            proc.port = port
        self.procs.append(proc)
        return proc.start(wait=wait)

    def balancer(self, backends: list[str]) -> Balancer:
        balancer = Balancer(backends)
        self.balancers.append(balancer)
        deadline = time.monotonic() + 10
        while len(balancer.ready) < len(backends) and time.monotonic() < deadline:
            time.sleep(0.05)
        return balancer

    def start_gateway(self, upstreams: Mapping[str, str], **extra: str) -> Proc:
        env = {
            "GATEWAY_JWKS_URL": self.jwks.url,
            "GATEWAY_LOG_LEVEL": "WARNING",
            # The runs send far more than a person would, from one address.
            "GATEWAY_RATE_LIMIT_API": "1000000",
            "GATEWAY_RATE_LIMIT_CREDENTIALS": "1000000",
        }
        for name in ("auth", "records", "prediction", "hotspots"):
            # An upstream this run does not start: a closed port, so it answers 503.
            env[f"GATEWAY_{name.upper()}_URL"] = upstreams.get(
                name, f"http://127.0.0.1:{free_port()}"
            )
        env.update(extra)
        proc = Proc(
            name="gateway",
            app=APPS["gateway"],
            env=env,
            log_path=self.workdir / "gateway.log",
        )
        self.procs.append(proc)
        # The gateway's /readyz reports its upstreams; it is up once it answers /livez.
        proc.start(wait=False)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"gateway exited: {proc.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(proc.url + "/livez", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        self.gateway = proc
        return proc

    def headers(self, *roles: str, station_id: str = "ST-1", **extra: Any) -> dict[str, str]:
        return self.token_factory.headers(roles=list(roles), station_id=station_id, **extra)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate(timeout=10)
        for balancer in self.balancers:
            balancer.close()
        self.jwks.close()


@contextlib.contextmanager
def running_stack(workdir: Path, database_factory: Any, token_factory: Any) -> Iterator[Stack]:
    stack = Stack(workdir, database_factory, token_factory)
    try:
        yield stack
    finally:
        stack.close()
