"""Counting in memory: a per-process columnar copy of what statistics need, kept current.

Scanning a year of a million incidents row by row costs SQLite (and PostgreSQL without a fresh
visibility map) far more than the 200 ms a dashboard may wait. Each process keeps the seven
columns statistics read (time, category, area, station, premises, status, deleted) in NumPy
arrays and brings them up to date before every query by reading the incidents whose change
sequence is above the last one it saw — the export feed's ordering, so no change is ever
skipped (see records_service.sequences). Counting is then a mask and a bincount: the same
numbers on SQLite and PostgreSQL because the arithmetic is the same Python code on both.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from records_service.incidents.models import Incident
from records_service.statistics.service import (
    Bucket,
    CountRow,
    Dimension,
    StatisticsQuery,
)
from servicekit.db import Database
from servicekit.logging import get_logger

DIMENSIONS = tuple(Dimension)
_COLUMNS = {
    Dimension.CATEGORY: Incident.category,
    Dimension.AREA: Incident.area,
    Dimension.STATION: Incident.station_id,
    Dimension.PREMISES: Incident.premises_type,
    Dimension.STATUS: Incident.status,
}
FETCH_CHUNK = 50_000
# Up to this many incidents the first statistics request loads the columns itself.
SYNC_LOAD_LIMIT = 100_000
log = get_logger(__name__)


@dataclass
class _Vocabulary:
    """Codes of one dimension's values; code 0 is 'no value' (NULL)."""

    codes: dict[Any, int]
    values: list[Any]

    @classmethod
    def empty(cls) -> _Vocabulary:
        return cls(codes={None: 0}, values=[None])

    def code(self, value: Any) -> int:
        found = self.codes.get(value)
        if found is None:
            found = len(self.values)
            self.codes[value] = found
            self.values.append(value)
        return found


