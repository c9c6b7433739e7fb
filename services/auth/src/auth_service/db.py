"""Tables of the auth service share this declarative base and its naming convention."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import DeclarativeBase

from servicekit.db import make_metadata

MIGRATIONS_PATH = Path(__file__).resolve().parents[2] / "migrations"


class Base(DeclarativeBase):
    metadata = make_metadata()
