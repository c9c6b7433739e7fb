"""`stationhouse import` and `stationhouse seed-demo`, and the demo seeded by `stationhouse up`.

Demo users are auth's business: they are created through auth's admin API over HTTP (via the
gateway), signed in as a demo administrator that auth's own `create-admin` code makes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

DEMO_ADMIN = "demo-admin"
DEMO_USERS = (
    ("demo-supervisor", ["supervisor"], "ST-1", "Demo Supervisor"),
    ("demo-officer", ["officer"], "ST-1", "Demo Officer"),
    ("demo-analyst", ["analyst"], "HQ", "Demo Analyst"),
    ("demo-citizen", ["citizen"], None, "Demo Citizen"),
)


@dataclass
class DemoAccount:
    username: str
    password: str
    roles: list[str]
    totp_secret: str | None = None


def _database(env: dict[str, str]) -> Any:
    from records_service.db import MIGRATIONS_PATH
    from servicekit.db import Database
    from servicekit.migrations import upgrade_to_head

    url = env["RECORDS_DATABASE_URL"]
    upgrade_to_head(MIGRATIONS_PATH, url)
    return Database(url, pool_size=2)


def _print_job(job: Any) -> None:
    typer.echo(
        f"  rows read {job.rows_read}: imported {job.imported}, merged as duplicates "
        f"{job.merged} (by source ID {job.merged_source_id}, by time+place+category "
        f"{job.merged_time_place}), rejected {job.rejected}"
    )
    if job.error:
        typer.echo(f"  error: {job.error}")


def totp_now(secret: str, *, at: float | None = None, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 code of a base32 secret (SHA-1, as authenticator apps and auth use)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def _demo_admin(env: dict[str, str]) -> DemoAccount | None:
    """A demo administrator made by auth's create-admin code; None when it already exists."""
    from sqlalchemy.exc import IntegrityError

    from auth_service.commands import create_admin_account

    try:
        admin = create_admin_account(
            env, username=DEMO_ADMIN, station_id="HQ", password=None, only_if_empty=False
        )
    except IntegrityError:
        return None
    return DemoAccount(username=admin.username, password=admin.password, roles=["admin"])


def _admin_token(client: Any, admin: DemoAccount) -> str:
    """Sign in as the demo admin through the gateway, enrolling its TOTP on the way."""
    response = client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": admin.username, "password": admin.password},
    )
    ticket = response.json().get("enrolment_token") if response.status_code == 403 else None
    if ticket is None:
        raise RuntimeError(f"demo admin sign-in: HTTP {response.status_code} {response.text[:200]}")
    enrolment = client.post("/api/v1/auth/totp/enrolment", json={"enrolment_token": ticket})
    enrolment.raise_for_status()
    admin.totp_secret = enrolment.json()["secret"]
    confirmed = client.post(
        "/api/v1/auth/totp/enrolment/confirm",
        json={"enrolment_token": ticket, "code": totp_now(admin.totp_secret)},
    )
    confirmed.raise_for_status()
    token: str = confirmed.json()["access_token"]
    return token


def create_demo_users(
    env: dict[str, str], gateway_url: str, accounts: list[DemoAccount]
) -> list[DemoAccount]:
    """The demo admin plus one user per other role, created over HTTP (appended to `accounts`
    as they are made, so a failure half-way still tells who exists); [] if they exist."""
    import httpx

    admin = _demo_admin(env)
    if admin is None:
        return accounts
    accounts.append(admin)
    with httpx.Client(base_url=gateway_url, timeout=30.0) as client:
        headers = {"Authorization": f"Bearer {_admin_token(client, admin)}"}
        for username, roles, station_id, display_name in DEMO_USERS:
            password = "-".join(secrets.token_urlsafe(6) for _ in range(4))
            response = client.post(
                "/api/v1/auth/users",
                json={
                    "username": username,
                    "password": password,
                    "display_name": display_name,
                    "roles": roles,
                    "station_id": station_id,
                },
                headers=headers,
            )
            if response.status_code == 409:
                continue
            if response.status_code != 201:
                raise RuntimeError(
                    f"creating {username}: HTTP {response.status_code} {response.text[:300]}"
                )
            accounts.append(DemoAccount(username=username, password=password, roles=roles))
    return accounts


def print_accounts(accounts: list[DemoAccount]) -> None:
    typer.echo("")
    typer.echo("Demo users (passwords are shown only this once):")
    for account in accounts:
        line = (
            f"  {account.username:<16} {'/'.join(account.roles):<11} password: {account.password}"
        )
        if account.totp_secret:
            line += f"  TOTP secret: {account.totp_secret}"
        typer.echo(line)
    typer.echo("  Staff accounts enrol an authenticator app (TOTP) at their first sign-in.")


