"""`stationhouse create-admin`, and the first admin printed once by `stationhouse up`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def _settings(env: dict[str, str]) -> Any:
    from auth_service.config import Settings

    return Settings(database_url=env["AUTH_DATABASE_URL"])


def create_admin_account(
    env: dict[str, str],
    *,
    username: str,
    station_id: str,
    password: str | None,
    only_if_empty: bool,
) -> Any:
    """Create an administrator in the auth database (migrating it first); the account carries
    its one-time password. With `only_if_empty`, None unless the database has no users."""
    from auth_service.accounts import create_first_admin
    from auth_service.clock import SystemClock
    from auth_service.db import MIGRATIONS_PATH
    from auth_service.passwords import PasswordHasher
    from servicekit.db import Database
    from servicekit.migrations import upgrade_to_head

    settings = _settings(env)
    upgrade_to_head(MIGRATIONS_PATH, settings.database_url)
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.session() as session:
            return create_first_admin(
                session,
                hasher=PasswordHasher.from_settings(settings),
                now=SystemClock().now(),
                username=username,
                station_id=station_id,
                password=password,
                only_if_empty=only_if_empty,
            )
    finally:
        database.dispose()


def _print_admin(admin: Any, gateway_url: str | None, *, title: str) -> None:
    typer.echo("")
    typer.echo(f"{title} (the password is shown only this once):")
    typer.echo(f"  username: {admin.username}")
    typer.echo(f"  password: {admin.password}")
    where = f" at {gateway_url}" if gateway_url else ""
    typer.echo(f"  Sign in{where}; you will be asked to enrol an authenticator app (TOTP).")


def first_admin_hook(env: dict[str, str], gateway_url: str) -> None:
    """Post-start hook: on an empty auth database, create an admin and print it once."""
    admin = create_admin_account(
        env, username="admin", station_id="HQ", password=None, only_if_empty=True
    )
    if admin is not None:
        _print_admin(admin, gateway_url, title="First administrator")


def register(
    app: typer.Typer, post_start_hooks: list[Callable[[dict[str, str], str], None]]
) -> None:
    """Add the auth subcommands and hooks to the `stationhouse` CLI."""

    @app.command("create-admin")
    def create_admin(
        username: str = typer.Option("admin", help="Username of the new administrator"),
        station_id: str = typer.Option("HQ", help="Station the administrator belongs to"),
        password: str | None = typer.Option(
            None,
            help="Password to set (checked for strength); omit to generate one shown once",
        ),
    ) -> None:
        """Create an administrator account in the auth database."""
        from sqlalchemy.exc import IntegrityError

        from auth_service.passwords import password_problems
        from stationhouse.processes import resolved_env

        env = resolved_env()
        if password is not None:
            problems = password_problems(
                password, min_score=_settings(env).min_password_score, user_inputs=[username]
            )
            if problems:
                typer.echo("Password refused: " + " ".join(problems), err=True)
                raise typer.Exit(2)
        try:
            admin = create_admin_account(
                env,
                username=username,
                station_id=station_id,
                password=password,
                only_if_empty=False,
            )
        except IntegrityError:
            typer.echo(f"A user named {username!r} already exists.", err=True)
            raise typer.Exit(1) from None
        if password is None:
            _print_admin(admin, None, title="Administrator created")
        else:
            typer.echo(f"Administrator {admin.username!r} created.")

    post_start_hooks.append(first_admin_hook)
