"""A synthetic city whose incidents have the patterns real crime data shows.

- Spatial clustering: most incidents come from a dozen hotspots (a nightlife strip, a shopping
  mall, a station car park, residential streets...), each a Gaussian blob of a few hundred metres
  with its own mix of offences; the rest fall anywhere in the city.
- Weekly seasonality: more on Fridays and Saturdays; each offence has its own hours (assaults at
  night, burglaries in the daytime, vehicle crime in the evening).
- Yearly seasonality: a summer peak and a winter low.
- Near-repeat victimisation: a burglary or theft from a vehicle raises the chance of another of
  the same kind within about 200 m over the following days (a branching process).

Everything comes from one seeded generator: the same seed and end date give the same incidents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from records_service.imports.cleaning import CleanIncident, fingerprint

SOURCE_SYSTEM = "demo-generator"
CENTER_LAT = 43.700
CENTER_LON = -79.400
METRES_PER_DEG_LAT = 111_320.0
METRES_PER_DEG_LON = METRES_PER_DEG_LAT * math.cos(math.radians(CENTER_LAT))
CITY_HALF_WIDTH_M = 8_000.0
CITY_HALF_HEIGHT_M = 6_000.0

AREAS = (
    ("Northgate", "Hillcrest", "Kingsmere", "Eastfield"),
    ("Westbrook", "Old Town", "Market Square", "Riverside"),
    ("Harbourfront", "Dockside", "Southvale", "Lakeshore"),
)
STATIONS = ("ST-1", "ST-2", "ST-3", "ST-4")

# Hour-of-day weights (24 values) per offence.
_NIGHT = [6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8, 8]
_DAY = [1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2, 2, 1, 1]
_AFTERNOON = [1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8, 7, 6, 5, 3, 2, 2, 1]
_EVENING = [4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 5, 6, 7, 7, 6, 5]
HOURS: dict[str, list[int]] = {
    "assault": _NIGHT,
    "robbery": _NIGHT,
    "burglary": _DAY,
    "theft": _AFTERNOON,
    "vehicle_theft": _EVENING,
    "theft_from_vehicle": _EVENING,
    "criminal_damage": _NIGHT,
    "drugs": _EVENING,
    "public_order": _NIGHT,
    "fraud": _DAY,
}
PREMISES: dict[str, tuple[str, ...]] = {
    "assault": ("Outside", "Commercial", "Apartment"),
    "robbery": ("Outside", "Commercial", "Transit"),
    "burglary": ("House", "Apartment", "Commercial"),
    "theft": ("Commercial", "Outside", "Transit"),
    "vehicle_theft": ("Outside", "House"),
    "theft_from_vehicle": ("Outside", "Commercial"),
    "criminal_damage": ("Outside", "House", "Commercial"),
    "drugs": ("Outside", "Transit"),
    "public_order": ("Outside", "Commercial"),
    "fraud": ("Commercial", "Other"),
}
# Monday .. Sunday.
WEEKDAY_FACTOR = (0.88, 0.9, 0.93, 0.98, 1.16, 1.25, 1.05)
NEAR_REPEAT = {"burglary": 0.32, "theft_from_vehicle": 0.25}
NEAR_REPEAT_METRES = 120.0
NEAR_REPEAT_MEAN_DAYS = 4.0


@dataclass(frozen=True)
class Hotspot:
    name: str
    east_m: float
    north_m: float
    spread_m: float
    weight: float
    mix: dict[str, float]


HOTSPOTS = (
    Hotspot("entertainment strip", 500, -1_500, 250, 3.0,
            {"assault": 5, "robbery": 2, "public_order": 3, "criminal_damage": 1, "drugs": 1}),
    Hotspot("central station", -300, -600, 200, 2.0,
            {"theft": 4, "robbery": 2, "assault": 1, "drugs": 2}),
    Hotspot("shopping mall", 3_500, 800, 300, 2.5,
            {"theft": 6, "theft_from_vehicle": 2, "fraud": 2, "vehicle_theft": 1}),
    Hotspot("market square", 1_200, -300, 220, 1.5,
            {"theft": 4, "robbery": 1, "fraud": 1, "assault": 1}),
    Hotspot("stadium car park", -4_000, 2_500, 350, 1.2,
            {"vehicle_theft": 4, "theft_from_vehicle": 4, "criminal_damage": 1}),
    Hotspot("westbrook estates", -5_500, -500, 600, 1.4,
            {"burglary": 5, "vehicle_theft": 1, "criminal_damage": 1}),
    Hotspot("hillcrest homes", -1_500, 3_800, 700, 1.1,
            {"burglary": 5, "theft_from_vehicle": 1}),
    Hotspot("dockside warehouses", 2_000, -4_200, 500, 0.9,
            {"burglary": 2, "criminal_damage": 2, "drugs": 2, "vehicle_theft": 1}),
    Hotspot("university quarter", 5_500, 3_500, 400, 1.0,
            {"theft": 3, "assault": 1, "burglary": 2, "drugs": 1}),
    Hotspot("lakeshore park", 5_000, -3_800, 450, 0.8,
            {"assault": 2, "drugs": 2, "public_order": 2, "robbery": 1}),
)  # fmt: skip
BACKGROUND_SHARE = 0.25
BACKGROUND_MIX = {
    "assault": 3, "theft": 3, "burglary": 3, "criminal_damage": 2, "vehicle_theft": 2,
    "theft_from_vehicle": 2, "fraud": 1, "robbery": 1, "drugs": 1, "public_order": 1,
}  # fmt: skip


def area_of(east_m: float, north_m: float) -> str:
    """The neighbourhood (a 4 x 3 grid over the city) of a point."""
    column = min(3, max(0, int((east_m + CITY_HALF_WIDTH_M) / (2 * CITY_HALF_WIDTH_M) * 4)))
    row = min(2, max(0, int((CITY_HALF_HEIGHT_M - north_m) / (2 * CITY_HALF_HEIGHT_M) * 3)))
    return AREAS[row][column]


def station_of(east_m: float, north_m: float) -> str:
    """Four stations, one per quadrant."""
    return STATIONS[(0 if north_m >= 0 else 2) + (0 if east_m < 0 else 1)]


def _pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def generate(
    *, seed: int = 20261129, count: int = 40_000, end: date | None = None, days: int = 730
) -> list[CleanIncident]:
    """About `count` incidents over the `days` before `end` (default: today, UTC)."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).date()
    start = datetime(end.year, end.month, end.day, tzinfo=UTC) - timedelta(days=days)
    # Daily intensity: yearly (peak in July) x weekly seasonality.
    day_weights = np.empty(days)
    for offset in range(days):
        day = start + timedelta(days=offset)
        yearly = 1.0 + 0.28 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365.25)
        day_weights[offset] = yearly * WEEKDAY_FACTOR[day.weekday()]
    day_p = day_weights / day_weights.sum()
    hour_p = {k: np.array(v, dtype=float) / sum(v) for k, v in HOURS.items()}
    hotspot_p = np.array([h.weight for h in HOTSPOTS]) / sum(h.weight for h in HOTSPOTS)

    events: list[tuple[datetime, float, float, str]] = []
    # Near repeats add about a tenth on top of the first-generation events.
    first_generation = int(count / 1.1)
    for _ in range(first_generation):
        if rng.random() < BACKGROUND_SHARE:
            east = float(rng.uniform(-CITY_HALF_WIDTH_M, CITY_HALF_WIDTH_M))
            north = float(rng.uniform(-CITY_HALF_HEIGHT_M, CITY_HALF_HEIGHT_M))
            category = _pick(rng, BACKGROUND_MIX)
        else:
            hotspot = HOTSPOTS[int(rng.choice(len(HOTSPOTS), p=hotspot_p))]
            east = float(rng.normal(hotspot.east_m, hotspot.spread_m))
            north = float(rng.normal(hotspot.north_m, hotspot.spread_m))
            category = _pick(rng, hotspot.mix)
        day_offset = int(rng.choice(days, p=day_p))
        hour = int(rng.choice(24, p=hour_p[category]))
        minute = int(rng.integers(0, 60))
        when = start + timedelta(days=day_offset, hours=hour, minutes=minute)
        events.append((when, east, north, category))
    # Near-repeat: each burglary / theft from vehicle may trigger another nearby, soon after.
    queue = [e for e in events if e[3] in NEAR_REPEAT]
    horizon = start + timedelta(days=days)
    while queue and len(events) < count:
        when, east, north, category = queue.pop()
        if rng.random() >= NEAR_REPEAT[category]:
            continue
        later = when + timedelta(days=float(rng.exponential(NEAR_REPEAT_MEAN_DAYS)))
        later = later.replace(
            hour=int(rng.choice(24, p=hour_p[category])), minute=int(rng.integers(0, 60))
        )
        if later >= horizon:
            continue
        child = (
            later,
            east + float(rng.normal(0, NEAR_REPEAT_METRES)),
            north + float(rng.normal(0, NEAR_REPEAT_METRES)),
            category,
        )
        events.append(child)
        queue.append(child)
    events.sort(key=lambda e: e[0])
    incidents = []
    today = datetime(end.year, end.month, end.day, tzinfo=UTC)
    for number, (when, east, north, category) in enumerate(events):
        lat = round(CENTER_LAT + north / METRES_PER_DEG_LAT, 6)
        lon = round(CENTER_LON + east / METRES_PER_DEG_LON, 6)
        age_days = (today - when).days
        closed_p = min(0.85, age_days / 200)
        status_draw = rng.random()
        status = (
            "closed" if status_draw < closed_p
            else "under_investigation" if status_draw < closed_p + 0.3
            else "reported"
        )  # fmt: skip
        reported = when + timedelta(minutes=int(rng.exponential(180)))
        incidents.append(
            CleanIncident(
                source_system=SOURCE_SYSTEM,
                source_id=f"demo-{seed}-{number:07d}",
                category=category,
                source_code=None,
                occurred_from=when,
                occurred_to=None,
                reported_at=min(reported, max(when, today)),
                lat=lat,
                lon=lon,
                area=area_of(east, north),
                premises_type=PREMISES[category][int(rng.integers(0, len(PREMISES[category])))],
                address=None,
                station_id=station_of(east, north),
                status=status,
                narrative=None,
                fingerprint=fingerprint(occurred_from=when, lat=lat, lon=lon, category=category),
            )
        )
    return incidents