def seed(env: dict[str, str], *, use_generator: bool, seed_value: int, count: int) -> None:
    from records_service.demo.service import demo_dataset, seed_demo

    dataset = None if use_generator else demo_dataset(env)
    source = str(dataset) if dataset else f"generator (seed {seed_value}, ~{count} incidents)"
    typer.echo(f"Seeding demo incidents from {source}")
    database = _database(env)
    try:
        started = time.perf_counter()
        job = seed_demo(
            database, dataset=dataset, seed=seed_value, count=count, use_generator=use_generator
        )
        _print_job(job)
        typer.echo(f"  took {time.perf_counter() - started:.1f}s")
    finally:
        database.dispose()


def demo_hook(env: dict[str, str], gateway_url: str) -> None:
    """Post-start hook: on a first run (no incidents yet) seed the demo city and its users."""
    from records_service.demo.service import is_empty

    database = _database(env)
    try:
        first_run = is_empty(database)
    finally:
        database.dispose()
    if not first_run:
        return
    seed(env, use_generator=False, seed_value=20261129, count=40_000)
    accounts: list[DemoAccount] = []
    try:
        create_demo_users(env, gateway_url, accounts)
    except Exception as exc:  # a demo nicety must never stop the system from starting
        typer.echo(f"Demo users could not all be created: {exc}", err=True)
    if accounts:
        print_accounts(accounts)


def register(
    app: typer.Typer, post_start_hooks: list[Callable[[dict[str, str], str], None]]
) -> None:
    """Add the records subcommands and the demo hook to the `stationhouse` CLI."""
    from records_service.imports import DEFAULT_BATCH_SIZE

    @app.command("import")
    def import_command(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (or .csv.gz)"),
        profile: str = typer.Option(
            ...,
            help="toronto_mci, toronto_mci_official, police_uk, chicago or generic",
        ),
        mapping: Path | None = typer.Option(
            None, exists=True, dir_okay=False, help="generic profile: YAML/JSON column mapping"
        ),
        batch_size: int = typer.Option(
            DEFAULT_BATCH_SIZE, min=1, max=100_000, help="rows per transaction"
        ),
        report: Path | None = typer.Option(None, help="write the rejected rows here as CSV"),
        reader_process: bool = typer.Option(
            False, help="read and clean the file in a second process (needs an idle CPU)"
        ),
    ) -> None:
        """Import incidents from a file (re-importing the same file changes nothing)."""
        from records_service.imports.profiles import ProfileError
        from records_service.imports.service import import_file
        from stationhouse.processes import resolved_env

        env = resolved_env()
        database = _database(env)
        try:
            mapping_text = mapping.read_text(encoding="utf-8") if mapping else None
            started = time.perf_counter()

            def progress(job: Any) -> None:
                typer.echo(f"  ... {job.rows_read} rows", err=True)

            try:
                job = import_file(
                    database,
                    path=file,
                    profile_name=profile,
                    mapping_text=mapping_text,
                    batch_size=batch_size,
                    progress=progress,
                    reader_process=reader_process,
                )
            except ProfileError as exc:
                typer.echo(f"Cannot import: {exc}", err=True)
                raise typer.Exit(2) from None
            seconds = time.perf_counter() - started
            typer.echo(f"Import {job.id}: {job.status} in {seconds:.1f}s")
            _print_job(job)
            if report is not None:
                _write_rejections(database, job.id, report)
                typer.echo(f"  rejected rows written to {report}")
            if job.status != "completed":
                raise typer.Exit(1)
        finally:
            database.dispose()

    @app.command("seed-demo")
    def seed_demo_command(
        generator: bool = typer.Option(
            False, "--generator", help="use the synthetic city even when the Toronto sample exists"
        ),
        seed_value: int = typer.Option(20261129, "--seed", help="generator seed"),
        count: int = typer.Option(40_000, min=100, max=5_000_000, help="generated incidents"),
        users: bool = typer.Option(
            True, help="also create demo users (needs `stationhouse up` running)"
        ),
        gateway_url: str = typer.Option("http://localhost:8000", help="for the demo users"),
    ) -> None:
        """Load demo incidents (idempotent) and, when the system is running, demo users."""
        from stationhouse.processes import resolved_env

        env = resolved_env()
        seed(env, use_generator=generator, seed_value=seed_value, count=count)
        if not users:
            return
        accounts: list[DemoAccount] = []
        failure = None
        try:
            create_demo_users(env, gateway_url, accounts)
        except Exception as exc:
            failure = exc
        if accounts:
            print_accounts(accounts)
        if failure is not None:
            typer.echo(
                f"Demo users not created ({failure}); is `stationhouse up` running?", err=True
            )
            raise typer.Exit(1)
        if not accounts:
            typer.echo("Demo users exist already.")

    post_start_hooks.append(demo_hook)


def _write_rejections(database: Any, job_id: str, path: Path) -> None:
    import csv

    from sqlalchemy import select

    from records_service.imports.models import ImportRejection

    with database.session(write=False) as session, path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row_number", "field", "reason", "raw"])
        rows = session.execute(
            select(ImportRejection)
            .where(ImportRejection.job_id == job_id)
            .order_by(ImportRejection.row_number)
        ).scalars()
        for rejection in rows:
            writer.writerow(
                [rejection.row_number, rejection.field or "", rejection.reason, rejection.raw]
            )
