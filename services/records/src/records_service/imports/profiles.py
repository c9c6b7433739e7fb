"""Mapping profiles: how the columns of one kind of CSV become incidents.

Built in: `toronto_mci` (the Toronto MCI sample in ../shared/datasets/toronto_mci),
`toronto_mci_official` (the Toronto Police Service open-data MCI download, old and new column
names), `police_uk` (data.police.uk street-level CSVs), `chicago` (City of Chicago "Crimes - 2001
to Present"), and `generic`, where a small YAML or JSON file names the columns (see
`GenericMapping`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from records_service import taxonomy
from records_service.imports.cleaning import (
    CategoryMap,
    LocalTimeParser,
    RawIncident,
    to_utc,
)

Row = dict[str, str]
# A row as the CSV reader gives it: values in the header's column order.
Values = list[str]


class ProfileError(ValueError):
    """The profile cannot read this file (unknown profile, bad mapping, missing columns)."""


@dataclass
class ImportProfile:
    """One source format: which columns to read and how, and the source's vocabularies."""

    name: str
    source_system: str
    description: str
    required_columns: tuple[str, ...]
    extract: Callable[[Row], RawIncident]
    categories: CategoryMap
    default_station: str
    statuses: dict[str, str] = field(default_factory=dict)
    # Same time + place + category counts as a duplicate only for hour-precise sources.
    use_fingerprint: bool = True
    delimiter: str = ","
    # Optional fast path: given the header, a function reading a row's values by position
    # (no per-row dict). It must extract exactly what `extract` does from the same row.
    extract_values: Callable[[list[str]], Callable[[Values], RawIncident]] | None = None

    def row_reader(self, header: list[str]) -> Callable[[Values], RawIncident]:
        """What the import calls per row: `extract_values` for this header, else `extract`."""
        if self.extract_values is not None:
            return self.extract_values(header)
        extract = self.extract

        def by_name(values: Values) -> RawIncident:
            return extract(dict(zip(header, values, strict=False)))

        return by_name

    def check_header(self, header: list[str]) -> None:
        """ProfileError when a required column is absent."""
        present = set(header)
        missing = [column for column in self.required_columns if column not in present]
        if missing:
            raise ProfileError(
                f"profile {self.name!r} needs the column(s) {', '.join(missing)}; "
                f"the file has {', '.join(header[:20])}"
            )


def _get(row: Row, *names: str) -> str | None:
    for name in names:
        value = row.get(name)
        if value is not None and value.strip() != "":
            return value
    return None


def _hour(value: str | None) -> int:
    if value is None or not value.strip():
        return 0
    hour = int(float(value))
    if not 0 <= hour <= 23:
        raise ValueError(f"hour out of range: {value}")
    return hour


