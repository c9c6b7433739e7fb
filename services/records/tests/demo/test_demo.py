"""The demo city: reproducible, with clustering, weekly and yearly seasonality, near repeats."""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from records_service.commands import totp_now
from records_service.demo import generator
from records_service.demo.service import demo_dataset, is_empty, seed_demo
from records_service.incidents.models import Incident
from records_service.models import Base
from servicekit.db import Database
from servicekit.testing import clear_tables

END = date(2026, 1, 1)


@pytest.fixture(scope="module")
def city() -> list[generator.CleanIncident]:
    return generator.generate(seed=11, count=4000, end=END)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()
    clear_tables(database_url, Base.metadata)


def test_same_seed_same_city(city: list[generator.CleanIncident]) -> None:
    again = generator.generate(seed=11, count=4000, end=END)
    assert [(i.occurred_from, i.lat, i.category) for i in again] == [
        (i.occurred_from, i.lat, i.category) for i in city
    ]
    other = generator.generate(seed=12, count=4000, end=END)
    assert [i.lat for i in other] != [i.lat for i in city]
    assert 3800 <= len(city) <= 4000


def test_incidents_cluster_in_space(city: list[generator.CleanIncident]) -> None:
    # 250 m cells: the busiest 5% of occupied cells hold far more than 5% of incidents.
    cells = Counter((round(i.lat / 0.00225), round(i.lon / 0.0031)) for i in city)
    top = sorted(cells.values(), reverse=True)[: max(1, len(cells) // 20)]
    assert sum(top) / len(city) > 0.3


def test_weekly_and_yearly_seasonality(city: list[generator.CleanIncident]) -> None:
    weekdays = Counter(i.occurred_from.weekday() for i in city)
    assert weekdays[4] + weekdays[5] > 1.2 * (weekdays[0] + weekdays[1])
    months = Counter(i.occurred_from.month for i in city)
    assert months[7] > 1.3 * months[1]
    night = sum(1 for i in city if i.category == "assault" and i.occurred_from.hour in (22, 23, 0))
    morning = sum(1 for i in city if i.category == "assault" and i.occurred_from.hour in (7, 8, 9))
    assert night > 2 * morning


def test_near_repeat_burglaries(city: list[generator.CleanIncident]) -> None:
    burglaries = sorted(
        (i for i in city if i.category == "burglary"), key=lambda i: i.occurred_from
    )

    def close_pairs(max_days: float) -> int:
        pairs = 0
        for index, first in enumerate(burglaries):
            for second in burglaries[index + 1 :]:
                days = (second.occurred_from - first.occurred_from).total_seconds() / 86400
                if days > max_days:
                    break
                metres = math.hypot(
                    (second.lat - first.lat) * 111_320,
                    (second.lon - first.lon) * 111_320 * math.cos(math.radians(first.lat)),
                )
                if metres < 200:
                    pairs += 1
        return pairs

    # Pairs close in space within a week are much more common than chance over a month
    # (per day of window, the near-repeat window must dominate).
    assert close_pairs(7) / 7 > 2 * (close_pairs(60) - close_pairs(7)) / 53


def test_every_generated_incident_is_valid(city: list[generator.CleanIncident]) -> None:
    for incident in city:
        assert incident.reported_at >= incident.occurred_from
        assert incident.station_id in generator.STATIONS
        assert incident.area is not None
        assert incident.status in ("reported", "under_investigation", "closed")


def test_seed_demo_with_the_generator_is_idempotent(database: Database) -> None:
    assert is_empty(database)
    first = seed_demo(database, dataset=None, seed=5, count=500)
    assert first.imported == first.rows_read
    assert not is_empty(database)
    second = seed_demo(database, dataset=None, seed=5, count=500)
    assert second.imported == 0
    assert second.merged == second.rows_read
    with database.session(write=False) as session:
        stored = session.execute(select(func.count()).select_from(Incident)).scalar_one()
    assert stored == first.imported


def test_seed_demo_loads_a_toronto_file_through_the_importer(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "train.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["occurrencedate", "occurrencehour", "premises_type", "MCI",
                         "Neighbourhood", "Lat", "Long"])  # fmt: skip
        for n in range(20):
            writer.writerow([f"2020/05/{1 + n:02d} 04:00:00+00", "12", "House", "Robbery",
                             "Annex (95)", "43.66", f"-79.40{n:02d}"])  # fmt: skip
    assert demo_dataset({"STATIONHOUSE_DEMO_DATASET": str(tmp_path)}) == path
    assert demo_dataset({"STATIONHOUSE_DEMO_DATASET": str(tmp_path / "missing")}) is None
    job = seed_demo(database, dataset=demo_dataset({"STATIONHOUSE_DEMO_DATASET": str(path)}))
    assert (job.profile, job.imported) == ("toronto_mci", 20)


def test_totp_matches_rfc_6238() -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"
    assert totp_now(secret, at=59, digits=8) == "94287082"
    assert totp_now(secret, at=1111111109, digits=8) == "07081804"
