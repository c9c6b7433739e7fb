"""Import throughput on SQLite: the Toronto MCI train file (or a synthetic file of the same shape).

Usage: uv run python bench/import_bench.py [--rows N] [--batch-size N] [--reader-process]
       [--out bench/results/import.md]

Prints rows/s by wall clock and by CPU time (this process plus the import's reader process;
the machine may be shared), then re-imports the same file to show that nothing changes. Run it
with `flock /tmp/stationhouse-bench.lock` on a shared machine. The target is >= 20,000 rows/s.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import platform
import random
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from records_service.db import MIGRATIONS_PATH
from records_service.demo.service import demo_dataset
from records_service.imports import DEFAULT_BATCH_SIZE
from records_service.imports.service import import_file
from servicekit.db import Database
from servicekit.migrations import upgrade_to_head

TARGET = 20_000
EARLIER = "## Notes and earlier runs"


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


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    database: Database, path: Path, batch_size: int, reader_process: bool
) -> tuple[object, float, float, float]:
    """The job, wall seconds, this process's CPU seconds and the reader process's."""
    wall, cpu, reader = time.perf_counter(), time.process_time(), children_cpu()
    job = import_file(
        database,
        path=path,
        profile_name="toronto_mci",
        batch_size=batch_size,
        reader_process=reader_process,
    )
    return (
        job,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        children_cpu() - reader,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=0, help="synthetic rows (0: use the sample)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument(
        "--reader-process", action="store_true", help="read and clean in a second process"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/import.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = None if args.rows else demo_dataset()
        if source is None:
            source = synthetic_file(Path(tmp) / "synthetic.csv.gz", args.rows or 200_000)
        url = f"sqlite:///{tmp}/records.db"
        upgrade_to_head(MIGRATIONS_PATH, url)
        database = Database(url, pool_size=2)
        mode = bool(args.reader_process)
        load_before = os.getloadavg()
        first, wall1, cpu1, reader1 = run(database, source, args.batch_size, mode)
        second, wall2, cpu2, reader2 = run(database, source, args.batch_size, mode)
        count = sqlite3.connect(f"{tmp}/records.db").execute(
            "select count(*) from incidents").fetchone()[0]  # fmt: skip
        database.dispose()
    load = os.getloadavg()
    lines = [
        "# Import throughput (SQLite)",
        "",
        f"- file: `{source.name}` ({first.rows_read} rows), batch size {args.batch_size}, "
        + ("reader process (`--reader-process`)" if mode else "in one process"),
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), load average "
        f"before {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f}, "
        f"after {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        "| run | rows read | imported | merged | rejected | wall s | rows/s (wall) "
        "| CPU s main | CPU s reader | rows/s (CPU, both) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, job, wall, cpu, reader in (
        ("first", first, wall1, cpu1, reader1),
        ("re-import", second, wall2, cpu2, reader2),
    ):
        lines.append(
            f"| {name} | {job.rows_read} | {job.imported} | {job.merged} | {job.rejected} "
            f"| {wall:.2f} | {job.rows_read / wall:,.0f} | {cpu:.2f} | {reader:.2f} "
            f"| {job.rows_read / (cpu + reader):,.0f} |"
        )
    lines += [
        "",
        f"Incidents stored after both runs: {count} (= imported by the first run: "
        f"{count == first.imported}). Target: {TARGET:,} rows/s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    # Earlier figures stay below the new ones, for comparison.
    previous = args.out.read_text() if args.out.exists() else ""
    if EARLIER in previous:
        text += "\n" + previous[previous.index(EARLIER) :]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