class _LocalDayHour:
    """Toronto data gives the day (as local midnight, often written in UTC) and the hour apart."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._days: dict[str, date] = {}
        self._times: dict[tuple[date, int], datetime] = {}
        self._texts: dict[tuple[str, str | None], datetime] = {}

    def day(self, value: str) -> date:
        cached = self._days.get(value)
        if cached is not None:
            return cached
        text = value.strip().replace("/", "-")
        parsed: datetime | None = None
        if text.isdigit() and len(text) > 8:  # epoch milliseconds (ArcGIS exports)
            parsed = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        else:
            if text.endswith("+00") or text.endswith("-00"):
                text += ":00"
            for candidate in (text, text.replace("Z", "+00:00")):
                try:
                    parsed = datetime.fromisoformat(candidate)
                    break
                except ValueError:
                    continue
            if parsed is None:
                for fmt in ("%m-%d-%Y %I:%M:%S %p", "%m-%d-%Y %H:%M:%S", "%m-%d-%Y", "%d-%b-%y"):
                    try:
                        parsed = datetime.strptime(text, fmt)
                        break
                    except ValueError:
                        continue
        if parsed is None:
            raise ValueError(f"unrecognised date {value!r}")
        local_day = (
            parsed.astimezone(self.zone).date() if parsed.tzinfo is not None else parsed.date()
        )
        self._days[value] = local_day
        return local_day

    def __call__(self, day_text: str | None, hour_text: str | None) -> datetime | None:
        if day_text is None:
            return None
        # Rows repeat the same (day, hour) text: one lookup instead of parsing both.
        known = self._texts.get((day_text, hour_text))
        if known is not None:
            return known
        key = (self.day(day_text), _hour(hour_text))
        cached = self._times.get(key)
        if cached is None:
            local = datetime(key[0].year, key[0].month, key[0].day, key[1])
            cached = to_utc(local, self.zone)
            self._times[key] = cached
        if len(self._texts) < 500_000:
            self._texts[(day_text, hour_text)] = cached
        return cached


TORONTO = ZoneInfo("America/Toronto")


def _positions(header: list[str]) -> dict[str, int]:
    """Column name -> position; a repeated name means its last column (as a per-row dict does)."""
    return {name: index for index, name in enumerate(header)}


TORONTO_SAMPLE_COLUMNS = (
    "occurrencedate", "occurrencehour", "MCI", "Lat", "Long", "Neighbourhood", "premises_type"
)  # fmt: skip


def toronto_mci_sample() -> ImportProfile:
    """The Toronto MCI sample: local day + hour, MCI category, neighbourhood, lat/long."""
    when = _LocalDayHour(TORONTO)

    def raw_incident(fields: Sequence[str | None]) -> RawIncident:
        """`fields` in the order of TORONTO_SAMPLE_COLUMNS (None: no such column)."""
        day, hour, category, lat, lon, area, premises_type = fields
        if day is not None and not day.strip():
            day = None
        try:
            occurred = when(day, hour)
        except ValueError as exc:
            raise FieldParseError("occurred_from", f"occurred_from: {exc}") from None
        return RawIncident(
            None, occurred, None, None, category, lat, lon, area=area, premises_type=premises_type
        )

    def extract(row: Row) -> RawIncident:
        return raw_incident([row.get(name) for name in TORONTO_SAMPLE_COLUMNS])

    def extract_values(header: list[str]) -> Callable[[Values], RawIncident]:
        position = _positions(header)
        if any(name not in position for name in TORONTO_SAMPLE_COLUMNS):
            # An optional column is absent: the per-name path handles it.
            return lambda values: extract(dict(zip(header, values, strict=False)))
        getter = itemgetter(*(position[name] for name in TORONTO_SAMPLE_COLUMNS))
        return lambda values: raw_incident(getter(values))

    return ImportProfile(
        name="toronto_mci",
        source_system="toronto-mci",
        description="Toronto Police MCI sample (../shared/datasets/toronto_mci)",
        required_columns=("occurrencedate", "occurrencehour", "MCI", "Lat", "Long"),
        extract=extract,
        categories=CategoryMap(taxonomy.TORONTO_MCI),
        default_station="TPS",
        extract_values=extract_values,
    )


def toronto_mci_official() -> ImportProfile:
    """The Toronto Police Service open-data MCI download (2023+ and older column names)."""
    when = _LocalDayHour(TORONTO)
    statuses: dict[str, str] = {}

    def extract(row: Row) -> RawIncident:
        event_id = _get(row, "EVENT_UNIQUE_ID", "event_unique_id")
        ucr = _get(row, "UCR_CODE", "ucr_code")
        ext = _get(row, "UCR_EXT", "ucr_ext")
        offence = _get(row, "OFFENCE", "offence")
        division = _get(row, "DIVISION", "Division")
        source_id = None
        if event_id:
            source_id = "/".join(part or "" for part in (event_id, ucr, ext, offence))
        return RawIncident(
            source_id=source_id,
            occurred_from=when(
                _get(row, "OCC_DATE", "occurrencedate"), _get(row, "OCC_HOUR", "occurrencehour")
            ),
            occurred_to=None,
            reported_at=when(
                _get(row, "REPORT_DATE", "reporteddate"), _get(row, "REPORT_HOUR", "reportedhour")
            ),
            category=_get(row, "MCI_CATEGORY", "MCI", "mci_category"),
            lat=_get(row, "LAT_WGS84", "Lat", "lat"),
            lon=_get(row, "LONG_WGS84", "Long", "long"),
            area=_get(row, "NEIGHBOURHOOD_158", "NEIGHBOURHOOD_140", "Neighbourhood"),
            premises_type=_get(row, "PREMISES_TYPE", "premises_type"),
            address=_get(row, "LOCATION_TYPE", "location_type"),
            station_id=f"TPS-{division}" if division and division != "NSA" else None,
            source_code=f"{ucr}-{ext}" if ucr and ext else None,
        )

    return ImportProfile(
        name="toronto_mci_official",
        source_system="toronto-mci",
        description="Toronto Police Service Major Crime Indicators open-data CSV",
        required_columns=(),
        extract=extract,
        categories=CategoryMap(taxonomy.TORONTO_MCI),
        default_station="TPS",
        statuses=statuses,
    )


LONDON = ZoneInfo("Europe/London")

POLICE_UK_CATEGORIES = {
    "Anti-social behaviour": "public_order",
    "Bicycle theft": "theft",
    "Burglary": "burglary",
    "Criminal damage and arson": "criminal_damage",
    "Drugs": "drugs",
    "Other crime": "other",
    "Other theft": "theft",
    "Possession of weapons": "weapons",
    "Public order": "public_order",
    "Robbery": "robbery",
    "Shoplifting": "theft",
    "Theft from the person": "theft",
    "Vehicle crime": "vehicle_theft",
    "Violence and sexual offences": "assault",
    "Violent crime": "assault",
}


def police_uk() -> ImportProfile:
    """data.police.uk street-level CSVs: month precision, LSOA areas, last outcome."""
    months: dict[str, tuple[datetime, datetime]] = {}

    def month(value: str | None) -> tuple[datetime | None, datetime | None]:
        if value is None:
            return None, None
        cached = months.get(value)
        if cached is None:
            start_local = datetime.strptime(value.strip(), "%Y-%m")
            following = (start_local.replace(day=28) + timedelta(days=4)).replace(day=1)
            cached = (
                to_utc(start_local, LONDON),
                to_utc(following, LONDON) - timedelta(seconds=1),
            )
            months[value] = cached
        return cached

    def extract(row: Row) -> RawIncident:
        start, end = month(_get(row, "Month"))
        outcome = _get(row, "Last outcome category")
        force = _get(row, "Falls within", "Reported by")
        return RawIncident(
            source_id=_get(row, "Crime ID"),
            occurred_from=start,
            occurred_to=end,
            reported_at=None,
            category=row.get("Crime type"),
            lat=row.get("Latitude"),
            lon=row.get("Longitude"),
            area=_get(row, "LSOA name"),
            address=_get(row, "Location"),
            station_id=force,
            status=_police_uk_status(outcome),
            narrative=_get(row, "Context"),
        )

    return ImportProfile(
        name="police_uk",
        source_system="police-uk",
        description="data.police.uk street-level crime CSV",
        required_columns=("Month", "Crime type", "Latitude", "Longitude"),
        extract=extract,
        categories=CategoryMap(POLICE_UK_CATEGORIES),
        default_station="police-uk",
        use_fingerprint=False,
    )


def _police_uk_status(outcome: str | None) -> str | None:
    if outcome is None:
        return None
    lowered = outcome.lower()
    if "under investigation" in lowered or "awaiting court" in lowered:
        return "under_investigation"
    return "closed"


CHICAGO = ZoneInfo("America/Chicago")

CHICAGO_CATEGORIES = {
    "ASSAULT": "assault",
    "BATTERY": "assault",
    "ROBBERY": "robbery",
    "BURGLARY": "burglary",
    "THEFT": "theft",
    "MOTOR VEHICLE THEFT": "vehicle_theft",
    "CRIMINAL DAMAGE": "criminal_damage",
    "ARSON": "criminal_damage",
    "NARCOTICS": "drugs",
    "OTHER NARCOTIC VIOLATION": "drugs",
    "WEAPONS VIOLATION": "weapons",
    "CONCEALED CARRY LICENSE VIOLATION": "weapons",
    "CRIM SEXUAL ASSAULT": "sexual_offence",
    "CRIMINAL SEXUAL ASSAULT": "sexual_offence",
    "SEX OFFENSE": "sexual_offence",
    "PROSTITUTION": "sexual_offence",
    "HUMAN TRAFFICKING": "other",
    "HOMICIDE": "homicide",
    "DECEPTIVE PRACTICE": "fraud",
    "PUBLIC PEACE VIOLATION": "public_order",
    "LIQUOR LAW VIOLATION": "public_order",
    "GAMBLING": "public_order",
    "PUBLIC INDECENCY": "public_order",
    "INTERFERENCE WITH PUBLIC OFFICER": "public_order",
    "CRIMINAL TRESPASS": "other",
    "OFFENSE INVOLVING CHILDREN": "other",
    "STALKING": "other",
    "INTIMIDATION": "other",
    "KIDNAPPING": "other",
    "OBSCENITY": "other",
    "NON-CRIMINAL": "other",
    "NON - CRIMINAL": "other",
    "NON-CRIMINAL (SUBJECT SPECIFIED)": "other",
    "RITUALISM": "other",
    "OTHER OFFENSE": "other",
    "DOMESTIC VIOLENCE": "assault",
}


def chicago() -> ImportProfile:
    """City of Chicago 'Crimes - 2001 to Present' CSV (data portal export)."""
    parse = LocalTimeParser(CHICAGO, ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S.%f"))

    def extract(row: Row) -> RawIncident:
        district = _get(row, "District")
        community = _get(row, "Community Area")
        occurred = _parse_field(parse, _get(row, "Date"), "occurred_from")
        return RawIncident(
            source_id=_get(row, "ID"),
            occurred_from=occurred,
            occurred_to=None,
            reported_at=None,
            category=row.get("Primary Type"),
            lat=row.get("Latitude"),
            lon=row.get("Longitude"),
            area=f"Community Area {int(float(community))}" if community else None,
            premises_type=_get(row, "Location Description"),
            address=_get(row, "Block"),
            station_id=f"CPD-{int(float(district)):03d}" if district else None,
            source_code=_get(row, "IUCR"),
        )

    return ImportProfile(
        name="chicago",
        source_system="chicago-pd",
        description="City of Chicago 'Crimes - 2001 to Present' CSV",
        required_columns=("ID", "Date", "Primary Type", "Latitude", "Longitude"),
        extract=extract,
        categories=CategoryMap(CHICAGO_CATEGORIES),
        default_station="CPD",
    )


MappedField = Literal[
    "source_id",
    "occurred_from",
    "occurred_to",
    "reported_at",
    "category",
    "source_code",
    "lat",
    "lon",
    "area",
    "premises_type",
    "address",
    "station_id",
    "status",
    "narrative",
]


class GenericMapping(BaseModel):
    """The mapping file of the `generic` profile (YAML or JSON).

    Example::

        source_system: county-rms
        timezone: America/New_York
        default_station: ST-1
        datetime_formats: ["%m/%d/%Y %H:%M"]
        columns: {source_id: CaseNo, occurred_from: Date, category: Offence,
                  lat: Y, lon: X, area: Beat}
        categories: {"SIMPLE ASSAULT": assault, "BURGLARY - RESIDENCE": burglary}
        unknown_category: reject   # or: other
    """

    model_config = ConfigDict(extra="forbid")

    source_system: str = Field(min_length=1, max_length=64)
    timezone: str = "UTC"
    default_station: str = Field(default="imported", min_length=1, max_length=64)
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    datetime_formats: list[str] = Field(default_factory=list)
    columns: dict[MappedField, str]
    categories: dict[str, str] = Field(default_factory=dict)
    unknown_category: Literal["reject", "other"] = "reject"
    statuses: dict[str, str] = Field(default_factory=dict)
    dedupe_time_place_category: bool = True

    @field_validator("columns")
    @classmethod
    def _required_columns(cls, value: dict[str, str]) -> dict[str, str]:
        for needed in ("occurred_from", "category"):
            if needed not in value:
                raise ValueError(f"columns must name the {needed} column")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


def load_mapping(text: str) -> GenericMapping:
    """Parse a YAML or JSON mapping file (ProfileError when it is not a valid mapping)."""
    try:
        document: Any = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"the mapping file is not valid YAML/JSON: {exc}") from None
    try:
        return GenericMapping.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ProfileError(f"the mapping file is not valid: {problems}") from None


def generic(mapping: GenericMapping) -> ImportProfile:
    """A profile from a user's column mapping."""
    zone = ZoneInfo(mapping.timezone)
    parse = LocalTimeParser(zone, tuple(mapping.datetime_formats))
    columns = mapping.columns

    def column(row: Row, name: MappedField) -> str | None:
        source = columns.get(name)
        return _get(row, source) if source else None

    def extract(row: Row) -> RawIncident:
        return RawIncident(
            source_id=column(row, "source_id"),
            occurred_from=_parse_field(parse, column(row, "occurred_from"), "occurred_from"),
            occurred_to=_parse_field(parse, column(row, "occurred_to"), "occurred_to"),
            reported_at=_parse_field(parse, column(row, "reported_at"), "reported_at"),
            category=column(row, "category"),
            lat=column(row, "lat"),
            lon=column(row, "lon"),
            area=column(row, "area"),
            premises_type=column(row, "premises_type"),
            address=column(row, "address"),
            station_id=column(row, "station_id"),
            status=column(row, "status"),
            narrative=column(row, "narrative"),
            source_code=column(row, "source_code"),
        )

    try:
        categories = CategoryMap(
            mapping.categories, unknown_to_other=mapping.unknown_category == "other"
        )
    except ValueError as exc:
        raise ProfileError(str(exc)) from None
    return ImportProfile(
        name="generic",
        source_system=mapping.source_system,
        description=f"generic mapping for {mapping.source_system}",
        required_columns=tuple(columns[name] for name in ("occurred_from", "category")),
        extract=extract,
        categories=categories,
        default_station=mapping.default_station,
        statuses={key.lower(): value for key, value in mapping.statuses.items()},
        use_fingerprint=mapping.dedupe_time_place_category,
        delimiter=mapping.delimiter,
    )


class FieldParseError(ValueError):
    """A value of a named field could not be parsed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _parse_field(parse: LocalTimeParser, value: str | None, name: str) -> datetime | None:
    try:
        return parse(value)
    except ValueError as exc:
        raise FieldParseError(name, f"{name}: {exc}") from None


BUILT_IN: dict[str, Callable[[], ImportProfile]] = {
    "toronto_mci": toronto_mci_sample,
    "toronto_mci_official": toronto_mci_official,
    "police_uk": police_uk,
    "chicago": chicago,
}
PROFILE_NAMES = (*BUILT_IN, "generic")


def get_profile(name: str, *, mapping_text: str | None = None) -> ImportProfile:
    """The profile called `name`; `generic` needs the mapping file's text."""
    if name == "generic":
        if mapping_text is None:
            raise ProfileError("the generic profile needs a mapping file (YAML or JSON)")
        return generic(load_mapping(mapping_text))
    factory = BUILT_IN.get(name)
    if factory is None:
        raise ProfileError(f"unknown profile {name!r}; choose one of {', '.join(PROFILE_NAMES)}")
    return factory()


def read_mapping_file(path: Path) -> str:
    """The text of a mapping file given on the command line."""
    return path.read_text(encoding="utf-8")
