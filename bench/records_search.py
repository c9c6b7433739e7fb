"""Records search at scale, through the real HTTP service, on SQLite and PostgreSQL.

    uv run python bench/records_search.py                       # 1,000,000 incidents, 500,000 persons
    uv run python bench/records_search.py --incidents 100000 --persons 50000 --database sqlite

Loads the data with fast bulk SQL (executemany on SQLite, COPY on PostgreSQL; not through the
API), starts `python -m servicekit.serve records_service.main:create_app` against it, and times
sequential requests from one client: search by crime ID (exact), by a misspelt full name and a
misspelt surname (one edit: swap, drop or change a letter), and by filters (category + station +
90 days; bounding box + 30 days). Prints p50/p95 and writes bench/results/records_search.md.
The data are synthetic (seeded): names from a syllable generator, incidents spread over
2014-2025 around Toronto. Target: p95 of a name search at most 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records_service.db import MIGRATIONS_PATH
from records_service.persons.search import normalize_name, search_text_for, terms_of
from records_service.taxonomy import SLUGS
from servicekit.migrations import upgrade_to_head

RESULTS = Path(__file__).resolve().parent / "results" / "records_search.md"
ISSUER, AUDIENCE, KID = "stationhouse-auth", "stationhouse", "bench-key"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"

GIVEN = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "christopher",
    "lisa",
    "daniel",
    "nancy",
    "matthew",
    "betty",
    "anthony",
    "margaret",
    "mark",
    "sandra",
    "donald",
    "ashley",
    "steven",
    "kimberly",
    "paul",
    "emily",
    "andrew",
    "donna",
    "joshua",
    "michelle",
    "kenneth",
    "carol",
    "kevin",
    "amanda",
    "brian",
    "dorothy",
    "george",
    "melissa",
    "timothy",
    "deborah",
    "ronald",
    "stephanie",
    "edward",
    "rebecca",
    "jason",
    "sharon",
    "jeffrey",
    "laura",
    "ryan",
    "cynthia",
    "jacob",
    "kathleen",
    "gary",
    "amy",
    "nicholas",
    "angela",
    "eric",
    "shirley",
    "jonathan",
    "anna",
    "stephen",
    "brenda",
    "larry",
    "pamela",
    "justin",
    "emma",
    "scott",
    "nicole",
    "brandon",
    "helen",
    "benjamin",
    "samantha",
    "samuel",
    "katherine",
    "gregory",
    "christine",
    "alexander",
    "debra",
    "frank",
    "rachel",
    "patrick",
    "carolyn",
    "raymond",
    "janet",
    "jack",
    "catherine",
    "dennis",
    "maria",
    "jerry",
    "heather",
    "tyler",
    "diane",
    "aaron",
    "ruth",
    "jose",
    "julie",
    "adam",
    "olivia",
    "henry",
    "joyce",
    "nathan",
    "virginia",
    "douglas",
    "victoria",
    "zachary",
    "kelly",
    "peter",
    "lauren",
    "kyle",
    "christina",
    "ethan",
    "joan",
    "walter",
    "evelyn",
    "noah",
    "judith",
    "jeremy",
    "megan",
    "christian",
    "andrea",
    "keith",
    "cheryl",
    "roger",
    "hannah",
    "terry",
    "jacqueline",
    "gerald",
    "martha",
    "harold",
    "gloria",
    "sean",
    "teresa",
    "austin",
    "ann",
    "carl",
    "sara",
    "arthur",
    "madison",
    "lawrence",
    "frances",
    "dylan",
    "kathryn",
    "jesse",
    "janice",
    "jordan",
    "jean",
    "bryan",
    "abigail",
    "billy",
    "alice",
    "joe",
    "judy",
    "bruce",
    "sophia",
    "gabriel",
    "grace",
    "logan",
    "denise",
    "amara",
    "chidi",
    "wei",
    "mei",
    "hiroshi",
    "yuki",
    "ravi",
    "priya",
    "mohammed",
    "fatima",
    "ahmed",
    "aisha",
    "omar",
    "layla",
    "ivan",
    "olga",
    "dmitri",
    "sven",
    "ingrid",
    "lars",
    "astrid",
    "pierre",
    "amelie",
    "luca",
    "giulia",
    "mateo",
    "lucia",
    "diego",
    "camila",
    "kwame",
    "akosua",
    "tariq",
    "zainab",
]
SYLLABLES_A = [
    "ab",
    "ad",
    "al",
    "an",
    "ar",
    "as",
    "ba",
    "be",
    "bo",
    "br",
    "ca",
    "ch",
    "co",
    "da",
    "de",
    "do",
    "el",
    "er",
    "fa",
    "fe",
    "fi",
    "ga",
    "ge",
    "go",
    "ha",
    "he",
    "ho",
    "ja",
    "jo",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "me",
    "mi",
    "mo",
    "na",
    "ne",
    "ni",
    "no",
    "ok",
    "ol",
    "or",
    "pa",
    "pe",
    "pi",
    "po",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "va",
    "ve",
    "vi",
    "wa",
    "we",
    "wi",
    "ya",
    "yo",
    "za",
    "ze",
]
SYLLABLES_B = [
    "ber",
    "bri",
    "can",
    "dal",
    "den",
    "der",
    "dor",
    "fer",
    "gan",
    "gar",
    "han",
    "kin",
    "lan",
    "lar",
    "len",
    "ley",
    "lin",
    "lon",
    "man",
    "mar",
    "mer",
    "min",
    "mon",
    "nar",
    "ner",
    "nik",
    "ran",
    "ren",
    "rin",
    "ron",
    "san",
    "sel",
    "sen",
    "son",
    "ster",
    "tan",
    "ten",
    "ter",
    "ton",
    "van",
    "ven",
    "vin",
    "war",
    "wen",
]
SUFFIXES = [
    "s",
    "son",
    "sen",
    "ez",
    "es",
    "ov",
    "ova",
    "ski",
    "ska",
    "ic",
    "ich",
    "ko",
    "ka",
    "ian",
    "yan",
    "ez",
    "ani",
    "ini",
    "oglu",
    "berg",
    "stein",
    "man",
    "mann",
    "ley",
    "ton",
    "ford",
    "well",
    "wood",
    "field",
    "er",
]
STREETS = [
    "King",
    "Queen",
    "Yonge",
    "Bloor",
    "Dundas",
    "College",
    "Bathurst",
    "Spadina",
    "Jarvis",
    "Parliament",
]
PREMISES = ["House", "Apartment", "Commercial", "Outside", "Transit", "Educational", "Other"]


def surname_pool(rng: random.Random, size: int) -> list[str]:
    names: set[str] = set()
    while len(names) < size:
        parts = [rng.choice(SYLLABLES_A), rng.choice(SYLLABLES_B)]
        if rng.random() < 0.6:
            parts.append(rng.choice(SUFFIXES))
        names.add("".join(parts))
    return sorted(names)


def typo(word: str, rng: random.Random) -> str:
    """One edit, not on the first letter: swap two letters, drop one, or change one."""
    if len(word) < 4:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "change"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    letters = [c for c in "abcdefghiklmnoprstuvy" if c != word[i]]
    return word[:i] + rng.choice(letters) + word[i + 1 :]


# ---------------------------------------------------------------------------------- data


class Dataset:
    """Seeded synthetic incidents and persons, generated in chunks."""

    def __init__(self, *, incidents: int, persons: int, seed: int = 7) -> None:
        self.incidents = incidents
        self.persons = persons
        self.seed = seed
        rng = random.Random(seed)
        self.surnames = surname_pool(rng, 40_000)
        self.crime_ids: list[str] = []
        self.person_sample: list[tuple[str, str, str]] = []
        self.year_counts: dict[int, int] = {}
        self.start = datetime(2014, 1, 1, tzinfo=UTC)
        self.span_seconds = int((datetime(2025, 12, 31, tzinfo=UTC) - self.start).total_seconds())

    def incident_rows(self, chunk: int) -> Any:
        rng = random.Random(self.seed + 1)
        weights = [30, 8, 14, 20, 9, 10, 8, 4, 3, 2, 1, 6, 4, 2]
        stations = [f"ST-{n}" for n in range(1, 18)]
        areas = [f"Neighbourhood {n}" for n in range(1, 141)]
        now = datetime(2026, 1, 1, tzinfo=UTC)
        batch: list[tuple[Any, ...]] = []
        for n in range(1, self.incidents + 1):
            occurred = self.start + timedelta(seconds=rng.randrange(self.span_seconds))
            reported = occurred + timedelta(minutes=rng.randrange(10, 4000))
            year = reported.year
            seq = self.year_counts.get(year, 0) + 1
            self.year_counts[year] = seq
            crime_id = f"CR-{year}-{seq:06d}"
            if rng.random() < 2000 / self.incidents:
                self.crime_ids.append(crime_id)
            category = rng.choices(SLUGS, weights=weights)[0]
            lat = round(43.58 + rng.random() * 0.28, 6)
            lon = round(-79.64 + rng.random() * 0.46, 6)
            batch.append((
                str(uuid.UUID(int=rng.getrandbits(128), version=4)), crime_id, category,
                category.upper()[:10], occurred, occurred + timedelta(hours=1), reported,
                f"{rng.randrange(1, 999)} {rng.choice(STREETS)} St", lat, lon, rng.choice(areas),
                rng.choice(PREMISES), "Synthetic narrative for benchmarking.",
                rng.choice(stations), f"pc-{rng.randrange(1, 500)}",
                rng.choice(("draft", "submitted", "approved", "approved", "approved")),
                rng.choice(("reported", "under_investigation", "closed")),
                rng.random() < 0.001, 1, now, now, n,
            ))  # fmt: skip
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch

    def person_rows(self, chunk: int) -> Any:
        rng = random.Random(self.seed + 2)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        batch: list[tuple[Any, ...]] = []
        sample_every = max(1, self.persons // 2000)
        for n in range(1, self.persons + 1):
            given = rng.choice(GIVEN).capitalize()
            family = rng.choice(self.surnames).capitalize()
            aliases = [f"{given[:3]}y {family}"] if rng.random() < 0.1 else []
            person_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            dob = (datetime(1940, 1, 1) + timedelta(days=rng.randrange(29_000))).date()
            if n % sample_every == 0:
                self.person_sample.append((person_id, given, family))
            batch.append((
                person_id, given, family, json.dumps(aliases), "[]", dob,
                normalize_name(f"{given} {family}"), search_text_for(given, family, aliases),
                f"ST-{rng.randrange(1, 18)}", 1, now, now,
            ))  # fmt: skip
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch


INCIDENT_COLUMNS = (
    "id, crime_id, category, source_code, occurred_from, occurred_to, reported_at, address, lat, "
    "lon, area, premises_type, narrative, station_id, reporting_officer, review_status, status, "
    "sealed, version, created_at, updated_at, change_seq"
)
PERSON_COLUMNS = (
    "id, given_name, family_name, aliases, identifiers, date_of_birth, name_key, search_text, "
    "station_id, version, created_at, updated_at"
)


class Vocabulary:
    """person_name_terms / person_terms rows, built beside the persons (what the service keeps
    up to date on every create and edit)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def postings(self, batch: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        rows = []
        for row in batch:
            for word in sorted(terms_of(row[7])):
                term_id = self.ids.setdefault(word, len(self.ids) + 1)
                rows.append((term_id, row[0]))
        return rows


def _counters(data: Dataset) -> list[tuple[str, int]]:
    rows = [(f"crime_id:{year}", count) for year, count in data.year_counts.items()]
    rows += [("incident_change", data.incidents)]
    return rows


def load_sqlite(path: Path, data: Dataset) -> float:
    import sqlite3

    started = time.perf_counter()
    upgrade_to_head(MIGRATIONS_PATH, f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")

    def ts(value: datetime) -> str:
        # SQLAlchemy's SQLite DateTime text form, UTC (what UTCDateTime stores).
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    placeholders = ", ".join("?" * len(INCIDENT_COLUMNS.split(",")))
    for batch in data.incident_rows(50_000):
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO incidents ({INCIDENT_COLUMNS}) VALUES ({placeholders})",
            [
                (*r[:4], ts(r[4]), ts(r[5]), ts(r[6]), *r[7:19], ts(r[19]), ts(r[20]), r[21])
                for r in batch
            ],
        )
        conn.execute("COMMIT")
        print(f"  sqlite incidents {batch[-1][-1]:,}", end="\r", flush=True)
    placeholders = ", ".join("?" * len(PERSON_COLUMNS.split(",")))
    vocabulary, loaded = Vocabulary(), 0
    for batch in data.person_rows(50_000):
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO persons ({PERSON_COLUMNS}) VALUES ({placeholders})",
            [(*r[:5], r[5].isoformat(), *r[6:10], ts(r[10]), ts(r[11])) for r in batch],
        )
        conn.executemany(
            "INSERT INTO person_terms (term_id, person_id) VALUES (?, ?)",
            vocabulary.postings(batch),
        )
        conn.execute("COMMIT")
        loaded += len(batch)
        print(f"  sqlite persons {loaded:,}      ", end="\r", flush=True)
    # person_terms references person_name_terms: written after, in one transaction.
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO person_name_terms (id, term) VALUES (?, ?)",
        [(i, word) for word, i in vocabulary.ids.items()],
    )
    conn.execute("COMMIT")
    conn.executemany("INSERT INTO counters (name, value) VALUES (?, ?)", _counters(data))
    conn.execute("INSERT INTO person_name_terms_fts(person_name_terms_fts) VALUES ('optimize')")
    conn.execute("ANALYZE")
    conn.close()
    print()
    return time.perf_counter() - started


