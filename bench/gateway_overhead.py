"""Gateway overhead, in one run on this machine: the same upstream called directly, through the
Stationhouse gateway, and through nginx, with wrk at a base concurrency and at 10x.

    uv run python bench/gateway_overhead.py [--duration 10] [--connections 10] [--repeat 3]

Needs wrk and nginx (apt-get install -y wrk nginx). Prints a table and writes
bench/results/gateway_overhead.md. Targets (issue 8): added p50 <= 2 ms, throughput >= 50% of
direct, no stall or error burst at 10x concurrency.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from servicekit.testing import free_port

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "gateway_overhead.md"
EARLIER = "## Earlier runs"
ROUTES = {
    "one incident": "/api/v1/records/bench/incident",
    "page of 50": "/api/v1/records/bench/incidents",
}


@dataclass
class Run:
    route: str
    target: str
    connections: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    gateway_cpu_ms: float = 0.0  # CPU time of the gateway process per request
    upstream_cpu_ms: float = 0.0  # CPU time of the upstream process per request


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, *, connections: int, duration: int, target: str, route: str = "") -> Run:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)\s*$", out, re.M))
    latency = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(x) for x in socket.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return Run(
        route=route,
        target=target,
        connections=connections,
        requests_per_s=float(rps.group(1)) if rps else 0.0,
        p50_ms=_ms(percentiles["50"]),
        p90_ms=_ms(percentiles["90"]),
        p99_ms=_ms(percentiles["99"]),
        max_ms=_ms(latency.group(1)) if latency else 0.0,
        requests=int(total.group(1)) if total else 0,
        errors=errors,
    )


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream records {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://records;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""


def levels(base: int) -> tuple[int, ...]:
    """One connection (added latency with nothing queued), the base concurrency, and 10x."""
    return tuple(dict.fromkeys((1, base, base * 10)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=10, help="base concurrency")
    parser.add_argument(
        "--repeat", type=int, default=1, help="turns per target; each keeps its median run"
    )
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is missing: apt-get install -y wrk nginx", file=sys.stderr)
            return 2
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
    upstream_port, gateway_port, nginx_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(BENCH), os.environ.get("PYTHONPATH", "")]),
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upstream_log = (tmp / "upstream.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "servicekit.serve",
                    "gateway_upstream:create_app",
                    "--port",
                    str(upstream_port),
                ],
                env=env,
                stdout=upstream_log,
                stderr=upstream_log,
            )
        )
        upstream = f"http://127.0.0.1:{upstream_port}"
        gateway_env = {
            **env,
            **{
                f"GATEWAY_{name}_URL": upstream
                for name in ("AUTH", "RECORDS", "PREDICTION", "HOTSPOTS")
            },
            "GATEWAY_RATE_LIMIT_API": "1000000000",
        }
        gateway_log = (tmp / "gateway.log").open("wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "servicekit.serve",
                    "gateway.main:create_app",
                    "--port",
                    str(gateway_port),
                ],
                env=gateway_env,
                stdout=gateway_log,
                stderr=gateway_log,
            )
        )
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / name).mkdir()
        (tmp / "nginx.conf").write_text(
            NGINX_CONF.format(tmp=tmp, upstream=upstream_port, port=nginx_port)
        )
        procs.append(
            subprocess.Popen(
                [nginx, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        bases = {
            "direct": upstream,
            "gateway": f"http://127.0.0.1:{gateway_port}",
            "nginx": f"http://127.0.0.1:{nginx_port}",
        }
        for base in bases.values():
            wait_ready(base + ROUTES["one incident"])
        upstream_pid, gateway_pid = procs[0].pid, procs[1].pid
        runs: list[Run] = []
        load_before = os.getloadavg()[0]
        for route, path in ROUTES.items():
            for connections in levels(args.connections):
                for target, base in bases.items():  # warm every target up first
                    wrk(base + path, connections=connections, duration=2, target=target)
                # With --repeat N the targets take turns N times and each keeps its median run
                # by req/s: on a shared machine, a burst of someone else's work then lands on
                # one turn of one target instead of deciding the comparison.
                turns: dict[str, list[Run]] = {target: [] for target in bases}
                for _ in range(args.repeat):
                    for target, base in bases.items():
                        g0, u0 = cpu_seconds(gateway_pid), cpu_seconds(upstream_pid)
                        run = wrk(
                            base + path,
                            connections=connections,
                            duration=args.duration,
                            target=target,
                            route=route,
                        )
                        if run.requests:
                            g1, u1 = cpu_seconds(gateway_pid), cpu_seconds(upstream_pid)
                            run.gateway_cpu_ms = (g1 - g0) * 1000 / run.requests
                            run.upstream_cpu_ms = (u1 - u0) * 1000 / run.requests
                        turns[target].append(run)
                for target, tries in turns.items():
                    run = sorted(tries, key=lambda r: r.requests_per_s)[len(tries) // 2]
                    # A stall or an error burst in any turn must still show.
                    run.errors = sum(r.errors for r in tries)
                    run.max_ms = max(r.max_ms for r in tries)
                    runs.append(run)
                    spread = ", ".join(f"{r.requests_per_s:.0f}" for r in tries)
                    print(
                        f"{route:13} {target:8} c={connections:<4} {run.requests_per_s:9.0f} req/s  "
                        f"p50 {run.p50_ms:7.2f} ms  p90 {run.p90_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                        f"max {run.max_ms:8.2f} ms  errors {run.errors}  "
                        f"cpu/req gateway {run.gateway_cpu_ms:.2f} ms upstream {run.upstream_cpu_ms:.2f} ms"
                        f"  (turns: {spread} req/s)",
                        flush=True,
                    )
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if proc.args[0] != nginx else signal.SIGQUIT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    report(runs, args, load=(load_before, os.getloadavg()[0]))
    return 0


def report(runs: list[Run], args: argparse.Namespace, *, load: tuple[float, float]) -> None:
    by = {(r.route, r.target, r.connections): r for r in runs}
    base, high = args.connections, args.connections * 10
    lines = [
        "# Gateway overhead",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `uv run python bench/gateway_overhead.py "
        f"--duration {args.duration} --connections {args.connections} --repeat {args.repeat}` "
        "on this machine "
        f"({os.cpu_count()} CPUs shared with other work: 1-minute load average {load[0]:.1f} "
        f"before, {load[1]:.1f} after). wrk, 1 thread, {args.duration} s per run after a 2 s "
        f"warm-up; the three targets take turns {args.repeat} time(s) and each row is that "
        "target's median turn by req/s (errors and max over all its turns). The upstream is a service built with servicekit like every Stationhouse service "
        "(bench/gateway_upstream.py: request IDs, access log, metrics), one uvicorn worker, with "
        "two routes: one small incident (~200 B) and a page of 50 incidents (~20 KB). The gateway "
        "is one uvicorn worker with everything on (edge checks, rate limiter, circuit breaker, "
        "security headers, access log, metrics); nginx is one worker with upstream keep-alive. "
        "CPU per request is read from /proc for the gateway and upstream processes. Placement: "
        "wrk, the upstream, the gateway and nginx all run unpinned on the same "
        f"{os.cpu_count()} CPUs, so every row pays for wrk's own CPU too; each target is "
        "measured in turn, never two at once.",
        "",
        "| route | target | conns | req/s | p50 ms | p90 ms | p99 ms | max ms | errors "
        "| gateway CPU ms/req | upstream CPU ms/req |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        lines.append(
            f"| {r.route} | {r.target} | {r.connections} | {r.requests_per_s:.0f} | "
            f"{r.p50_ms:.2f} | {r.p90_ms:.2f} | {r.p99_ms:.2f} | {r.max_ms:.2f} | {r.errors} | "
            f"{r.gateway_cpu_ms:.2f} | {r.upstream_cpu_ms:.2f} |"
        )
    lines += ["", "## Against the targets (added p50 <= 2 ms, throughput >= 50% of direct)", ""]
    for route in ROUTES:
        for c in levels(base):
            direct = by[(route, "direct", c)]
            gateway = by[(route, "gateway", c)]
            proxy = by[(route, "nginx", c)]
            ratio = gateway.requests_per_s / direct.requests_per_s if direct.requests_per_s else 0
            nginx_ratio = (
                proxy.requests_per_s / direct.requests_per_s if direct.requests_per_s else 0
            )
            lines.append(
                f"- {route}, {c} connections: gateway adds **{gateway.p50_ms - direct.p50_ms:.2f} "
                f"ms** at p50 (nginx {proxy.p50_ms - direct.p50_ms:.2f} ms); gateway throughput "
                f"**{ratio:.0%}** of direct (nginx {nginx_ratio:.0%}); gateway errors "
                f"{gateway.errors}, p99 {gateway.p99_ms:.1f} ms, max {gateway.max_ms:.1f} ms."
            )
        g_base, g_high = by[(route, "gateway", base)], by[(route, "gateway", high)]
        lines.append(
            f"- {route}, 10x concurrency ({base} -> {high}): gateway {g_base.requests_per_s:.0f} "
            f"-> {g_high.requests_per_s:.0f} req/s, errors {g_high.errors}, worst request "
            f"{g_high.max_ms:.0f} ms (a stall would show as a max near wrk's 10 s timeout)."
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # Hand-kept notes on earlier runs, for comparison, survive a re-run.
    earlier = RESULTS.read_text().partition(EARLIER)[2] if RESULTS.exists() else ""
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text + (f"\n{EARLIER}{earlier}" if earlier else ""))
    header = next(i for i, line in enumerate(lines) if line.startswith("## Against"))
    print("\n".join(lines[header:]))
    print(f"written to {RESULTS.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    sys.exit(main())