class IncidentColumns:
    """The incidents as columns; `refresh` applies changes after the last change sequence."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_seq = 0
        self.positions: dict[str, int] = {}
        self.seconds = np.empty(0, dtype=np.int64)
        self.alive = np.empty(0, dtype=bool)
        self.codes = {d: np.empty(0, dtype=np.int32) for d in DIMENSIONS}
        self.vocabularies = {d: _Vocabulary.empty() for d in DIMENSIONS}
        # Positions in time order and the times in that order (rebuilt after changes).
        self._order: npt.NDArray[np.intp] | None = None
        self._sorted_seconds: npt.NDArray[np.int64] | None = None
        self.ready = False
        self._loading = False
        self.load_seconds: float | None = None

    def ensure_loading(self, database: Database, session: Session) -> None:
        """Load now when the table is small; else start loading on a worker thread (callers
        count in SQL until `ready`)."""
        with self.lock:
            if self.ready or self._loading:
                return
            self._loading = True
            size = session.connection().exec_driver_sql("SELECT count(*) FROM incidents")
            small = size.scalar_one() <= SYNC_LOAD_LIMIT
            if small:
                self.refresh(session)
                self.ready = True
                return

        def load() -> None:
            started = time.perf_counter()
            try:
                with database.session(write=False) as own, self.lock:
                    self.refresh(own)
                    self.ready = True
                    self.load_seconds = time.perf_counter() - started
                log.info("statistics.columns_loaded", incidents=len(self.seconds),
                         seconds=round(self.load_seconds or 0, 1))  # fmt: skip
            except Exception:
                log.exception("statistics.columns_load_failed")
            finally:
                self._loading = False

        threading.Thread(target=load, name="statistics-columns", daemon=True).start()

    def refresh(self, session: Session) -> None:
        """Read every incident changed since the last refresh (all of them the first time)."""
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            epoch, marker = "CAST(strftime('%s', occurred_from) AS INTEGER)", "?"
        else:
            epoch, marker = "CAST(FLOOR(EXTRACT(EPOCH FROM occurred_from)) AS BIGINT)", "%s"
        # Plain driver SQL: the initial load reads every incident once.
        statement = (
            f"SELECT id, change_seq, {epoch}, deleted_at IS NULL, "
            f"{', '.join(_COLUMNS[d].key for d in DIMENSIONS)} FROM incidents "
            f"WHERE change_seq > {marker} ORDER BY change_seq LIMIT {FETCH_CHUNK}"
        )
        while True:
            rows = connection.exec_driver_sql(statement, (self.last_seq,)).fetchall()
            if not rows:
                return
            self._apply(rows)
            self.last_seq = rows[-1][1]
            if len(rows) < FETCH_CHUNK:
                return

    def _apply(self, rows: Sequence[Sequence[Any]]) -> None:
        self._order = None
        self._sorted_seconds = None
        fresh: list[Any] = []
        positions = self.positions
        for row in rows:
            position = positions.get(row[0])
            if position is None:
                fresh.append(row)
                continue
            self.seconds[position] = row[2]
            self.alive[position] = bool(row[3])
            for offset, dimension in enumerate(DIMENSIONS):
                self.codes[dimension][position] = self.vocabularies[dimension].code(row[4 + offset])
        if not fresh:
            return
        start = len(self.seconds)
        positions.update((row[0], start + index) for index, row in enumerate(fresh))
        columns = list(zip(*fresh, strict=True))
        self.seconds = np.concatenate([self.seconds, np.array(columns[2], dtype=np.int64)])
        self.alive = np.concatenate([self.alive, np.array(columns[3], dtype=bool)])
        for offset, dimension in enumerate(DIMENSIONS):
            vocabulary = self.vocabularies[dimension]
            known = vocabulary.codes
            for value in set(columns[4 + offset]) - known.keys():
                vocabulary.code(value)
            new_codes = np.array([known[v] for v in columns[4 + offset]], dtype=np.int32)
            self.codes[dimension] = np.concatenate([self.codes[dimension], new_codes])

    def selected(self, query: StatisticsQuery) -> npt.NDArray[np.intp]:
        """Positions counted by `query`: alive, in the frame, passing the filters."""
        if self._order is None or self._sorted_seconds is None:
            self._order = np.argsort(self.seconds, kind="stable")
            self._sorted_seconds = self.seconds[self._order]
        low, high = np.searchsorted(
            self._sorted_seconds, [_epoch(query.start), _epoch(query.end)], side="left"
        )
        positions = self._order[low:high]
        keep = self.alive[positions]
        for dimension, values in query.filters.items():
            vocabulary = self.vocabularies[dimension]
            wanted = [vocabulary.codes[v] for v in values if v in vocabulary.codes]
            lookup = np.zeros(len(vocabulary.values), dtype=bool)
            lookup[wanted] = True
            keep &= lookup[self.codes[dimension][positions]]
        return positions[keep]

    def count_rows(self, query: StatisticsQuery) -> list[CountRow]:
        """Counts per bucket and group, in the same shape and order as the SQL version."""
        positions = self.selected(query)
        keys: list[npt.NDArray[np.int64]] = []
        sizes: list[int] = []
        bucket_base = 0
        if query.bucket is not None:
            bucket_keys = bucket_numbers(query.bucket, self.seconds[positions])
            if bucket_keys.size:
                bucket_base = int(bucket_keys.min())
                keys.append(bucket_keys - bucket_base)
                sizes.append(int(bucket_keys.max()) - bucket_base + 1)
            else:
                keys.append(bucket_keys)
                sizes.append(1)
        for dimension in query.group_by:
            keys.append(self.codes[dimension][positions].astype(np.int64))
            sizes.append(len(self.vocabularies[dimension].values))
        if not keys:
            return [CountRow(keys={}, count=len(positions))]
        if not positions.size:
            return []
        combined = np.ravel_multi_index(tuple(keys), tuple(sizes))
        cells = math.prod(sizes)
        if cells <= max(4 * len(positions), 1_000_000):
            tally = np.bincount(combined, minlength=cells)
            unique = np.flatnonzero(tally)
            counts = tally[unique]
        else:
            unique, counts = np.unique(combined, return_counts=True)
        parts = np.unravel_index(unique, tuple(sizes))
        result: list[CountRow] = []
        for position in range(len(unique)):
            labels: dict[str, Any] = {}
            offset = 0
            if query.bucket is not None:
                labels["bucket"] = bucket_label(query.bucket, int(parts[0][position]) + bucket_base)
                offset = 1
            for index, dimension in enumerate(query.group_by):
                code = int(parts[offset + index][position])
                labels[dimension.value] = self.vocabularies[dimension].values[code]
            result.append(CountRow(keys=labels, count=int(counts[position])))
        result.sort(
            key=lambda r: tuple((v is None, v if v is not None else "") for v in r.keys.values())
        )
        return result


def _epoch(value: datetime) -> int:
    # Incidents are counted by whole seconds: t >= start and t < end, for a whole-second t,
    # mean t >= ceil(start) and t < ceil(end).
    return math.ceil(value.timestamp())


SECONDS_PER_DAY = 86_400


def bucket_numbers(bucket: Bucket, seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """An integer per incident naming its UTC bucket (hours, days, ISO weeks, months, years)."""
    days = seconds // SECONDS_PER_DAY
    if bucket is Bucket.HOUR:
        return seconds // 3600
    if bucket is Bucket.DAY:
        return days
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if bucket is Bucket.WEEK:
        return days - weekday
    if bucket is Bucket.HOUR_OF_WEEK:
        return weekday * 24 + (seconds % SECONDS_PER_DAY) // 3600
    if not days.size:
        return days
    # Month (or year) numbers since 1970 by looking each day up among the period starts.
    unit = "M" if bucket is Bucket.MONTH else "Y"
    first = np.datetime64(int(days.min()), "D").astype(f"datetime64[{unit}]")
    last = np.datetime64(int(days.max()), "D").astype(f"datetime64[{unit}]")
    periods = np.arange(first, last + 1)
    starts = periods.astype("datetime64[D]").astype(np.int64)
    index = np.searchsorted(starts, days, side="right") - 1
    return periods.astype(np.int64)[index]


def bucket_label(bucket: Bucket, number: int) -> str | int:
    """Labels as the SQL version gives: 2024-03-01T05:00:00Z, 2024-03-01, 2024-03, 2024, 0..167."""
    if bucket is Bucket.HOUR_OF_WEEK:
        return number
    if bucket is Bucket.HOUR:
        return datetime.fromtimestamp(number * 3600, tz=UTC).strftime("%Y-%m-%dT%H:00:00Z")
    if bucket is Bucket.DAY or bucket is Bucket.WEEK:
        return datetime.fromtimestamp(number * SECONDS_PER_DAY, tz=UTC).strftime("%Y-%m-%d")
    if bucket is Bucket.MONTH:
        return str(np.datetime64(number, "M"))
    return str(np.datetime64(number, "Y"))
