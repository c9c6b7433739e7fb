"""Running an import: read, clean, de-duplicate and store in atomic batches.

Each batch (default 25,000 rows) is one transaction holding its incidents, its rejected rows and
the job's advanced counters, so a crash mid-file loses at most the batch in flight and never
leaves part of one; `resume` carries on after the last committed batch.
"""

from __future__ import annotations

import csv
import gc
import gzip
import io
import json
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Table, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from records_service.db import new_id, new_ids, utcnow
from records_service.imports import DEFAULT_BATCH_SIZE
from records_service.imports.cleaning import Cleaner, CleanIncident, RowRejected, row_hash
from records_service.imports.models import (
    ImportFingerprint,
    ImportJob,
    ImportRejection,
    ImportStatus,
)
from records_service.imports.profiles import (
    FieldParseError,
    ImportProfile,
    ProfileError,
    get_profile,
)
from records_service.incidents.models import Incident, ReviewStatus
from records_service.sequences import next_change_seq, next_crime_ids
from servicekit.db import Database
from servicekit.logging import get_logger

log = get_logger(__name__)

# Bound parameters per IN (...) query: well under SQLite's and PostgreSQL's limits.
IN_CHUNK = 900
RAW_ROW_LIMIT = 2000

csv.field_size_limit(10 * 1024 * 1024)


@dataclass
class BatchOutcome:
    imported: int = 0
    merged_source_id: int = 0
    merged_time_place: int = 0
    rejected: int = 0


@dataclass(slots=True)
class PendingRow:
    """A row of the current batch: its number in the file and either a clean incident or why not."""

    row_number: int
    raw: list[str]
    incident: CleanIncident | None = None
    rejection: RowRejected | None = None