def load_postgres(url: str, data: Dataset) -> float:
    import psycopg

    started = time.perf_counter()
    upgrade_to_head(MIGRATIONS_PATH, url)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        vocabulary, loaded = Vocabulary(), 0
        with conn.cursor() as cur:
            for batch in data.incident_rows(50_000):
                with cur.copy(f"COPY incidents ({INCIDENT_COLUMNS}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
                print(f"  postgres incidents {batch[-1][-1]:,}", end="\r", flush=True)
            postings: list[tuple[int, str]] = []
            for batch in data.person_rows(50_000):
                with cur.copy(f"COPY persons ({PERSON_COLUMNS}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
                postings += vocabulary.postings(batch)
                loaded += len(batch)
                print(f"  postgres persons {loaded:,}      ", end="\r", flush=True)
            with cur.copy("COPY person_name_terms (id, term) FROM STDIN") as copy:
                for word, term_id in vocabulary.ids.items():
                    copy.write_row((term_id, word))
            with cur.copy("COPY person_terms (term_id, person_id) FROM STDIN") as copy:
                for row in postings:
                    copy.write_row(row)
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('person_name_terms', 'id'), %s)",
                (max(len(vocabulary.ids), 1),),
            )
            cur.executemany("INSERT INTO counters (name, value) VALUES (%s, %s)", _counters(data))
        print()
        for table in ("incidents", "persons", "person_name_terms", "person_terms"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def sample_existing(url: str, data: Dataset) -> None:
    """Crime IDs and persons to look for, from data a previous run loaded."""
    from sqlalchemy import create_engine, text

    from servicekit.db import normalize_url

    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        data.incidents = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        data.persons = conn.execute(text("SELECT count(*) FROM persons")).scalar_one()
        data.crime_ids = list(
            conn.execute(
                text(
                    "SELECT crime_id FROM incidents WHERE sealed = :f ORDER BY random() LIMIT 2000"
                ),
                {"f": False},
            ).scalars()
        )
        data.person_sample = [
            (row[0], row[1], row[2])
            for row in conn.execute(
                text("SELECT id, given_name, family_name FROM persons ORDER BY random() LIMIT 2000")
            )
        ]
    engine.dispose()


# ------------------------------------------------------------------------------ service


class Keys:
    def __init__(self) -> None:
        self.private = Ed25519PrivateKey.generate()
        jwk = jwt.algorithms.OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        jwk.update({"kid": KID, "alg": "EdDSA", "use": "sig"})
        self.jwks = {"keys": [jwk]}

    def token(self, role: str, station: str | None = "ST-1") -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": f"bench-{role}", "iat": now,
                  "exp": now + 3600, "jti": uuid.uuid4().hex, "roles": [role],
                  "station_id": station}  # fmt: skip
        return jwt.encode(claims, self.private, algorithm="EdDSA",
                          headers={"kid": KID, "typ": "at+jwt"})  # fmt: skip


