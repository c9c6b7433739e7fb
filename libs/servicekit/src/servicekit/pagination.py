"""Cursor pagination: `?limit=` (default 50, max 500), `?cursor=`, `{items, next_cursor}`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from servicekit.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next, null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(position: list[Any]) -> str:
    """Opaque cursor for the sort key of the last item returned."""
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> list[Any]:
    """Inverse of encode_cursor; a cursor that was not ours is a 400."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not valid; start again without it.") from exc
    if not isinstance(value, list):
        raise BadRequest("The cursor is not valid; start again without it.")
    return value


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: list[Any] | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="next_cursor of the previous page")
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(page_params)]


def make_page(rows: list[T], *, limit: int, key: Any) -> Page[T]:
    """Given up to limit+1 rows in order, return a page; `key(row)` is the row's sort key."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(items=rows, next_cursor=encode_cursor(list(key(rows[-1]))))
    return Page(items=rows, next_cursor=None)
