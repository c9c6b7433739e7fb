"""Imports: idempotent, row errors reported and never abort, counts add up, batches atomic."""

from __future__ import annotations

import csv
import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from records_service.imports.cleaning import CLEANING_RULES
from records_service.imports.models import ImportRejection, ImportStatus
from records_service.imports.profiles import ProfileError
from records_service.imports.service import import_file, run_job
from records_service.incidents.models import Incident
from servicekit.db import Database

TORONTO_HEADER = [
    "occurrencedate", "occurrencehour", "premises_type", "occurrencemonth",
    "occurrencedayofweek", "MCI", "Neighbourhood", "occurrenceday", "occurrencedayofyear",
    "Pub_Id", "Park_Id", "PS_Id", "Lat", "Long",
]  # fmt: skip


def toronto_row(
    *,
    day: str = "2019/07/01 04:00:00+00",
    hour: str = "13",
    mci: str = "Assault",
    lat: str = "43.65",
    lon: str = "-79.38",
    hood: str = "Annex (95)",
    premises: str = "Outside",
) -> list[str]:
    return [
        day,
        hour,
        premises,
        "July",
        "Monday    ",
        mci,
        hood,
        "1",
        "182",
        "0",
        "0",
        "0",
        lat,
        lon,
    ]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:  # type: ignore[operator]
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def good_rows(count: int) -> list[list[str]]:
    rows = []
    for index in range(count):
        rows.append(
            toronto_row(
                day=f"2019/{1 + index % 12:02d}/{1 + index % 28:02d} 05:00:00+00",
                hour=str(index % 24),
                mci=["Assault", "Break and Enter", "Auto Theft", "Robbery", "Theft Over"][
                    index % 5
                ],
                lat=f"{43.6 + index * 0.0001:.6f}",
                lon=f"{-79.4 - index * 0.0001:.6f}",
            )
        )
    return rows


def count_incidents(database: Database) -> int:
    with database.session(write=False) as session:
        return session.execute(select(func.count()).select_from(Incident)).scalar_one()


# Every behaviour holds whether the file is read in this process or in a reader process (what
# files of 1 MiB and more get).
READERS = pytest.mark.parametrize("reader_process", [False, True], ids=["in_process", "reader"])


@READERS
def test_reimport_changes_nothing_and_counts_add_up(
    database: Database, tmp_path: Path, reader_process: bool
) -> None:
    rows = good_rows(300)
    rows.append(rows[10])  # an exact duplicate row
    rows.append(
        toronto_row(
            day=rows[20][0],
            hour=rows[20][1],
            mci=rows[20][5],
            lat=rows[20][12],
            lon=rows[20][13],
            premises="House",
        )
    )  # same time, place, category
    path = write_csv(tmp_path / "mci.csv.gz", TORONTO_HEADER, rows, gz=True)

    first = import_file(
        database,
        path=path,
        profile_name="toronto_mci",
        batch_size=64,
        reader_process=reader_process,
    )
    assert first.status == ImportStatus.COMPLETED
    assert first.rows_read == 302
    assert first.imported == 300
    assert first.merged == 2
    assert first.rows_read == first.imported + first.merged + first.rejected
    assert count_incidents(database) == 300

    second = import_file(
        database,
        path=path,
        profile_name="toronto_mci",
        batch_size=64,
        reader_process=reader_process,
    )
    assert second.imported == 0
    assert second.merged == 302
    assert second.rows_read == second.imported + second.merged + second.rejected
    assert count_incidents(database) == 300


@READERS
def test_imported_incident_is_cleaned(
    database: Database, tmp_path: Path, reader_process: bool
) -> None:
    # Toronto: the day is local midnight written in UTC, the hour is local (EDT in July).
    path = write_csv(tmp_path / "one.csv", TORONTO_HEADER, [toronto_row(mci="Break and Enter")])
    import_file(database, path=path, profile_name="toronto_mci", reader_process=reader_process)
    with database.session(write=False) as session:
        incident = session.execute(select(Incident)).scalar_one()
    assert incident.category == "burglary"
    assert incident.source_code == "Break and Enter"
    assert incident.occurred_from == datetime(2019, 7, 1, 17, 0, tzinfo=UTC)
    assert incident.reported_at == incident.occurred_from
    assert incident.crime_id.startswith("CR-2019-")
    assert incident.source_system == "toronto-mci"
    assert incident.area == "Annex (95)"
    assert incident.station_id == "TPS"
    assert (incident.lat, incident.lon) == (43.65, -79.38)


@READERS
def test_broken_rows_are_reported_and_good_rows_imported(
    database: Database, tmp_path: Path, reader_process: bool
) -> None:
    rows = good_rows(5)
    broken = [
        toronto_row(day="2019/13/45 05:00:00+00"),  # bad date
        toronto_row(lat="123.5"),  # latitude out of range
        toronto_row(lon="east"),  # not a number
        toronto_row(mci="Jaywalking"),  # unknown category
        toronto_row(mci=""),  # missing required field
        toronto_row(hour="31"),  # hour out of range
    ]
    path = write_csv(tmp_path / "broken.csv", TORONTO_HEADER, rows[:2] + broken + rows[2:])
    job = import_file(
        database,
        path=path,
        profile_name="toronto_mci",
        batch_size=4,
        reader_process=reader_process,
    )
    assert job.status == ImportStatus.COMPLETED
    assert (job.rows_read, job.imported, job.merged, job.rejected) == (11, 5, 0, 6)
    assert count_incidents(database) == 5
    with database.session(write=False) as session:
        rejections = (
            session.execute(
                select(ImportRejection)
                .where(ImportRejection.job_id == job.id)
                .order_by(ImportRejection.row_number)
            )
            .scalars()
            .all()
        )
    reasons = {r.row_number: r.reason for r in rejections}
    assert list(reasons) == [3, 4, 5, 6, 7, 8]
    assert "unrecognised date" in reasons[3]
    assert "lat out of range" in reasons[4]
    assert "lon is not a number" in reasons[5]
    assert "unknown category 'Jaywalking'" in reasons[6]
    assert reasons[7] == "missing category"
    assert "hour out of range" in reasons[8]
    assert json.loads(rejections[0].raw)[0] == "2019/13/45 05:00:00+00"
    assert json.loads(rejections[3].raw)[5] == "Jaywalking"
    assert (rejections[1].field, rejections[4].field) == ("lat", "category")