def serve_jwks(keys: Keys) -> tuple[HTTPServer, str]:
    body = json.dumps(keys.jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_service(database_url: str, jwks_url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RECORDS_DATABASE_URL": database_url, "RECORDS_JWKS_URL": jwks_url,
           "RECORDS_LOG_LEVEL": "WARNING", "RECORDS_DOCUMENTS_DIR": str(workdir / "documents")}  # fmt: skip
    log = (workdir / "records.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "servicekit.serve", "records_service.main:create_app",
         "--port", str(port)], env=env, stdout=log, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("records service did not become ready; see " + str(workdir / "records.log"))


# ------------------------------------------------------------------------------ queries


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVICE_PID: dict[str, int] = {}
CPU_PER_REQUEST: dict[int, float] = {}


def measure(client: httpx.Client, requests: list[tuple[str, dict[str, Any]]]) -> list[float]:
    for path, params in requests[:10]:  # warm-up
        client.get(path, params=params)
    pid = SERVICE_PID.get("pid")
    cpu_before = cpu_seconds(pid) if pid else 0.0
    times = []
    for path, params in requests:
        started = time.perf_counter()
        response = client.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params} -> {response.status_code} {response.text[:200]}")
    if pid:
        # What the service itself spent per request, whatever else the machine was doing.
        CPU_PER_REQUEST[id(times)] = (cpu_seconds(pid) - cpu_before) * 1000 / len(requests)
    return times


