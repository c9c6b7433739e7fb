"""Cleaning rules every import applies, whatever the source.

Rules per field (also printed in every import report, see `CLEANING_RULES`):

- occurred_from: required. Missing or unparseable -> row rejected. Before 1900-01-01 or more than
  one day in the future -> rejected. Local times are read in the profile's time zone and stored in
  UTC (an ambiguous time at the end of daylight saving takes the first occurrence).
- occurred_to: optional; missing -> null (a point in time), or the end of the source's time
  precision when the source only gives a month. Earlier than occurred_from -> rejected.
- reported_at: optional; missing -> occurred_to or occurred_from (the earliest it can have been
  reported). Earlier than occurred_from -> rejected.
- category: required. Mapped onto the shared taxonomy through the profile's table; the source's
  own value is kept as source_code. Missing -> rejected; a value the table does not know ->
  rejected (or `other` when the profile says so).
- lat/lon: optional. Both missing, or both exactly 0 (how some publishers withhold a location)
  -> null. Not a number, only one of the two, or outside -90..90 / -180..180 -> rejected.
- area, premises_type, address: optional free text, whitespace collapsed; missing -> null.
- station_id: the source's station/district when it has one, else the profile's default station.
- status: mapped through the profile's table; missing or unknown -> `reported`.
- source_id: the source's own record ID; when the source has none, a deterministic hash of the
  row's content and of how many identical rows came before it in the file, so a re-import finds
  the same IDs.

Duplicates: a row whose (source_system, source_id) is already stored, or already seen earlier in
the file, is merged (not stored again). A row with the same occurrence time, place (coordinates
to 5 decimals, about 1 m) and category as a stored or earlier row is merged as well, for profiles
whose times are precise to the hour or better (month-precise sources would merge distinct
crimes).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from records_service import taxonomy
from records_service.incidents.models import InvestigationStatus

CLEANING_RULES: Final[dict[str, str]] = {
    "occurred_from": (
        "required; missing, unparseable, before 1900 or in the future -> rejected; "
        "local time converted to UTC"
    ),
    "occurred_to": "optional; missing -> null, or end of a month-precise period; "
    "before occurred_from -> rejected",
    "reported_at": "optional; missing -> occurred_to or occurred_from; "
    "before occurred_from -> rejected",
    "category": "required; mapped onto the taxonomy (source value kept as source_code); "
    "missing or unknown -> rejected",
    "lat/lon": "optional; both missing or both 0 -> null; not a number, only one given, "
    "or out of range -> rejected",
    "area/premises_type/address": "optional; whitespace collapsed; missing -> null",
    "station_id": "source station when given, else the profile's default station",
    "status": "mapped; missing or unknown -> reported",
    "source_id": "source record ID, else a deterministic hash of the row content",
    "duplicates": "same source ID, or same time + place + category (hour-precise sources) "
    "-> merged",
}

EARLIEST_OCCURRENCE = datetime(1900, 1, 1, tzinfo=UTC)
_ONE_DAY: Final = timedelta(days=1)
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "nsa", "-"})
_WHITESPACE = re.compile(r"\s+")
VALID_STATUSES = frozenset(s.value for s in InvestigationStatus)


class RowRejected(Exception):
    """A row that cannot be imported; `reason` says why, `field` which column."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(slots=True)
class RawIncident:
    """What a profile extracted from one source row, before the shared cleaning rules."""

    source_id: str | None
    occurred_from: datetime | None
    occurred_to: datetime | None
    reported_at: datetime | None
    category: str | None
    lat: str | None
    lon: str | None
    area: str | None = None
    premises_type: str | None = None
    address: str | None = None
    station_id: str | None = None
    status: str | None = None
    narrative: str | None = None
    # The source's own offence code when it differs from the category text mapped (e.g. IUCR).
    source_code: str | None = None


@dataclass(slots=True)
class CleanIncident:
    """A row ready to be stored as an incident."""

    source_system: str
    source_id: str
    category: str
    source_code: str | None
    occurred_from: datetime
    occurred_to: datetime | None
    reported_at: datetime
    lat: float | None
    lon: float | None
    area: str | None
    premises_type: str | None
    address: str | None
    station_id: str
    status: str
    narrative: str | None
    fingerprint: str | None


_UNSEEN: Final = object()
_TEXTS: dict[str, str | None] = {}
_CACHE_LIMIT = 200_000


def text_or_none(value: str | None) -> str | None:
    """Trimmed text with inner whitespace collapsed; missing markers become None.

    Cached: imported files repeat the same categories, premises and areas on most rows.
    """
    if value is None:
        return None
    cached = _TEXTS.get(value, _UNSEEN)
    if cached is not _UNSEEN:
        return cached  # type: ignore[return-value]
    cleaned: str | None = " ".join(value.split())
    if cleaned is not None and len(cleaned) <= 4 and cleaned.lower() in MISSING_MARKERS:
        cleaned = None
    if len(_TEXTS) < _CACHE_LIMIT:
        _TEXTS[value] = cleaned
    return cleaned


