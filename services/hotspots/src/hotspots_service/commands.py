"""`stationhouse hotspots-sync`: pull the records export feed into the hotspots database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer


def _sync(env: dict[str, str], *, max_pages: int | None) -> Any:
    from hotspots_service.config import Settings
    from hotspots_service.db import MIGRATIONS_PATH
    from hotspots_service.sync import records_feed, sync_once
    from servicekit.db import Database
    from servicekit.migrations import upgrade_to_head

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "database_url": env.get("HOTSPOTS_DATABASE_URL"),
            "auth_url": env.get("HOTSPOTS_AUTH_URL"),
            "records_url": env.get("HOTSPOTS_RECORDS_URL"),
            "client_id": env.get("HOTSPOTS_CLIENT_ID"),
            "client_secret": env.get("HOTSPOTS_CLIENT_SECRET"),
        }.items()
        if value
    }
    settings = Settings(**overrides)
    feed = records_feed(settings)
    if feed is None:
        raise typer.BadParameter(
            "set HOTSPOTS_AUTH_URL, HOTSPOTS_RECORDS_URL and HOTSPOTS_CLIENT_SECRET"
        )
    upgrade_to_head(MIGRATIONS_PATH, settings.database_url)
    database = Database(settings.database_url, pool_size=1)
    try:
        return sync_once(database, feed, max_pages=max_pages)
    finally:
        feed.close()
        database.dispose()


def register(
    app: typer.Typer, post_start_hooks: list[Callable[[dict[str, str], str], None]]
) -> None:
    """Add the hotspots commands to the `stationhouse` CLI."""

    @app.command("hotspots-sync")
    def hotspots_sync(
        max_pages: int | None = typer.Option(None, help="Stop after this many feed pages"),
    ) -> None:
        """Copy new and changed incidents from records into the hotspots database now."""
        from stationhouse.processes import resolved_env

        report = _sync(resolved_env(), max_pages=max_pages)
        typer.echo(
            f"pages {report.pages}, upserted {report.upserted}, deleted {report.deleted}, "
            f"cursor {report.cursor}"
        )
