"""Statistics API latency over 1,000,000 incidents (SQLite by default).

Usage: uv run python bench/stats_bench.py [--incidents N] [--db PATH] [--repeat N]
       [--out bench/results/stats.md]

Builds (or reuses) a database of synthetic incidents over eight years, then times each query of
a realistic mix through the real app (HTTP via TestClient, real token verification) and prints
p50/p95 per query and overall. Target: p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import text

from records_service.config import Settings
from records_service.db import MIGRATIONS_PATH
from records_service.imports.cleaning import CleanIncident
from records_service.imports.service import insert_incidents
from records_service.main import create_app
from servicekit.db import Database
from servicekit.migrations import upgrade_to_head
from servicekit.testing import TokenFactory

START = datetime(2014, 1, 1, tzinfo=UTC)
DAYS = 8 * 365
CATEGORIES = ["assault", "burglary", "theft", "robbery", "vehicle_theft", "theft_from_vehicle",
              "criminal_damage", "drugs", "fraud", "public_order"]  # fmt: skip
AREAS = [f"Neighbourhood {n:03d}" for n in range(140)]
STATIONS = [f"ST-{n}" for n in range(1, 17)]
PREMISES = ["House", "Apartment", "Commercial", "Outside", "Transit", "Educational", "Other"]


def build(database: Database, count: int) -> None:
    rng = np.random.default_rng(3)
    chunk = 50_000
    made = 0
    while made < count:
        size = min(chunk, count - made)
        minutes = rng.integers(0, DAYS * 24 * 60, size)
        cats = rng.integers(0, len(CATEGORIES), size)
        areas = np.minimum(rng.zipf(1.3, size) - 1, len(AREAS) - 1)
        stations = rng.integers(0, len(STATIONS), size)
        premises = rng.integers(0, len(PREMISES), size)
        lat = 43.6 + rng.random(size) * 0.25
        lon = -79.6 + rng.random(size) * 0.4
        incidents = []
        for i in range(size):
            when = START + timedelta(minutes=int(minutes[i]))
            incidents.append(
                CleanIncident(
                    source_system="bench",
                    source_id=str(made + i),
                    category=CATEGORIES[cats[i]],
                    source_code=None,
                    occurred_from=when,
                    occurred_to=None,
                    reported_at=when,
                    lat=float(lat[i]),
                    lon=float(lon[i]),
                    area=AREAS[areas[i]],
                    premises_type=PREMISES[premises[i]],
                    address=None,
                    station_id=STATIONS[stations[i]],
                    status="closed",
                    narrative=None,
                    fingerprint=None,
                )
            )
        with database.session() as session:
            insert_incidents(session, incidents=incidents, created_by="bench")
        made += size
        print(f"  built {made:,} incidents", flush=True)


def queries() -> list[tuple[str, str, dict[str, object]]]:
    end = START + timedelta(days=DAYS)

    def frame(days: int) -> dict[str, object]:
        return {"from": (end - timedelta(days=days)).isoformat(), "to": end.isoformat()}

    counts = "/api/v1/records/statistics/counts"
    return [
        ("30 days by category (+change)", counts, frame(30) | {"group_by": "category"}),
        ("90 days by area (+change per area)", counts, frame(90) | {"group_by": "area"}),
        ("1 year by month x category", counts,
         frame(365) | {"bucket": "month", "group_by": "category"}),
        ("1 year weekly, burglary in 3 areas", counts,
         frame(365) | {"bucket": "week", "category": "burglary",
                       "area": AREAS[:3]}),
        ("90 days hour-of-week", counts, frame(90) | {"bucket": "hour_of_week"}),
        ("30 days daily by station", counts,
         frame(30) | {"bucket": "day", "group_by": "station_id"}),
        ("1 year by premises x status", counts,
         frame(365) | {"group_by": ["premises_type", "status"]}),
        ("top 10 areas, 1 year", "/api/v1/records/statistics/top-areas", frame(365)),
        ("public: 30 days by area (suppressed)", "/api/v1/records/statistics/public/counts",
         frame(30) | {"group_by": "area"}),
        ("8 years by year x category", counts,
         frame(DAYS) | {"bucket": "year", "group_by": "category"}),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/stationhouse-stats-bench.db"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("bench/results/stats.md"))
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    upgrade_to_head(MIGRATIONS_PATH, url)
    database = Database(url, pool_size=2)
    with database.session(write=False) as session:
        have = session.execute(text("select count(*) from incidents")).scalar_one()
    if have < args.incidents:
        print(f"Building {args.incidents - have:,} incidents in {args.db} ...")
        build(database, args.incidents - have)
        with database.session() as session:
            session.execute(text("ANALYZE"))
    database.dispose()
    tokens = TokenFactory()
    app = create_app(Settings(database_url=url, log_level="WARNING"), verifier=tokens.verifier())
    headers = tokens.headers(roles=["analyst"])
    rows = []
    every: list[float] = []
    with TestClient(app) as client:
        # The first statistics request of a process starts loading the in-memory columns on
        # a worker thread and is answered by SQL GROUP BY meanwhile.
        _, first_path, first_params = queries()[0]
        started = time.perf_counter()
        client.get(first_path, params=first_params, headers=headers).raise_for_status()
        cold_ms = (time.perf_counter() - started) * 1000
        columns = app.state.incident_columns
        while not columns.ready:
            time.sleep(0.2)
        load_seconds = columns.load_seconds or 0.0
        for name, path, params in queries():
            client.get(path, params=params, headers=headers).raise_for_status()  # warm
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(path, params=params, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            times.sort()
            every += times
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            rows.append((name, statistics.median(times), p95, times[-1]))
    every.sort()
    overall = every[max(0, round(0.95 * len(every)) - 1)]
    load = os.getloadavg()
    lines = [
        "# Statistics API latency (SQLite)",
        "",
        f"- {args.incidents:,} incidents over 8 years (140 areas, 16 stations, 10 categories)",
        f"- {args.repeat} timed requests per query after one warm-up, through HTTP (TestClient)",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared machine)",
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| query | p50 ms | p95 ms | max ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {n} | {p50:.0f} | {p95:.0f} | {mx:.0f} |" for n, p50, p95, mx in rows]
    lines += [
        "",
        f"Overall p95: {overall:.0f} ms (target <= 200 ms).",
        "",
        f"First statistics request of the process: {cold_ms:,.0f} ms (answered by SQL "
        f"GROUP BY while the in-memory columns of all {args.incidents:,} incidents load on a "
        f"worker thread, which took {load_seconds:.1f} s); the timed requests above use the "
        "columns, which each request first brings up to date by reading the incidents changed "
        "since (by change sequence).",
    ]
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text_out)


if __name__ == "__main__":
    main()
