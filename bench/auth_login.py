"""Login throughput of the auth service (argon2id dominates). A benchmark, not a test.

    uv run python bench/auth_login.py [--seconds 10] [--concurrency 1,2,4]

Starts the real auth service (python -m servicekit.serve, SQLite, production argon2id defaults
unless overridden) and signs a citizen in over HTTP (grant_type=password) as fast as the
given number of concurrent clients can; also times one argon2id verification in-process.
Prints the numbers and writes them to bench/results/auth.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auth_common import machine, write_section

from auth_service.config import Settings
from auth_service.passwords import PasswordHasher
from servicekit.testing import free_port

PASSWORD = "marble orchard whispers eleven times"


def argon2_verify_ms(hasher: PasswordHasher, rounds: int = 20) -> float:
    encoded = hasher.hash(PASSWORD)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert hasher.verify(PASSWORD, encoded)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", default="1,2,4")
    parser.add_argument("--time-cost", type=int, default=Settings().argon2_time_cost)
    parser.add_argument("--memory-kib", type=int, default=Settings().argon2_memory_kib)
    parser.add_argument("--parallelism", type=int, default=Settings().argon2_parallelism)
    args = parser.parse_args()

    hasher = PasswordHasher(
        time_cost=args.time_cost, memory_kib=args.memory_kib, parallelism=args.parallelism
    )
    params = hasher.describe()
    verify_ms = argon2_verify_ms(hasher)
    print(f"argon2 parameters: {params}")
    print(f"one argon2id verification: {verify_ms:.1f} ms (median of 20, in-process)")

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/auth.db"
        from auth_service.accounts import create_first_admin
        from auth_service.clock import SystemClock
        from auth_service.db import MIGRATIONS_PATH
        from auth_service.models import User
        from servicekit.db import Database
        from servicekit.migrations import upgrade_to_head

        upgrade_to_head(MIGRATIONS_PATH, url)
        database = Database(url, pool_size=1)
        with database.session() as session:
            create_first_admin(session, hasher=hasher, now=SystemClock().now(), password=PASSWORD)
            # A citizen (no second factor) so each request is one whole password sign-in.
            admin = session.query(User).one()
            admin.roles = ["citizen"]
            admin.station_id = None
            # Targets for wrong-password timing: 4 failures each, below the lockout threshold.
            for i in range(5):
                session.add(
                    User(
                        username=f"victim{i}",
                        display_name="",
                        password_hash=hasher.hash(PASSWORD),
                        roles=["citizen"],
                        created_at=SystemClock().now(),
                        updated_at=SystemClock().now(),
                        version=1,
                        totp_last_step=0,
                    )
                )
        database.dispose()

        port = free_port()
        env = {
            **os.environ,
            "AUTH_DATABASE_URL": url,
            "AUTH_KEY_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "AUTH_ARGON2_TIME_COST": str(args.time_cost),
            "AUTH_ARGON2_MEMORY_KIB": str(args.memory_kib),
            "AUTH_ARGON2_PARALLELISM": str(args.parallelism),
            "AUTH_LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "servicekit.serve",
                "auth_service.main:create_app",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            rows = []
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                done: list[float] = []
                failures = [0]
                stop = time.monotonic() + args.seconds

                def worker() -> None:
                    with httpx.Client(base_url=base, timeout=30) as client:
                        while time.monotonic() < stop:
                            start = time.perf_counter()
                            response = client.post(
                                "/api/v1/auth/token",
                                data={
                                    "grant_type": "password",
                                    "username": "admin",
                                    "password": PASSWORD,
                                },
                            )
                            if response.status_code == 200:
                                done.append((time.perf_counter() - start) * 1000)
                            else:
                                failures[0] += 1

                threads = [threading.Thread(target=worker) for _ in range(concurrency)]
                began = time.monotonic()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.monotonic() - began
                rate = len(done) / elapsed
                p50 = statistics.median(done) if done else float("nan")
                p95 = statistics.quantiles(done, n=20)[18] if len(done) >= 20 else max(done or [0])
                rows.append((concurrency, len(done), rate, p50, p95, failures[0]))
                print(
                    f"concurrency {concurrency}: {rate:.1f} logins/s, p50 {p50:.0f} ms, "
                    f"p95 {p95:.0f} ms ({len(done)} logins, {failures[0]} failed)"
                )
            timing: dict[str, list[float]] = {"wrong password": [], "unknown user": []}
            with httpx.Client(base_url=base, timeout=30) as client:
                for i in range(20):
                    for label, username in (
                        ("wrong password", f"victim{i % 5}"),
                        ("unknown user", f"ghost{i}"),
                    ):
                        start = time.perf_counter()
                        response = client.post(
                            "/api/v1/auth/token",
                            data={
                                "grant_type": "password",
                                "username": username,
                                "password": "not the password at all",
                            },
                        )
                        assert response.status_code == 401, response.text
                        timing[label].append((time.perf_counter() - start) * 1000)
            same_time = {k: statistics.median(v) for k, v in timing.items()}
            print(
                "failed sign-in, median of 20: "
                + ", ".join(f"{k} {v:.0f} ms" for k, v in same_time.items())
            )
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    table = "\n".join(
        f"| {c} | {n} | {r:.1f} | {p50:.0f} | {p95:.0f} | {f} |" for c, n, r, p50, p95, f in rows
    )
    write_section(
        "login",
        f"""## Login throughput (bench/auth_login.py)

Real auth process over HTTP, SQLite, one uvicorn worker; each request is a full
`grant_type=password` sign-in of a citizen (argon2id verify, lockout bookkeeping, audit entry,
session + refresh token, EdDSA access token).

- argon2 parameters: **{params}** (the production defaults: RFC 9106 low-memory profile)
- one argon2id verification in-process: **{verify_ms:.1f} ms** (median of 20)
- machine: {machine()}; {args.seconds:.0f} s per row

Failed sign-ins answer the same 401 in about the same time (median of 20 each, sequential):
{", ".join(f"{k} **{v:.0f} ms**" for k, v in same_time.items())} (an unknown user is checked
against a dummy argon2id hash with the same parameters).

| concurrent clients | logins | logins/s | p50 ms | p95 ms | failed |
| --- | --- | --- | --- | --- | --- |
{table}
""",
    )


if __name__ == "__main__":
    main()
