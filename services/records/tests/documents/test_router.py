"""Documents: streamed upload, type from content, size limit, integrity check on download."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

DOCS = "/api/v1/records/documents"
INCIDENTS = "/api/v1/records/incidents"

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def make_incident(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    body = {"category": "fraud", "occurred_from": "2026-05-01T20:00:00Z"}
    return client.post(INCIDENTS, json=body, headers=headers).json()


def upload(client, headers, incident_id, name, content, content_type, **extra) -> Any:
    return client.post(
        DOCS,
        params={"owner_type": "incident", "owner_id": incident_id, **extra},
        files={"file": (name, content, content_type)},
        headers=headers,
    )


def test_upload_and_download_round_trip(client: TestClient, auth, settings) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    response = upload(client, officer, incident["id"], "statement.pdf", PDF, "application/pdf",
                      title="Witness statement")  # fmt: skip
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["media_type"] == "application/pdf"
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert document["size_bytes"] == len(PDF)
    stored = Path(settings.documents_dir) / document["sha256"][:2] / document["sha256"][2:4]
    assert (stored / document["sha256"]).read_bytes() == PDF
    content = client.get(f"{DOCS}/{document['id']}/content", headers=officer)
    assert content.status_code == 200
    assert content.content == PDF
    assert content.headers["content-type"] == "application/pdf"
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-disposition"].startswith('attachment; filename="statement.pdf"')
    # Office documents and plain text are accepted; the type is from the bytes.
    assert (
        upload(client, officer, incident["id"], "r.docx", docx_bytes(), "application/octet-stream")
        .json()["media_type"]
        .endswith("wordprocessingml.document")
    )
    assert (
        upload(
            client, officer, incident["id"], "notes.txt", "Zeugin: Müller\n".encode(), "text/plain"
        ).json()["media_type"]
        == "text/plain"
    )
    listed = client.get(DOCS, params={"owner_type": "incident", "owner_id": incident["id"]},
                        headers=officer).json()["items"]  # fmt: skip
    assert len(listed) == 3


def test_content_that_contradicts_its_claimed_type_is_refused(client: TestClient, auth) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    cases = [
        ("photo.png", PDF, "image/png"),  # PDF bytes claiming to be PNG
        ("report.pdf", PNG, "application/pdf"),
        ("report.pdf", PNG, "application/octet-stream"),  # the name says PDF, the bytes PNG
        ("tool.exe", b"MZ\x90\x00\x03" + b"\x00" * 60, "application/octet-stream"),
        ("archive.docx", _plain_zip(), "application/octet-stream"),  # a ZIP is not a docx
        ("notes.txt", b"\x00\x01\x02binary", "text/plain"),
    ]
    for name, content, claimed in cases:
        response = upload(client, officer, incident["id"], name, content, claimed)
        assert response.status_code == 415, name
    listed = client.get(DOCS, params={"owner_type": "incident", "owner_id": incident["id"]},
                        headers=officer).json()["items"]  # fmt: skip
    assert listed == []


def _plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.bin", b"\x00" * 10)
    return buffer.getvalue()


def test_too_large_is_refused(client: TestClient, auth, settings) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    big = b"a" * (settings.max_document_bytes + 1)
    response = upload(client, officer, incident["id"], "big.txt", big, "text/plain")
    assert response.status_code == 413
    scratch = Path(settings.documents_dir) / ".incoming"
    assert list(scratch.iterdir()) == []


def test_tampered_file_is_refused_on_download(client: TestClient, auth, settings) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    document = upload(client, officer, incident["id"], "s.pdf", PDF, "application/pdf").json()
    sha = document["sha256"]
    path = Path(settings.documents_dir) / sha[:2] / sha[2:4] / sha
    path.chmod(0o640)
    path.write_bytes(PDF.replace(b"Catalog", b"Catalug"))
    response = client.get(f"{DOCS}/{document['id']}/content", headers=officer)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert b"Catalug" not in response.content
    audit = client.get("/api/v1/records/audit", params={"target_id": document["id"]},
                       headers=auth("admin", station=None)).json()["items"]  # fmt: skip
    assert audit[0]["action"] == "document.download"
    assert audit[0]["outcome"] == "integrity_failure"


def test_unsafe_file_names_are_neutralised(client: TestClient, auth) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    name = '../../etc/"évidence"\r\nX-Evil: 1.pdf'
    document = upload(client, officer, incident["id"], name, PDF, "application/pdf").json()
    response = client.get(f"{DOCS}/{document['id']}/content", headers=officer)
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition
    assert "\n" not in disposition
    assert "/" not in disposition.split(";")[1]
    assert disposition.startswith("attachment; ")
    assert "x-evil" not in {k.lower() for k in response.headers}


def test_analyst_gets_no_content_and_other_station_cannot_attach(client: TestClient, auth) -> None:
    officer = auth("officer", station="ST-1")
    incident = make_incident(client, officer)
    document = upload(client, officer, incident["id"], "s.pdf", PDF, "application/pdf").json()
    analyst = auth("analyst")
    meta = client.get(f"{DOCS}/{document['id']}", headers=analyst)
    assert meta.status_code == 200
    assert "original_filename" not in meta.json()
    assert "title" not in meta.json()
    assert client.get(f"{DOCS}/{document['id']}/content", headers=analyst).status_code == 403
    stranger = auth("officer", station="ST-2")
    refused = upload(client, stranger, incident["id"], "x.pdf", PDF, "application/pdf")
    assert refused.status_code == 403