def _collapse(value: str) -> str | None:
    """`text_or_none` without its cache, for values that rarely repeat (IDs, coordinates)."""
    cleaned = " ".join(value.split())
    if len(cleaned) <= 4 and cleaned.lower() in MISSING_MARKERS:
        return None
    return cleaned


class LocalTimeParser:
    """Parse local date-time text in one time zone into UTC, caching repeated values."""

    def __init__(self, zone: tzinfo, formats: tuple[str, ...]) -> None:
        self.zone = zone
        self.formats = formats
        self._cache: dict[str, datetime | None] = {}

    def __call__(self, value: str | None) -> datetime | None:
        """UTC time of `value`; None when missing; ValueError when it matches no format."""
        if value is None:
            return None
        value = value.strip()
        if not value:
            return None
        try:
            cached = self._cache[value]
        except KeyError:
            cached = self._parse(value)
            if len(self._cache) < 200_000:
                self._cache[value] = cached
        if cached is None:
            raise ValueError(f"unrecognised date/time {value!r}")
        return cached

    def _parse(self, value: str) -> datetime | None:
        for fmt in self.formats:
            try:
                parsed = datetime.strptime(value, fmt)
            except ValueError:
                continue
            return to_utc(parsed, self.zone)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return to_utc(parsed, self.zone)


def to_utc(value: datetime, zone: tzinfo) -> datetime:
    """Aware UTC time of `value`; a naive value is read as local time in `zone`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone, fold=0)
    return value.astimezone(UTC)


def parse_coordinate(value: str | None, *, field: str, limit: float) -> float | None:
    """A coordinate in -limit..limit, None when missing; RowRejected when invalid."""
    if value is None:
        return None
    cache = _COORDINATES.setdefault(limit, {})
    known = cache.get(value)
    if known is not None:
        return known
    text = _collapse(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise RowRejected(f"{field} is not a number: {text!r}", field=field) from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise RowRejected(f"{field} out of range (-{limit:g}..{limit:g}): {text}", field=field)
    if len(cache) < _CACHE_LIMIT:
        cache[value] = number
    return number


# Valid coordinates already parsed, per range limit (only valid values are cached).
_COORDINATES: dict[float, dict[str, float]] = {}


def row_hash(values: list[str]) -> str:
    """Deterministic content hash of a row (the ID of rows from sources without IDs)."""
    digest = hashlib.sha256("\x1f".join(values).encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:32]


def fingerprint(
    *, occurred_from: datetime, lat: float | None, lon: float | None, category: str
) -> str | None:
    """Same time, place and category: the key of the second duplicate rule (None if no place)."""
    if lat is None or lon is None:
        return None
    minute = _MINUTES.get(occurred_from)
    if minute is None:
        minute = occurred_from.isoformat(timespec="minutes")[:16]
        if len(_MINUTES) < 500_000:
            _MINUTES[occurred_from] = minute
    return f"{minute}|{lat:.5f}|{lon:.5f}|{category}"


_MINUTES: dict[datetime, str] = {}


@dataclass
class CategoryMap:
    """A source's category values onto taxonomy slugs (matching ignores case and spacing)."""

    mapping: dict[str, str]
    unknown_to_other: bool = False

    def __post_init__(self) -> None:
        self._normalised = {_key(source): slug for source, slug in self.mapping.items()}
        self._seen: dict[str, str] = {}
        bad = sorted({slug for slug in self._normalised.values() if not taxonomy.is_category(slug)})
        if bad:
            raise ValueError(f"category mapping targets unknown taxonomy slugs: {', '.join(bad)}")

    def __call__(self, value: str) -> str:
        known = self._seen.get(value)
        if known is not None:
            return known
        slug = self._lookup(value)
        if len(self._seen) < 10_000:
            self._seen[value] = slug
        return slug

    def _lookup(self, value: str) -> str:
        key = _key(value)
        slug = self._normalised.get(key)
        if slug is None and taxonomy.is_category(key.replace(" ", "_")):
            slug = key.replace(" ", "_")
        if slug is None:
            if self.unknown_to_other:
                return "other"
            raise RowRejected(f"unknown category {value!r}", field="category")
        return slug


def _key(value: str) -> str:
    return _WHITESPACE.sub(" ", value).strip().lower()


def clean(
    raw: RawIncident,
    *,
    source_system: str,
    categories: CategoryMap,
    statuses: dict[str, str],
    default_station: str,
    now: datetime,
    use_fingerprint: bool,
) -> CleanIncident:
    """Apply the shared rules to one extracted row (RowRejected when it cannot be stored)."""
    return Cleaner(
        source_system=source_system,
        categories=categories,
        statuses=statuses,
        default_station=default_station,
        now=now,
        use_fingerprint=use_fingerprint,
    )(raw)


