"""Parsing and storing area indicators uploaded as CSV (one row per area)."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from prediction_service.indicators.models import AreaIndicator
from prediction_service.timeutil import utcnow
from servicekit.errors import UnprocessableContent

MAX_AREAS = 5000
MAX_COLUMNS = 50


def parse_indicator_csv(text: str) -> dict[str, dict[str, float]]:
    """`area,<indicator>,...` with a header; numbers only (empty cells are missing values)."""
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if not rows:
        raise UnprocessableContent("The CSV is empty.")
    header = [h.strip() for h in rows[0]]
    if not header or header[0].lower() != "area":
        raise UnprocessableContent("The first column must be named 'area'.")
    names = header[1:]
    if not names or len(names) > MAX_COLUMNS:
        raise UnprocessableContent(
            f"Give between 1 and {MAX_COLUMNS} indicator columns after 'area'."
        )
    if len(set(names)) != len(names) or any(
        not n or not n.replace("_", "").isalnum() for n in names
    ):
        raise UnprocessableContent(
            "Indicator names must be unique, letters, digits and underscores."
        )
    if len(rows) - 1 > MAX_AREAS:
        raise UnprocessableContent(f"At most {MAX_AREAS} areas per upload.")
    table: dict[str, dict[str, float]] = {}
    errors: list[dict[str, Any]] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            errors.append(
                {
                    "field": f"line {line}",
                    "message": f"expected {len(header)} cells, got {len(row)}",
                }
            )
            continue
        area = row[0].strip()
        if not area:
            errors.append({"field": f"line {line}", "message": "area is empty"})
            continue
        if area in table:
            errors.append({"field": f"line {line}", "message": f"area {area!r} appears twice"})
            continue
        values: dict[str, float] = {}
        for name, cell in zip(names, row[1:], strict=True):
            cell = cell.strip()
            if not cell:
                continue
            try:
                number = float(cell)
            except ValueError:
                errors.append(
                    {"field": f"line {line}.{name}", "message": f"{cell!r} is not a number"}
                )
                continue
            if not math.isfinite(number):
                errors.append({"field": f"line {line}.{name}", "message": "must be finite"})
                continue
            values[name] = number
        table[area] = values
    if errors:
        raise UnprocessableContent(
            "Some rows of the CSV are not valid; nothing was stored.", errors=errors[:100]
        )
    return table


def replace_indicators(session: Session, *, table: dict[str, dict[str, float]], actor: str) -> int:
    """The upload replaces the whole table (so a removed area or column really goes away)."""
    session.execute(delete(AreaIndicator))
    now = utcnow()
    session.add_all(
        AreaIndicator(area=a, values=v, updated_at=now, updated_by=actor) for a, v in table.items()
    )
    session.flush()
    return len(table)


def list_indicators(session: Session, *, after: str | None, limit: int) -> list[AreaIndicator]:
    query = select(AreaIndicator).order_by(AreaIndicator.area).limit(limit + 1)
    if after is not None:
        query = query.where(AreaIndicator.area > after)
    return list(session.scalars(query))