@dataclass
class ImportSummary:
    job_id: str
    status: str
    rows_read: int
    imported: int
    merged: int
    rejected: int
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class _CountingReader(io.RawIOBase):
    """Counts bytes read from the file on disk (progress of gzip files too)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_rows(
    path: Path, *, delimiter: str
) -> tuple[_CountingReader, list[str], Iterator[list[str]]]:
    """Open a CSV (optionally .gz); returns the byte counter, the header and the row iterator."""
    counter = _CountingReader(open(path, "rb"))  # noqa: SIM115 (closed by the caller)
    buffered: IO[bytes] = io.BufferedReader(counter, buffer_size=1 << 20)
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == b"\x1f\x8b"
    if is_gzip:
        buffered = gzip.GzipFile(fileobj=buffered)  # type: ignore[assignment]
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = [column.strip() for column in next(reader)]
    except StopIteration:
        counter.close()
        raise ProfileError("the file is empty") from None
    except csv.Error as exc:
        counter.close()
        raise ProfileError(f"the file is not a readable CSV: {exc}") from None
    return counter, header, reader


def create_job(
    session: Session,
    *,
    profile: ImportProfile,
    filename: str,
    created_by: str,
    file_path: str | None = None,
    file_sha256: str | None = None,
    mapping_text: str | None = None,
    bytes_total: int = 0,
) -> ImportJob:
    """Record a queued import job."""
    job = ImportJob(
        id=new_id(),
        profile=profile.name,
        source_system=profile.source_system,
        filename=filename[:300],
        file_path=file_path,
        file_sha256=file_sha256,
        mapping_text=mapping_text,
        status=ImportStatus.QUEUED.value,
        created_by=created_by,
        created_at=utcnow(),
        bytes_total=bytes_total,
    )
    session.add(job)
    session.flush()
    return job


def import_file(
    database: Database,
    *,
    path: Path,
    profile_name: str,
    mapping_text: str | None = None,
    created_by: str = "cli",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ImportJob], None] | None = None,
    reader_process: bool = False,
) -> ImportJob:
    """Create a job for `path` and run it to the end (the CLI's entry point).

    `reader_process`: read and clean in a second process while this one writes (opt-in: on the
    2-CPU shared test machine it was slower, see bench/results/import.md).
    """
    profile = get_profile(profile_name, mapping_text=mapping_text)
    with database.session() as session:
        job = create_job(
            session,
            profile=profile,
            filename=path.name,
            created_by=created_by,
            file_path=str(path.resolve()),
            mapping_text=mapping_text,
            bytes_total=path.stat().st_size,
        )
        job_id = job.id
    return run_job(
        database,
        job_id=job_id,
        batch_size=batch_size,
        progress=progress,
        reader_process=reader_process,
    )


def run_job(
    database: Database,
    *,
    job_id: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[ImportJob], None] | None = None,
    now: datetime | None = None,
    reader_process: bool = False,
) -> ImportJob:
    """Run or resume job `job_id`; a failure marks the job failed and never leaves half a batch."""
    with database.session() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise LookupError(job_id)
        if job.status == ImportStatus.COMPLETED.value:
            return job
        resume_after = job.rows_read
        mapping_text = job.mapping_text
        profile = get_profile(job.profile, mapping_text=mapping_text)
        path = Path(job.file_path or "")
        job.status = ImportStatus.RUNNING.value
        job.started_at = job.started_at or utcnow()
    log.info("import.started", job_id=job_id, profile=profile.name, resume_after=resume_after)
    try:
        _run(
            database,
            job_id=job_id,
            path=path,
            profile=profile,
            mapping_text=mapping_text,
            resume_after=resume_after,
            batch_size=batch_size,
            progress=progress,
            now=now or utcnow(),
            reader_process=reader_process,
        )
    except Exception as exc:
        message = str(exc) if isinstance(exc, ProfileError | OSError) else type(exc).__name__
        if not isinstance(exc, ProfileError | OSError):
            log.exception("import.failed", job_id=job_id)
        with database.session() as session:
            session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(
                    status=ImportStatus.FAILED.value, error=message[:1000], finished_at=utcnow()
                )
            )
        if not isinstance(exc, ProfileError | OSError):
            raise
    with database.session(write=False) as session:
        finished = session.get(ImportJob, job_id)
        assert finished is not None
        session.expunge(finished)
    log.info(
        "import.finished",
        job_id=job_id,
        status=finished.status,
        rows_read=finished.rows_read,
        imported=finished.imported,
        merged=finished.merged,
        rejected=finished.rejected,
    )
    return finished


def _run(
    database: Database,
    *,
    job_id: str,
    path: Path,
    profile: ImportProfile,
    mapping_text: str | None,
    resume_after: int,
    batch_size: int,
    progress: Callable[[ImportJob], None] | None,
    now: datetime,
    reader_process: bool,
) -> None:
    batches = (
        _batches_from_process(
            path=path,
            profile=profile,
            mapping_text=mapping_text,
            resume_after=resume_after,
            batch_size=batch_size,
            now=now,
        )
        if reader_process
        else read_batches(
            path, profile=profile, resume_after=resume_after, batch_size=batch_size, now=now
        )
    )
    with closing(batches):
        final = False
        while not final:
            with collector_paused():
                batch, bytes_done, final = next(batches)
                _commit_batch(
                    database, job_id=job_id, batch=batch, bytes_done=bytes_done, final=final
                )
                del batch
            if progress is not None:
                _report_progress(database, job_id, progress)


_pauses = 0
_paused_collector_was_enabled = False
_pause_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one batch is read and stored.

    A batch makes ~100,000 objects that live until it is committed; the collector would walk
    them again and again (about 1.5 s of 9 s CPU for the Toronto file) although reference
    counting frees them all. It resumes between batches, so other threads' cyclic garbage
    waits at most one batch (about a second).
    """
    global _pauses, _paused_collector_was_enabled
    with _pause_lock:
        if _pauses == 0:
            _paused_collector_was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _paused_collector_was_enabled:
                gc.enable()


def read_batches(
    path: Path, *, profile: ImportProfile, resume_after: int, batch_size: int, now: datetime
) -> Generator[tuple[list[PendingRow], int, bool], None, None]:
    """Read, extract and clean the file: (batch, bytes read so far, is it the last batch).

    Rows up to `resume_after` are read (their content hashes count) but not yielded; the last
    batch may be empty.
    """
    counter, header, rows = open_rows(path, delimiter=profile.delimiter)
    row_number = 0
    try:
        profile.check_header(header)
        width = len(header)
        occurrences: dict[str, int] = {}
        batch: list[PendingRow] = []
        # Looked up once, not per row.
        extract = profile.row_reader(header)
        cleaning = Cleaner(
            source_system=profile.source_system,
            categories=profile.categories,
            statuses=profile.statuses,
            default_station=profile.default_station,
            now=now,
            use_fingerprint=profile.use_fingerprint,
        )
        for values in rows:
            row_number += 1
            incident = rejection = None
            try:
                if len(values) != width:
                    raise RowRejected(f"expected {width} columns, found {len(values)}")
                extracted = extract(values)
                if extracted.source_id is None:
                    # Rows without a source ID: content hash + how often it was seen before.
                    content = row_hash(values)
                    seen = occurrences.get(content, 0)
                    occurrences[content] = seen + 1
                    extracted.source_id = f"h:{content}" if seen == 0 else f"h:{content}#{seen}"
                if row_number <= resume_after:
                    continue  # stored already: only its content hash had to be counted
                incident = cleaning(extracted)
            except RowRejected as exc:
                rejection = exc
            except FieldParseError as exc:
                rejection = RowRejected(str(exc), field=exc.field)
            except ValueError as exc:
                rejection = RowRejected(f"unreadable value: {exc}")
            if row_number <= resume_after:
                continue
            batch.append(PendingRow(row_number, values, incident, rejection))
            if len(batch) >= batch_size:
                yield batch, counter.count, False
                batch = []
        yield batch, counter.count, True
    except csv.Error as exc:
        raise ProfileError(
            f"the file stops being a readable CSV near row {row_number}: {exc}"
        ) from None
    finally:
        counter.close()


# A batch crosses between processes as plain tuples (pickled fast, values shared by the memo):
# (row number, raw values if rejected, incident fields, (reason, field) if rejected).
PackedRow = tuple[int, list[str] | None, tuple[Any, ...] | None, tuple[str, str | None] | None]
_incident_fields = attrgetter(*CleanIncident.__slots__)


def _pack(batch: list[PendingRow]) -> list[PackedRow]:
    return [
        (pending.row_number, None, _incident_fields(pending.incident), None)
        if pending.incident is not None
        else (
            pending.row_number,
            pending.raw,
            None,
            (pending.rejection.reason, pending.rejection.field) if pending.rejection else None,
        )
        for pending in batch
    ]


def _unpack(packed: list[PackedRow]) -> list[PendingRow]:
    return [
        PendingRow(row_number, [], CleanIncident(*fields))
        if fields is not None
        else PendingRow(
            row_number,
            raw or [],
            None,
            RowRejected(rejected[0], field=rejected[1]) if rejected else None,
        )
        for row_number, raw, fields, rejected in packed
    ]


def reader_main() -> None:
    """The reader process (`python -m records_service.imports.reader`).

    Reads its parameters as one pickle on stdin, then writes each batch as one pickle on
    stdout, and an exception instead if reading fails.
    """
    # The reader makes millions of short-lived objects and no reference cycles; the cyclic
    # collector would spend about half of its time walking them (measured: 4.3 -> 2.2 s CPU
    # for the Toronto file). This process lives for one import only.
    gc.disable()
    # Our stdout carries the batches: anything printed (logs) goes to stderr instead.
    output = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    parameters = pickle.load(sys.stdin.buffer)  # noqa: S301 (written by our parent process)
    try:
        profile = get_profile(parameters["profile_name"], mapping_text=parameters["mapping_text"])
        for batch, bytes_done, final in read_batches(
            Path(parameters["path"]),
            profile=profile,
            resume_after=parameters["resume_after"],
            batch_size=parameters["batch_size"],
            now=parameters["now"],
        ):
            pickle.dump((_pack(batch), bytes_done, final), output, pickle.HIGHEST_PROTOCOL)
            output.flush()
    except (ProfileError, OSError) as exc:
        pickle.dump(exc, output)
    except Exception as exc:
        pickle.dump(RuntimeError(f"{type(exc).__name__}: {exc}"), output)
    finally:
        output.close()


def _batches_from_process(
    *,
    path: Path,
    profile: ImportProfile,
    mapping_text: str | None,
    resume_after: int,
    batch_size: int,
    now: datetime,
) -> Generator[tuple[list[PendingRow], int, bool], None, None]:
    """`read_batches` run in a child process, one batch ahead of the caller's writes.

    While the child starts (an interpreter and its imports, about a second), this process reads
    the first batch itself; the child skips those rows (still counting their content hashes).
    """
    # A fresh interpreter on a module of ours: nothing of this (threaded) server is inherited,
    # and unlike multiprocessing's spawn, the caller's __main__ is not imported again.
    reader = subprocess.Popen(
        [sys.executable, "-m", "records_service.imports.reader"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert reader.stdin is not None
    assert reader.stdout is not None
    try:
        parameters = {
            "path": str(path),
            "profile_name": profile.name,
            "mapping_text": mapping_text,
            "resume_after": resume_after + batch_size,
            "batch_size": batch_size,
            "now": now,
        }
        pickle.dump(parameters, reader.stdin)
        reader.stdin.close()
        with closing(
            read_batches(
                path, profile=profile, resume_after=resume_after, batch_size=batch_size, now=now
            )
        ) as here:
            first = next(here)
        yield first
        if first[2]:
            return
        del first
        while True:
            try:
                # Our own child's output: trusted like this process's own memory.
                message = pickle.load(reader.stdout)  # noqa: S301
            except (EOFError, pickle.UnpicklingError):
                raise RuntimeError(
                    f"the import's reader process stopped (exit code {reader.wait()})"
                ) from None
            if isinstance(message, BaseException):
                raise message
            packed, bytes_done, final = message
            yield _unpack(packed), bytes_done, final
            if final:
                return
    finally:
        if reader.poll() is None:
            reader.kill()
        reader.wait()
        reader.stdout.close()


def _report_progress(
    database: Database, job_id: str, progress: Callable[[ImportJob], None]
) -> None:
    with database.session(write=False) as session:
        job = session.get(ImportJob, job_id)
        if job is not None:
            progress(job)


def _commit_batch(
    database: Database,
    *,
    job_id: str,
    batch: list[PendingRow],
    bytes_done: int,
    final: bool = False,
) -> None:
    """Store one batch and advance the job in one transaction."""
    try:
        with database.session() as session:
            _large_cache(session)
            outcome = store_batch(session, batch=batch, created_by=f"import:{job_id}")
            _record(
                session,
                job_id=job_id,
                batch=batch,
                outcome=outcome,
                bytes_done=bytes_done,
                final=final,
            )
    except IntegrityError:
        # Someone stored some of these rows meanwhile (a concurrent import of the same source):
        # store the batch row by row, each in its own savepoint.
        log.warning("import.batch_conflict", job_id=job_id, rows=len(batch))
        with database.session() as session:
            outcome = BatchOutcome()
            for pending in batch:
                if pending.incident is None:
                    outcome.rejected += 1
                    continue
                try:
                    with session.begin_nested():
                        single = store_batch(
                            session, batch=[pending], created_by=f"import:{job_id}"
                        )
                except IntegrityError:
                    outcome.merged_source_id += 1
                    continue
                outcome.imported += single.imported
                outcome.merged_source_id += single.merged_source_id
                outcome.merged_time_place += single.merged_time_place
            _record(
                session,
                job_id=job_id,
                batch=batch,
                outcome=outcome,
                bytes_done=bytes_done,
                final=final,
            )


def _large_cache(session: Session) -> None:
    # Index pages of a big table must stay in memory during bulk inserts (SQLite's default cache
    # is 2 MB): 128 MB for this pooled connection.
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size=-131072")


def _record(
    session: Session,
    *,
    job_id: str,
    batch: Sequence[PendingRow],
    outcome: BatchOutcome,
    bytes_done: int,
    final: bool,
) -> None:
    rejections = [
        {
            "job_id": job_id,
            "row_number": pending.row_number,
            "field": pending.rejection.field,
            "reason": pending.rejection.reason[:500],
            "raw": json.dumps(pending.raw, ensure_ascii=False)[:RAW_ROW_LIMIT],
        }
        for pending in batch
        if pending.rejection is not None
    ]
    if rejections:
        session.execute(insert(ImportRejection.__table__), rejections)
    values: dict[str, Any] = {
        "rows_read": ImportJob.rows_read + len(batch),
        "imported": ImportJob.imported + outcome.imported,
        "merged_source_id": ImportJob.merged_source_id + outcome.merged_source_id,
        "merged_time_place": ImportJob.merged_time_place + outcome.merged_time_place,
        "rejected": ImportJob.rejected + len(rejections),
        "batches_committed": ImportJob.batches_committed + (1 if batch else 0),
        "bytes_done": bytes_done,
    }
    if final:
        values.update(status=ImportStatus.COMPLETED.value, finished_at=utcnow())
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _fetch_column(connection: Connection, statement: str, parameters: tuple[Any, ...]) -> list[Any]:
    """First column of every row, read straight from the DBAPI cursor (no result wrapping)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement, parameters)
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def store_batch(session: Session, *, batch: Sequence[PendingRow], created_by: str) -> BatchOutcome:
    """Insert the batch's new incidents; rows already stored (by either rule) count as merged."""
    outcome = BatchOutcome()
    candidates = [pending.incident for pending in batch if pending.incident is not None]
    outcome.rejected = len(batch) - len(candidates)
    if not candidates:
        return outcome
    connection = session.connection()
    marker = "?" if connection.dialect.name == "sqlite" else "%s"
    # Source IDs already stored, per source system (a batch nearly always has one system).
    systems = {incident.source_system for incident in candidates}
    existing_ids: dict[str, set[str]] = {}
    for system in systems:
        ids = (
            [incident.source_id for incident in candidates]
            if len(systems) == 1
            else [incident.source_id for incident in candidates if incident.source_system == system]
        )
        stored: set[str] = set()
        # Plain driver SQL: SQLAlchemy's expanding IN costs more than the lookup itself here.
        for chunk in _chunks(ids):
            found = _fetch_column(
                connection,
                f"SELECT source_id FROM incidents WHERE source_system = {marker} "
                f"AND source_id IN ({', '.join([marker] * len(chunk))})",
                (system, *chunk),
            )
            stored.update(value for value in found if value)
        existing_ids[system] = stored
    prints = [incident.fingerprint for incident in candidates if incident.fingerprint]
    existing_prints: set[str] = set()
    for chunk in _chunks(prints):
        found = _fetch_column(
            connection,
            "SELECT fingerprint FROM import_fingerprints WHERE fingerprint IN "
            f"({', '.join([marker] * len(chunk))})",
            tuple(chunk),
        )
        existing_prints.update(found)
    fresh: list[CleanIncident] = []
    merged_source_id = merged_time_place = 0
    for incident in candidates:
        # Earlier rows of this batch count as stored too.
        seen = existing_ids[incident.source_system]
        source_id = incident.source_id
        if source_id in seen:
            merged_source_id += 1
            continue
        fingerprint = incident.fingerprint
        if fingerprint is not None:
            if fingerprint in existing_prints:
                merged_time_place += 1
                continue
            existing_prints.add(fingerprint)
        seen.add(source_id)
        fresh.append(incident)
    outcome.merged_source_id = merged_source_id
    outcome.merged_time_place = merged_time_place
    outcome.imported = len(fresh)
    if fresh:
        insert_incidents(session, incidents=fresh, created_by=created_by)
    return outcome


INCIDENT_COLUMNS = (
    "id", "crime_id", "category", "source_code", "source_system", "source_id",
    "occurred_from", "occurred_to", "reported_at", "address", "lat", "lon", "area",
    "premises_type", "narrative", "station_id", "reporting_officer", "review_status", "status",
    "sealed", "version", "created_by", "created_at", "updated_at", "change_seq",
)  # fmt: skip


def insert_incidents(
    session: Session, *, incidents: Sequence[CleanIncident], created_by: str
) -> list[str]:
    """Bulk-insert clean incidents with crime IDs and change sequence numbers; returns their ids."""
    # Numbers in the same lock order as every other writer: change sequence, then crime IDs.
    last_seq = next_change_seq(session, count=len(incidents))
    first_seq = last_seq - len(incidents) + 1
    by_year: dict[int, list[int]] = {}
    for index, incident in enumerate(incidents):
        by_year.setdefault(incident.reported_at.year, []).append(index)
    crime_ids: list[str] = [""] * len(incidents)
    for year, indexes in sorted(by_year.items()):
        for index, crime_id in zip(
            indexes, next_crime_ids(session, year=year, count=len(indexes)), strict=True
        ):
            crime_ids[index] = crime_id
    sqlite = session.get_bind().dialect.name == "sqlite"
    # Records from another system were reviewed there; they arrive approved.
    approved = ReviewStatus.APPROVED.value
    ids = new_ids(len(incidents))
    rows: list[tuple[Any, ...]]
    if sqlite:
        # What UTCDateTime stores on SQLite (naive UTC text), by a cached lookup per value:
        # imports repeat the same times a lot.
        times = _SQLITE_TIMES
        now: Any = _sqlite_time(utcnow())
        rows = [
            (
                ids[index], crime_ids[index], incident.category, incident.source_code,
                incident.source_system, incident.source_id,
                times.get(incident.occurred_from) or _sqlite_time(incident.occurred_from),
                None if incident.occurred_to is None else _sqlite_time(incident.occurred_to),
                times.get(incident.reported_at) or _sqlite_time(incident.reported_at),
                incident.address, incident.lat, incident.lon, incident.area,
                incident.premises_type, incident.narrative, incident.station_id, None, approved,
                incident.status, 0, 1, created_by, now, now, first_seq + index,
            )
            for index, incident in enumerate(incidents)
        ]  # fmt: skip
    else:
        now = utcnow()
        rows = [
            (
                ids[index], crime_ids[index], incident.category, incident.source_code,
                incident.source_system, incident.source_id, incident.occurred_from,
                incident.occurred_to, incident.reported_at, incident.address, incident.lat,
                incident.lon, incident.area, incident.premises_type, incident.narrative,
                incident.station_id, None, approved, incident.status, False, 1, created_by, now,
                now, first_seq + index,
            )
            for index, incident in enumerate(incidents)
        ]  # fmt: skip
    bulk_insert(session, Incident.__table__, INCIDENT_COLUMNS, rows)
    prints = [
        (incident.fingerprint, ids[index])
        for index, incident in enumerate(incidents)
        if incident.fingerprint is not None
    ]
    bulk_insert(session, ImportFingerprint.__table__, ("fingerprint", "incident_id"), prints)
    return ids


_SQLITE_TIMES: dict[datetime, str] = {}


def _sqlite_time(value: datetime) -> str:
    """What UTCDateTime stores on SQLite (naive UTC text), cached: imports repeat times a lot."""
    text = _SQLITE_TIMES.get(value)
    if text is None:
        # = strftime("%Y-%m-%d %H:%M:%S.%f"), several times faster.
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        if len(_SQLITE_TIMES) < 500_000:
            _SQLITE_TIMES[value] = text
    return text


def bulk_insert(
    session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """executemany of plain rows straight through the driver: no per-value hooks."""
    if not rows:
        return
    connection = session.connection()
    marker = "?" if connection.dialect.name == "sqlite" else "%s"
    statement = 'INSERT INTO "{}" ({}) VALUES ({})'.format(
        table.name, ", ".join(f'"{name}"' for name in columns), ", ".join([marker] * len(columns))
    )
    connection.exec_driver_sql(statement, rows)


def file_size(path: Path) -> int:
    return os.stat(path).st_size


def import_generated(
    database: Database,
    *,
    incidents: Sequence[CleanIncident],
    profile_name: str,
    source_system: str,
    created_by: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportJob:
    """Store incidents made by code (the demo generator) as an import job with the same rules."""
    with database.session() as session:
        job = ImportJob(
            id=new_id(),
            profile=profile_name,
            source_system=source_system,
            filename=f"{profile_name} ({len(incidents)} incidents)",
            status=ImportStatus.RUNNING.value,
            created_by=created_by,
            created_at=utcnow(),
            started_at=utcnow(),
        )
        session.add(job)
        job_id = job.id
    for start in range(0, len(incidents), batch_size):
        chunk = incidents[start : start + batch_size]
        batch = [
            PendingRow(row_number=start + index + 1, raw=[], incident=incident)
            for index, incident in enumerate(chunk)
        ]
        _commit_batch(
            database,
            job_id=job_id,
            batch=batch,
            bytes_done=0,
            final=start + batch_size >= len(incidents),
        )
    if not incidents:
        _commit_batch(database, job_id=job_id, batch=[], bytes_done=0, final=True)
    with database.session(write=False) as session:
        finished = session.get(ImportJob, job_id)
        assert finished is not None
        session.expunge(finished)
    return finished