def run_queries(url: str, keys: Keys, data: Dataset, count: int) -> dict[str, Any]:
    rng = random.Random(11)
    officer = {"Authorization": f"Bearer {keys.token('officer')}"}
    results: dict[str, Any] = {}
    with httpx.Client(base_url=url, headers=officer, timeout=30) as client:
        crime = [("/api/v1/records/incidents", {"crime_id": rng.choice(data.crime_ids)})
                 for _ in range(count)]  # fmt: skip
        results["crime ID (exact)"] = measure(client, crime)

        def name_queries(surname_only: bool) -> tuple[list, list[tuple[str, str]]]:
            queries, targets = [], []
            for _ in range(count):
                person_id, given, family = rng.choice(data.person_sample)
                text = typo(family, rng) if surname_only else f"{given} {typo(family, rng)}"
                queries.append(("/api/v1/records/persons", {"name": text, "limit": 10}))
                targets.append((person_id, family))
            return queries, targets

        for label, surname_only in (("misspelt full name", False), ("misspelt surname", True)):
            queries, targets = name_queries(surname_only)
            results[label] = measure(client, queries)
            found = 0
            for (path, params), (target, family) in zip(queries, targets, strict=True):
                items = client.get(path, params=params).json()["items"]
                if surname_only:  # a dozen persons share a surname: any of them is a hit
                    found += any(item["family_name"] == family for item in items)
                else:
                    found += any(item["id"] == target for item in items)
            results[label + " recall@10"] = found / len(queries)

        def window(days: int) -> dict[str, str]:
            start = data.start + timedelta(seconds=rng.randrange(data.span_seconds - days * 86400))
            return {"occurred_after": start.isoformat(),
                    "occurred_before": (start + timedelta(days=days)).isoformat()}  # fmt: skip

        filters = [("/api/v1/records/incidents", {"category": rng.choice(SLUGS[:6]),
                    "station_id": f"ST-{rng.randrange(1, 18)}", **window(90)})
                   for _ in range(count)]  # fmt: skip
        results["filters: category + station + 90 days"] = measure(client, filters)
        boxes = []
        for _ in range(count):
            lat, lon = 43.6 + rng.random() * 0.2, -79.6 + rng.random() * 0.35
            boxes.append(("/api/v1/records/incidents", {"min_lat": lat, "min_lon": lon,
                          "max_lat": lat + 0.03, "max_lon": lon + 0.04, **window(30)}))  # fmt: skip
        results["filters: bounding box + 30 days"] = measure(client, boxes)
    return results


