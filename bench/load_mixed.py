"""Mixed workload through the gateway, on SQLite and on PostgreSQL: throughput, p50/p95/p99,
error ratio, at a few concurrency steps (locust headless, loopback only, bounded in time).

    uv run python bench/load_mixed.py                      # SQLite, writes bench/results/load_sqlite.md
    uv run python bench/load_mixed.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    uv run python bench/load_mixed.py --users 5 10 20 --seconds 30

Real processes: records, prediction and the gateway (python -m servicekit.serve), each service
on its own fresh, migrated database, seeded with a few hundred incidents and persons. Tokens are
EdDSA JWTs checked against a JWKS served over HTTP (tests/faults/stack.py).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def stack_module():
    spec = importlib.util.spec_from_file_location("load_stack", REPO / "tests/faults/stack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_stack"] = module
    spec.loader.exec_module(module)
    return module


def seed(gateway: str, officer: dict, incidents: int, persons: int) -> list[str]:
    rng = random.Random(7)
    ids = []
    with httpx.Client(base_url=gateway, timeout=30) as client:
        for n in range(incidents):
            response = client.post(
                "/api/v1/records/incidents",
                json={
                    "category": rng.choice(["assault", "robbery", "burglary", "theft"]),
                    "occurred_from": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
                    "lat": 43.6 + rng.random() / 5,
                    "lon": -79.5 + rng.random() / 5,
                    "area": f"Area {n % 40}",
                    "narrative": f"Seeded report {n}",
                },
                headers=officer,
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        families = ["Smith", "Jones", "Garcia", "Nguyen", "O'Connor", "Patel", "Kowalski"]
        for n in range(persons):
            client.post(
                "/api/v1/records/persons",
                json={
                    "given_name": f"Person{n}",
                    "family_name": rng.choice(families),
                    "confirm_new": True,
                },
                headers=officer,
            )
    return ids


def run_step(gateway: str, users: int, seconds: int, context: dict, workdir: Path) -> dict:
    prefix = workdir / f"step_{users}"
    env = {**os.environ, "LOAD_CONTEXT": json.dumps(context)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "bench" / "load_locust.py"),
            "--headless",
            "--only-summary",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            gateway,
            "--csv",
            str(prefix),
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 120,
    )
    rows = {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            rows[row["Name"]] = row
    return rows


def describe(row: dict) -> dict:
    count = int(row["Request Count"])
    failures = int(row["Failure Count"])
    return {
        "requests": count,
        "rps": float(row["Requests/s"]),
        "p50": row["50%"],
        "p95": row["95%"],
        "p99": row["99%"],
        "errors": failures,
        "error_ratio": failures / count if count else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--users", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--persons", type=int, default=100)
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else "sqlite"
    if args.postgres:
        os.environ["STATIONHOUSE_TEST_POSTGRES_URL"] = args.postgres
    else:
        os.environ.pop("STATIONHOUSE_TEST_POSTGRES_URL", None)

    from servicekit.testing import DatabaseFactory, TokenFactory

    module = stack_module()
    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    factory = DatabaseFactory(workdir)
    tokens = TokenFactory()
    results = {}
    stack = module.Stack(workdir, factory, tokens)
    try:
        procs = stack.start_services(["records", "prediction"])
        gateway = stack.start_gateway({name: p.url for name, p in procs.items()}).url
        officer = stack.headers("officer", subject="load-officer")
        analyst = stack.headers("analyst", subject="load-analyst")
        started = time.perf_counter()
        ids = seed(gateway, officer, args.incidents, args.persons)
        print(
            f"seeded {len(ids)} incidents, {args.persons} persons in "
            f"{time.perf_counter() - started:.1f}s ({backend})"
        )
        context = {"officer": officer, "analyst": analyst, "incidents": ids}
        for users in args.users:
            rows = run_step(gateway, users, args.seconds, context, workdir)
            results[users] = {name: describe(row) for name, row in rows.items()}
            total = results[users]["Aggregated"]
            print(
                f"{backend} users={users:>3} rps={total['rps']:7.1f} p50={total['p50']}ms "
                f"p95={total['p95']}ms p99={total['p99']}ms errors={total['errors']} "
                f"({total['error_ratio']:.3%})"
            )
    finally:
        stack.close()
        factory.drop_all()
    write_report(backend, args, results)


def write_report(backend: str, args: argparse.Namespace, results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load_{backend}.md"
    lines = [
        f"# Mixed load through the gateway ({backend})",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} "
        f"cores, Python {platform.python_version()}; `uv run python bench/load_mixed.py"
        f"{' --postgres ...' if backend == 'postgresql' else ''}`.",
        f"Each step: {args.seconds}s of locust headless users (0.05-0.2 s think time) against one "
        "gateway, one records and one prediction process on loopback; records seeded with "
        f"{args.incidents} incidents and {args.persons} persons. Mix per user: search incidents 3, "
        "read incident 3, search persons (trigram name search) 2, create incident "
        "(Idempotency-Key) 2, statistics 1, prediction model registry 1.",
        "",
        "| users | requests | req/s | p50 ms | p95 ms | p99 ms | errors | error ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for users, rows in results.items():
        t = rows["Aggregated"]
        lines.append(
            f"| {users} | {t['requests']} | {t['rps']:.1f} | {t['p50']} | {t['p95']} | {t['p99']} "
            f"| {t['errors']} | {t['error_ratio']:.3%} |"
        )
    lines += [
        "",
        "Per request type at the highest step:",
        "",
        "| request | requests | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    if results:
        last = results[max(results)]
        for name, t in sorted(last.items()):
            if name != "Aggregated":
                lines.append(
                    f"| {name} | {t['requests']} | {t['p50']} | {t['p95']} | {t['p99']} "
                    f"| {t['errors']} |"
                )
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