_REPORTED: Final = InvestigationStatus.REPORTED.value


class Cleaner:
    """The shared rules bound to one import's settings, applied row by row (see `clean`).

    Imports call this once per row, so the common case (values seen before in the file) is a
    few dictionary lookups: the caches of `text_or_none`, `parse_coordinate` and the category
    map are read inline here.
    """

    def __init__(
        self,
        *,
        source_system: str,
        categories: CategoryMap,
        statuses: dict[str, str],
        default_station: str,
        now: datetime,
        use_fingerprint: bool,
    ) -> None:
        self.source_system = source_system
        self.categories = categories
        self.statuses = statuses
        self.default_station = default_station
        self.latest = now + _ONE_DAY
        self.use_fingerprint = use_fingerprint
        self._lats = _COORDINATES.setdefault(90.0, {})
        self._lons = _COORDINATES.setdefault(180.0, {})

    def __call__(self, raw: RawIncident) -> CleanIncident:
        """The clean incident of `raw` (RowRejected when it cannot be stored)."""
        occurred_from = raw.occurred_from
        if occurred_from is None:
            raise RowRejected("missing occurrence time", field="occurred_from")
        if occurred_from < EARLIEST_OCCURRENCE:
            raise RowRejected(
                f"occurrence time before 1900: {occurred_from:%Y-%m-%d}", field="occurred_from"
            )
        if occurred_from > self.latest:
            raise RowRejected(
                f"occurrence time in the future: {occurred_from.isoformat()}",
                field="occurred_from",
            )
        occurred_to = raw.occurred_to
        if occurred_to is not None and occurred_to < occurred_from:
            raise RowRejected("occurrence end before its start", field="occurred_to")
        reported_at = raw.reported_at or occurred_to or occurred_from
        if reported_at < occurred_from:
            raise RowRejected("reported before it occurred", field="reported_at")

        # `texts.get(value) or text_or_none(value)`: the cached cleaned text, else the full rule
        # (which also answers cached missing markers).
        texts = _TEXTS
        value = raw.category
        source_code = None if value is None else texts.get(value) or text_or_none(value)
        if source_code is None:
            raise RowRejected("missing category", field="category")
        category = self.categories._seen.get(source_code) or self.categories(source_code)
        if raw.source_code is not None:
            source_code = text_or_none(raw.source_code) or source_code

        value = raw.lat
        lat = None if value is None else self._lats.get(value)
        if lat is None and value is not None:
            lat = parse_coordinate(value, field="lat", limit=90.0)
        value = raw.lon
        lon = None if value is None else self._lons.get(value)
        if lon is None and value is not None:
            lon = parse_coordinate(value, field="lon", limit=180.0)
        if (lat is None) != (lon is None):
            raise RowRejected("only one of lat/lon given", field="lat" if lat is None else "lon")
        if lat == 0.0 and lon == 0.0:
            lat = lon = None

        status = _REPORTED
        if raw.status is not None:
            status_text = text_or_none(raw.status)
            if status_text is not None:
                lowered = status_text.lower()
                if lowered in VALID_STATUSES:
                    status = lowered
                else:
                    status = self.statuses.get(lowered, status)
                if status not in VALID_STATUSES:
                    status = _REPORTED

        source_id = None if raw.source_id is None else _collapse(raw.source_id)
        if source_id is None:
            raise RowRejected("missing source record ID", field="source_id")

        value = raw.area
        area = None if value is None else texts.get(value) or text_or_none(value)
        value = raw.premises_type
        premises_type = None if value is None else texts.get(value) or text_or_none(value)
        address = None if raw.address is None else text_or_none(raw.address)
        station_id = None if raw.station_id is None else text_or_none(raw.station_id)

        print_ = None
        if self.use_fingerprint and lat is not None and lon is not None:
            minute = _MINUTES.get(occurred_from)
            if minute is None:
                minute = occurred_from.isoformat(timespec="minutes")[:16]
                if len(_MINUTES) < 500_000:
                    _MINUTES[occurred_from] = minute
            print_ = f"{minute}|{lat:.5f}|{lon:.5f}|{category}"
        return CleanIncident(
            self.source_system,
            source_id[:128],
            category,
            source_code[:64],
            occurred_from,
            occurred_to,
            reported_at,
            lat,
            lon,
            area[:200] if area is not None else None,
            premises_type[:100] if premises_type is not None else None,
            address[:500] if address is not None else None,
            station_id[:64] if station_id else self.default_station,
            status,
            None if raw.narrative is None else text_or_none(raw.narrative),
            print_,
        )