@READERS
def test_missing_required_column_fails_the_job_without_rows(
    database: Database, tmp_path: Path, reader_process: bool
) -> None:
    path = write_csv(tmp_path / "wrong.csv", ["a", "b"], [["1", "2"]])
    job = import_file(
        database, path=path, profile_name="toronto_mci", reader_process=reader_process
    )
    assert job.status == ImportStatus.FAILED
    assert "needs the column" in (job.error or "")
    assert count_incidents(database) == 0


def test_unknown_profile_is_refused(database: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", TORONTO_HEADER, good_rows(1))
    with pytest.raises(ProfileError):
        import_file(database, path=path, profile_name="nope")


@READERS
def test_crash_mid_file_keeps_whole_batches_and_resume_finishes(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader_process: bool
) -> None:
    rows = good_rows(50)
    path = write_csv(tmp_path / "crash.csv", TORONTO_HEADER, rows)
    from records_service.imports import service

    original = service.store_batch
    calls = {"n": 0}

    def failing_store(session, *, batch, created_by):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        result = original(session, batch=batch, created_by=created_by)
        if calls["n"] == 3:
            raise RuntimeError("power cut")  # after the rows were written, before commit
        return result

    monkeypatch.setattr(service, "store_batch", failing_store)
    with pytest.raises(RuntimeError):
        import_file(
            database,
            path=path,
            profile_name="toronto_mci",
            batch_size=10,
            reader_process=reader_process,
        )
    # Two whole batches survived, nothing of the third.
    assert count_incidents(database) == 20
    with database.session(write=False) as session:
        from records_service.imports.models import ImportJob

        job = session.execute(select(ImportJob)).scalar_one()
        assert job.status == ImportStatus.FAILED
        assert (job.rows_read, job.imported, job.batches_committed) == (20, 20, 2)
        job_id = job.id

    monkeypatch.setattr(service, "store_batch", original)
    resumed = run_job(database, job_id=job_id, batch_size=10, reader_process=reader_process)
    assert resumed.status == ImportStatus.COMPLETED
    assert (resumed.rows_read, resumed.imported, resumed.merged) == (50, 50, 0)
    assert count_incidents(database) == 50


@READERS
def test_file_unreadable_mid_way_fails_the_job_after_whole_batches(
    database: Database, tmp_path: Path, reader_process: bool
) -> None:
    # A field over the CSV reader's 10 MiB limit (gzipped, the file stays small).
    oversized = toronto_row(premises="x" * (10 * 1024 * 1024 + 1))
    path = write_csv(tmp_path / "cut.csv.gz", TORONTO_HEADER, [*good_rows(15), oversized], gz=True)
    job = import_file(
        database,
        path=path,
        profile_name="toronto_mci",
        batch_size=10,
        reader_process=reader_process,
    )
    assert job.status == ImportStatus.FAILED
    assert "stops being a readable CSV near row 15" in (job.error or "")
    assert (job.rows_read, job.imported, job.batches_committed) == (10, 10, 1)
    assert count_incidents(database) == 10


def test_generic_mapping_is_applied_in_the_reader_process(
    database: Database, tmp_path: Path
) -> None:
    mapping = (
        "source_system: county-rms\n"
        "timezone: America/New_York\n"
        "datetime_formats: ['%m/%d/%Y %H:%M']\n"
        "columns: {source_id: CaseNo, occurred_from: Date, category: Offence, lat: Y, lon: X}\n"
        "categories: {'SIMPLE ASSAULT': assault}\n"
    )
    rows = [
        ["A-1", "07/01/2019 13:30", "SIMPLE ASSAULT", "40.7", "-74.0"],
        ["A-2", "07/01/2019 14:00", "LITTERING", "40.7", "-74.0"],
    ]
    path = write_csv(tmp_path / "county.csv", ["CaseNo", "Date", "Offence", "Y", "X"], rows)
    job = import_file(
        database, path=path, profile_name="generic", mapping_text=mapping, reader_process=True
    )
    assert (job.status, job.imported, job.rejected) == (ImportStatus.COMPLETED, 1, 1)
    with database.session(write=False) as session:
        incident = session.execute(select(Incident)).scalar_one()
    assert (incident.source_system, incident.source_id) == ("county-rms", "A-1")
    assert incident.occurred_from == datetime(2019, 7, 1, 17, 30, tzinfo=UTC)


def test_imported_incident_ids_follow_the_order_they_were_stored(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "ordered.csv", TORONTO_HEADER, good_rows(40))
    import_file(database, path=path, profile_name="toronto_mci", batch_size=7)
    with database.session(write=False) as session:
        ids = session.execute(select(Incident.id).order_by(Incident.change_seq)).scalars().all()
    assert len(ids) == 40
    assert ids == sorted(ids)
    assert {uuid.UUID(value).version for value in ids} == {7}


def test_cleaning_rules_are_stated_for_every_field() -> None:
    for field in ("occurred_from", "reported_at", "category", "lat/lon", "duplicates"):
        assert CLEANING_RULES[field]