def report(
    database: str, load_seconds: float | None, results: dict[str, Any], data: Dataset
) -> str:
    loaded = f"bulk load {load_seconds:.0f} s" if load_seconds else "data loaded by an earlier run"
    lines = [f"### {database}", "",
             f"{data.incidents:,} incidents, {data.persons:,} persons; {loaded}; load average "
             f"{os.getloadavg()[0]:.1f} after the queries.", "",
             "| query | p50 ms | p95 ms | service CPU ms/request | notes |",
             "| --- | ---: | ---: | ---: | --- |"]  # fmt: skip
    for label, values in results.items():
        if label.endswith("recall@10"):
            continue
        recall = results.get(label + " recall@10")
        note = ""
        if recall is not None:
            what = "a person of that surname" if "surname" in label else "the person meant"
            note = f"{what} in the top 10: {recall:.0%}"
        cpu = CPU_PER_REQUEST.get(id(values))
        cpu_text = f"{cpu:.1f}" if cpu is not None else ""
        lines.append(f"| {label} | {statistics.median(values):.1f} | "
                     f"{percentile(values, 0.95):.1f} | {cpu_text} | {note} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--workdir", default=None, help="keep the data here (default: temp dir)")
    parser.add_argument(
        "--reuse", action="store_true", help="query the data a previous run left in --workdir"
    )
    args = parser.parse_args()

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="records-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    keys = Keys()
    jwks_server, jwks_url = serve_jwks(keys)
    sections = []
    targets = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for database in targets:
        data = Dataset(incidents=args.incidents, persons=args.persons)
        admin = args.postgres_url.replace("postgresql+psycopg://", "postgresql://")
        path = workdir / "records-bench.db"
        url = (
            f"sqlite:///{path}"
            if database == "sqlite"
            else (admin.rsplit("/", 1)[0] + "/sh_bench_records")
        )
        seconds: float | None = None
        if args.reuse:
            sample_existing(url, data)
        elif database == "sqlite":
            print(f"{database}: loading {args.incidents:,} incidents and {args.persons:,} persons")
            path.unlink(missing_ok=True)
            seconds = load_sqlite(path, data)
        else:
            import psycopg

            print(f"{database}: loading {args.incidents:,} incidents and {args.persons:,} persons")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute('DROP DATABASE IF EXISTS "sh_bench_records" WITH (FORCE)')
                conn.execute('CREATE DATABASE "sh_bench_records"')
            seconds = load_postgres(url, data)
        if seconds is not None:
            print(f"  loaded in {seconds:.0f} s")
        process, service_url = start_service(url, jwks_url, workdir)
        SERVICE_PID["pid"] = process.pid
        try:
            results = run_queries(service_url, keys, data, args.queries)
        finally:
            process.terminate()
            process.wait(timeout=30)
        section = report(database, seconds, results, data)
        print(section)
        sections.append(section)
    jwks_server.shutdown()

    load = os.getloadavg()[0]
    header = (
        "# Records search benchmark\n\nWritten by `bench/records_search.py` "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC). Sequential requests from one client "
        f"through the real HTTP service (uvicorn, one worker), {args.queries} per query type "
        f"after a warm-up; synthetic seeded data. Machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs shared with other work (load average {load:.1f} at the end), "
        f"Python {platform.python_version()}.\n\nEvery name search also appends its entry to "
        "the audit chain (a write), as in production.\n\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(header + "\n".join(sections))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
