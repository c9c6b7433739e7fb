"""Tables of the records service share this declarative base and its naming convention."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Table
from sqlalchemy.orm import DeclarativeBase

from servicekit.db import UTCDateTime, make_metadata

MIGRATIONS_PATH = Path(__file__).resolve().parents[2] / "migrations"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


# The last (48-bit millisecond << 12 | 12-bit counter) handed out: ids made by this process
# increase even when many are made within one millisecond or the clock steps back.
_last_stamp = 0
_stamp_lock = threading.Lock()
# The first hex digit of the last 64 bits: variant bits 10, then two random bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_ids(count: int) -> list[str]:
    """`count` new time-ordered identifiers (UUIDv7 strings, RFC 9562), increasing in order.

    Time-ordered ids are appended at the right edge of the primary-key index instead of landing
    on random pages, which keeps bulk inserts (imports) cheap. The 62 low bits stay random, so
    an id cannot be guessed from its neighbours.
    """
    global _last_stamp
    if count <= 0:
        return []
    with _stamp_lock:
        # 12-bit counter under the millisecond (RFC 9562 section 6.2, method 1); more than 4096
        # ids in one millisecond borrow from the following milliseconds, keeping the order.
        first = max(time.time_ns() // 1_000_000 << 12, _last_stamp + 1)
        _last_stamp = first + count - 1
    randoms = os.urandom(8 * count).hex()
    ids = []
    for index in range(count):
        stamp = first + index
        tail = randoms[16 * index : 16 * index + 16]
        # 48-bit ms, version 7 + 12-bit counter, variant 10 + 62 random bits.
        ids.append(
            f"{stamp >> 28:08x}-{(stamp >> 12) & 0xFFFF:04x}-7{stamp & 0xFFF:03x}-"
            f"{_VARIANT[tail[0]]}{tail[1:4]}-{tail[4:]}"
        )
    return ids


def new_id() -> str:
    """A new time-ordered identifier (UUIDv7 string) for a row."""
    return new_ids(1)[0]


class Base(DeclarativeBase):
    metadata = make_metadata()

    if TYPE_CHECKING:
        # Every model here is mapped to a Table (none to a view or a select), so say so:
        # DeclarativeBase types __table__ as the wider FromClause.
        __table__: ClassVar[Table]


__all__ = ["MIGRATIONS_PATH", "Base", "UTCDateTime", "new_id", "new_ids", "utcnow"]
