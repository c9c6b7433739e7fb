"""Alembic helpers: run a service's migrations programmatically and check they are at head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

from servicekit.db import is_sqlite, make_engine, normalize_url


def alembic_config(script_location: Path, url: str) -> Config:
    """An Alembic config for a service's migrations folder and database URL."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = normalize_url(url)
    return config


def upgrade_to_head(script_location: Path, url: str) -> None:
    """Apply every pending migration (of every branch: features may branch off a shared base)."""
    command.upgrade(alembic_config(script_location, url), "heads")


def head_revisions(script_location: Path) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(script_location, "sqlite://"))
    return set(script.get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_at_head(engine: Engine, script_location: Path) -> bool:
    return current_revisions(engine) == head_revisions(script_location)


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode only)."""
    from alembic import context

    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to Alembic")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(context, connection, target_metadata, is_sqlite(url))
        return
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            _run(context, conn, target_metadata, is_sqlite(url))
    finally:
        engine.dispose()


def _run(context: object, connection: object, metadata: MetaData, sqlite: bool) -> None:
    ctx = context  # alembic.context module
    ctx.configure(  # type: ignore[attr-defined]
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with ctx.begin_transaction():  # type: ignore[attr-defined]
        ctx.run_migrations()  # type: ignore[attr-defined]
