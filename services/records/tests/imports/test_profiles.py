"""Profiles read each source's columns, times and categories correctly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from records_service.imports.cleaning import RowRejected, clean
from records_service.imports.profiles import ProfileError, get_profile, load_mapping


def cleaned(profile_name: str, row: dict[str, str], mapping: str | None = None):  # type: ignore[no-untyped-def]
    profile = get_profile(profile_name, mapping_text=mapping)
    raw = profile.extract(row)
    raw.source_id = raw.source_id or "hash"
    return clean(
        raw, source_system=profile.source_system, categories=profile.categories,
        statuses=profile.statuses, default_station=profile.default_station,
        now=datetime(2026, 1, 1, tzinfo=UTC), use_fingerprint=profile.use_fingerprint,
    )  # fmt: skip


def test_police_uk_month_precision_and_outcome() -> None:
    incident = cleaned(
        "police_uk",
        {
            "Crime ID": "abc123", "Month": "2024-07", "Reported by": "Metropolitan Police Service",
            "Falls within": "Metropolitan Police Service", "Longitude": "-0.1", "Latitude": "51.5",
            "Location": "On or near Baker Street", "LSOA code": "E01",
            "LSOA name": "Westminster 018A",
            "Crime type": "Vehicle crime", "Last outcome category": "Under investigation",
            "Context": "",
        },
    )  # fmt: skip
    assert incident.category == "vehicle_theft"
    assert incident.occurred_from == datetime(2024, 6, 30, 23, 0, tzinfo=UTC)  # BST
    assert incident.occurred_to == datetime(2024, 7, 31, 22, 59, 59, tzinfo=UTC)
    assert incident.status == "under_investigation"
    assert incident.area == "Westminster 018A"
    assert incident.fingerprint is None  # month precision: no time+place duplicate rule


def test_toronto_official_download() -> None:
    incident = cleaned(
        "toronto_mci_official",
        {
            "EVENT_UNIQUE_ID": "GO-20141263217", "REPORT_DATE": "2014-01-02 05:00:00+00",
            "OCC_DATE": "2014-01-01 05:00:00+00", "REPORT_HOUR": "9", "OCC_HOUR": "23",
            "DIVISION": "D42", "PREMISES_TYPE": "House", "UCR_CODE": "2120", "UCR_EXT": "200",
            "OFFENCE": "B&E", "MCI_CATEGORY": "Break and Enter",
            "NEIGHBOURHOOD_158": "Agincourt North (129)", "LONG_WGS84": "-79.26",
            "LAT_WGS84": "43.8",
        },
    )  # fmt: skip
    assert incident.source_id == "GO-20141263217/2120/200/B&E"
    assert incident.category == "burglary"
    assert incident.source_code == "2120-200"
    assert incident.occurred_from == datetime(2014, 1, 2, 4, 0, tzinfo=UTC)  # 23:00 EST
    assert incident.reported_at == datetime(2014, 1, 2, 14, 0, tzinfo=UTC)
    assert incident.station_id == "TPS-D42"


def test_chicago_local_time_and_iucr_code() -> None:
    incident = cleaned(
        "chicago",
        {
            "ID": "12345", "Date": "07/04/2023 11:30:00 PM", "Primary Type": "MOTOR VEHICLE THEFT",
            "IUCR": "0910", "District": "12", "Community Area": "28", "Block": "0000X W ADAMS",
            "Location Description": "STREET", "Latitude": "41.88", "Longitude": "-87.63",
        },
    )  # fmt: skip
    assert incident.category == "vehicle_theft"
    assert incident.source_code == "0910"
    assert incident.occurred_from == datetime(2023, 7, 5, 4, 30, tzinfo=UTC)  # CDT
    assert incident.station_id == "CPD-012"
    assert incident.area == "Community Area 28"


def test_generic_mapping_unknown_category_to_other_and_validation() -> None:
    mapping = (
        '{"source_system": "rms", "columns": {"occurred_from": "When", "category": "What"},'
        ' "unknown_category": "other"}'
    )
    incident = cleaned("generic", {"When": "2024-05-01T10:00:00Z", "What": "Littering"}, mapping)
    assert incident.category == "other"
    assert incident.source_code == "Littering"
    with pytest.raises(ProfileError, match="occurred_from"):
        load_mapping("source_system: x\ncolumns: {category: C}\n")
    with pytest.raises(ProfileError, match="unknown taxonomy"):
        get_profile(
            "generic",
            mapping_text="source_system: x\ncolumns: {occurred_from: A, category: B}\n"
            "categories: {X: not_a_slug}\n",
        )


def test_coordinates_zero_are_withheld_not_rejected() -> None:
    mapping = "source_system: rms\ncolumns: {occurred_from: T, category: C, lat: Y, lon: X}\n"
    incident = cleaned(
        "generic", {"T": "2024-05-01T10:00:00Z", "C": "theft", "Y": "0", "X": "0"}, mapping
    )
    assert (incident.lat, incident.lon) == (None, None)
    with pytest.raises(RowRejected, match="only one of lat/lon"):
        cleaned("generic", {"T": "2024-05-01T10:00:00Z", "C": "theft", "Y": "50", "X": ""}, mapping)
    with pytest.raises(RowRejected, match="in the future"):
        cleaned("generic", {"T": "2030-05-01T10:00:00Z", "C": "theft"}, mapping)
