"""Import throughput on SQLite: the Toronto MCI train file (or a synthetic file of the same shape).

Usage: uv run python bench/import_bench.py [--rows N] [--batch-size N] [--out bench/results/import.md]

Prints rows/s by wall clock and by this process's CPU time (the machine may be shared), then
re-imports the same file to show that nothing changes. The target is >= 20,000 rows/s.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import platform
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from records_service.db import MIGRATIONS_PATH
from records_service.demo.service import demo_dataset
from records_service.imports.service import import_file
from servicekit.db import Database
from servicekit.migrations import upgrade_to_head

TARGET = 20_000


def synthetic_file(path: Path, rows: int) -> Path:
    rng = random.Random(1)
    kinds = ["Assault", "Break and Enter", "Auto Theft", "Robbery", "Theft Over"]
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["occurrencedate", "occurrencehour", "premises_type", "MCI",
                         "Neighbourhood", "Lat", "Long"])  # fmt: skip
        for _ in range(rows):
            day = datetime.fromordinal(rng.randrange(735000, 737800)).replace(tzinfo=UTC)
            writer.writerow([
                day.strftime("%Y/%m/%d 05:00:00+00"), rng.randrange(24), "House",
                rng.choice(kinds), f"Hood {rng.randrange(140)}",
                f"{43.6 + rng.random() * 0.25:.6f}", f"{-79.6 + rng.random() * 0.4:.6f}",
            ])  # fmt: skip
    return path


def run(database: Database, path: Path, batch_size: int) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    job = import_file(database, path=path, profile_name="toronto_mci", batch_size=batch_size)
    return job, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=0, help="synthetic rows (0: use the sample)")
    parser.add_argument("--batch-size", type=int, default=25_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/import.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = None if args.rows else demo_dataset()
        if source is None:
            source = synthetic_file(Path(tmp) / "synthetic.csv.gz", args.rows or 200_000)
        url = f"sqlite:///{tmp}/records.db"
        upgrade_to_head(MIGRATIONS_PATH, url)
        database = Database(url, pool_size=2)
        first, wall1, cpu1 = run(database, source, args.batch_size)
        second, wall2, cpu2 = run(database, source, args.batch_size)
        count = sqlite3.connect(f"{tmp}/records.db").execute(
            "select count(*) from incidents").fetchone()[0]  # fmt: skip
        database.dispose()
    load = os.getloadavg()
    lines = [
        "# Import throughput (SQLite)",
        "",
        f"- file: `{source.name}` ({first.rows_read} rows), batch size {args.batch_size}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared machine)",
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| run | rows read | imported | merged | rejected | wall s | rows/s (wall) "
        "| CPU s | rows/s (CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, job, wall, cpu in (("first", first, wall1, cpu1), ("re-import", second, wall2, cpu2)):
        lines.append(
            f"| {name} | {job.rows_read} | {job.imported} | {job.merged} | {job.rejected} "
            f"| {wall:.2f} | {job.rows_read / wall:,.0f} | {cpu:.2f} | {job.rows_read / cpu:,.0f} |"
        )
    lines += [
        "",
        f"Incidents stored after both runs: {count} (= imported by the first run: "
        f"{count == first.imported}). Target: {TARGET:,} rows/s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
