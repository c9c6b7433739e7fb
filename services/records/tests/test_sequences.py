"""Counters: crime IDs are unique and consecutive; the change sequence only grows."""

from __future__ import annotations

from records_service import taxonomy
from records_service.sequences import next_change_seq, next_crime_ids
from servicekit.db import Database


def test_crime_ids_are_consecutive_per_year(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.session() as session:
            first = next_crime_ids(session, year=2031, count=2)
        with database.session() as session:
            second = next_crime_ids(session, year=2031)
            other_year = next_crime_ids(session, year=2032)
        assert first == ["CR-2031-000001", "CR-2031-000002"]
        assert second == ["CR-2031-000003"]
        assert other_year == ["CR-2032-000001"]
    finally:
        database.dispose()


def test_change_sequence_grows(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.session() as session:
            a = next_change_seq(session)
            b = next_change_seq(session, count=5)
        assert b == a + 5
    finally:
        database.dispose()


def test_taxonomy_has_the_shared_slugs_and_toronto_mapping() -> None:
    assert taxonomy.SLUGS == (
        "assault", "robbery", "burglary", "theft", "vehicle_theft", "theft_from_vehicle",
        "criminal_damage", "drugs", "weapons", "sexual_offence", "homicide", "fraud",
        "public_order", "other",
    )  # fmt: skip
    assert taxonomy.category("robbery").nibrs_code == "120"
    assert taxonomy.category("other").nibrs_code is None
    assert set(taxonomy.TORONTO_MCI.values()) <= set(taxonomy.SLUGS)
