"""Admin import API: upload, background progress, downloadable report; admins only."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from records_service.audit import AuditEntry
from servicekit.testing import TokenFactory

IMPORTS = "/api/v1/records/imports"
CHICAGO_HEADER = (
    "ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,"
    "Domestic,Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Year,"
    "Updated On,Latitude,Longitude,Location"
)
BAD_ROW = "{id},JB,{date},X,{iucr},{kind},X,STREET,false,false,1,1,1,1,08B,,,2023,,{lat},-87.6,"


def chicago_csv() -> bytes:
    lines = [CHICAGO_HEADER]
    for n in range(40):
        lines.append(
            f"{1000 + n},JA{n},01/0{1 + n % 9}/2023 0{1 + n % 9}:15:00 PM,012XX W MADISON ST,0486,"
            f"BATTERY,DOMESTIC BATTERY SIMPLE,APARTMENT,false,true,1234,012,27,28,08B,,,2023,"
            f"01/10/2023 03:40:00 PM,41.88{n:03d},-87.65{n:03d},"
        )
    date = "01/05/2023 01:00:00 PM"
    lines.append(BAD_ROW.format(id=2000, date="13/45/2023 01:00:00 PM", iucr="0486",
                                kind="BATTERY", lat="41.8"))  # fmt: skip
    lines.append(
        BAD_ROW.format(id=2001, date=date, iucr="9999", kind="ALIEN ABDUCTION", lat="41.8")
    )
    lines.append(BAD_ROW.format(id=2002, date=date, iucr="0486", kind="BATTERY", lat="141.8"))
    lines.append(lines[1])  # the same source ID again
    return ("\n".join(lines) + "\n").encode()


def wait_done(client: TestClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"{IMPORTS}/{job_id}", headers=headers).json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def test_upload_runs_in_background_and_report_adds_up(
    client: TestClient, token_factory: TokenFactory
) -> None:
    admin = token_factory.headers(roles=["admin"], subject="admin-1")
    response = client.post(
        IMPORTS,
        files={"file": ("crimes.csv", chicago_csv(), "text/csv")},
        data={"profile": "chicago"},
        headers=admin,
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{IMPORTS}/{response.json()['id']}"
    job = wait_done(client, admin, response.json()["id"])
    assert job["status"] == "completed"
    assert (job["rows_read"], job["imported"], job["merged"], job["rejected"]) == (44, 40, 1, 3)
    assert job["progress"] == 1.0

    report = client.get(f"{IMPORTS}/{job['id']}/report", headers=admin).json()
    assert report["adds_up"] is True
    assert [r["row_number"] for r in report["rejections"]] == [41, 42, 43]
    assert "occurred_from" in report["cleaning_rules"]

    csv_report = client.get(f"{IMPORTS}/{job['id']}/report?format=csv", headers=admin)
    assert csv_report.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_report.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_report.text)))
    assert [row["reason"] for row in rows] == [
        "occurred_from: unrecognised date/time '13/45/2023 01:00:00 PM'",
        "unknown category 'ALIEN ABDUCTION'",
        "lat out of range (-90..90): 141.8",
    ]

    # The same file again: nothing new.
    again = client.post(
        IMPORTS, files={"file": ("crimes.csv", chicago_csv(), "text/csv")},
        data={"profile": "chicago"}, headers=admin,
    )  # fmt: skip
    second = wait_done(client, admin, again.json()["id"])
    assert (second["imported"], second["merged"], second["rejected"]) == (0, 41, 3)
    listing = client.get(IMPORTS, headers=admin).json()
    assert [item["id"] for item in listing["items"]] == [second["id"], job["id"]]
    with client.app.state.database.session(write=False) as session:  # type: ignore[attr-defined]
        audited = session.execute(
            select(AuditEntry.target_id, AuditEntry.actor).where(
                AuditEntry.action == "import.create"
            )
        ).all()
    assert sorted(audited) == sorted([(job["id"], "admin-1"), (second["id"], "admin-1")])


def test_generic_profile_with_a_mapping_file(
    client: TestClient, token_factory: TokenFactory
) -> None:
    admin = token_factory.headers(roles=["admin"])
    mapping = (
        "source_system: county-rms\ntimezone: Europe/Berlin\ndefault_station: ST-9\n"
        "datetime_formats: ['%d.%m.%Y %H:%M']\n"
        "columns: {source_id: Nr, occurred_from: Tatzeit, category: Delikt, lat: Breite, "
        "lon: Laenge, area: Bezirk}\n"
        "categories: {Koerperverletzung: assault, Einbruch: burglary}\n"
    )
    data = "Nr;Tatzeit;Delikt;Breite;Laenge;Bezirk\n1;01.07.2024 10:00;Einbruch;52.5;13.4;Mitte\n"
    response = client.post(
        IMPORTS,
        files={
            "file": ("faelle.csv", data.replace(";", ",").encode(), "text/csv"),
            "mapping": ("mapping.yaml", mapping.encode(), "application/yaml"),
        },
        data={"profile": "generic"},
        headers=admin,
    )
    assert response.status_code == 202, response.text
    job = wait_done(client, admin, response.json()["id"])
    assert (job["imported"], job["rejected"]) == (1, 0)
    assert job["source_system"] == "county-rms"


def test_bad_uploads_are_refused(client: TestClient, token_factory: TokenFactory) -> None:
    admin = token_factory.headers(roles=["admin"])
    unknown = client.post(
        IMPORTS, files={"file": ("x.csv", b"a,b\n1,2\n")}, data={"profile": "nope"}, headers=admin
    )
    assert unknown.status_code == 422
    wrong_columns = client.post(
        IMPORTS, files={"file": ("x.csv", b"a,b\n1,2\n")}, data={"profile": "chicago"},
        headers=admin,
    )  # fmt: skip
    assert wrong_columns.status_code == 422
    assert "needs the column" in wrong_columns.json()["detail"]
    assert client.get(IMPORTS, headers=admin).json()["items"] == []
    assert client.get(f"{IMPORTS}/no-such-job", headers=admin).status_code == 404


def test_imports_are_for_admins_only(client: TestClient, token_factory: TokenFactory) -> None:
    for role in ("supervisor", "officer", "analyst", "citizen", "service"):
        headers = token_factory.headers(roles=[role])
        assert client.get(IMPORTS, headers=headers).status_code == 403
        posted = client.post(
            IMPORTS, files={"file": ("x.csv", b"a\n")}, data={"profile": "chicago"},
            headers=headers,
        )  # fmt: skip
        assert posted.status_code == 403
