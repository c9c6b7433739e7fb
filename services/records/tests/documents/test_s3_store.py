"""Documents in an S3-compatible bucket: the records API against a real S3 server process
(moto's standalone server, spoken to over HTTP by boto3 exactly as AWS, MinIO or Ceph would be)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from records_service.config import Settings
from records_service.main import create_app
from servicekit.testing import TokenFactory, free_port

DOCS = "/api/v1/records/documents"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
BUCKET = "stationhouse-documents"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the S3 server did not start") from None
                time.sleep(0.2)
        bucket_client(url).create_bucket(Bucket=BUCKET)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def bucket_client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", **CREDENTIALS)


def s3_settings(database_url: str, tmp_path: Path, endpoint: str) -> Settings:
    return Settings(
        database_url=database_url,
        documents_dir=str(tmp_path / "unused-local-documents"),
        s3_bucket=BUCKET,
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        s3_access_key_id=CREDENTIALS["aws_access_key_id"],
        s3_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        s3_prefix="station-st1/",
    )


@pytest.fixture
def settings(s3_url: str, database_url: str, tmp_path: Path) -> Settings:
    """Overrides conftest's: the `client` fixture then runs records on the bucket."""
    return s3_settings(database_url, tmp_path, s3_url)


def make_incident(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    body = {"category": "fraud", "occurred_from": "2026-05-01T20:00:00Z"}
    return client.post("/api/v1/records/incidents", json=body, headers=headers).json()


def upload(client: TestClient, headers: dict[str, str], incident_id: str, content: bytes) -> Any:
    return client.post(
        DOCS,
        params={"owner_type": "incident", "owner_id": incident_id},
        files={"file": ("statement.pdf", content, "application/pdf")},
        headers=headers,
    )


def test_documents_are_stored_in_the_bucket_by_hash_and_read_back(
    client: TestClient, s3_url: str, auth, tmp_path: Path
) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    response = upload(client, officer, incident["id"], PDF)
    assert response.status_code == 201, response.text
    sha256 = response.json()["sha256"]
    assert sha256 == hashlib.sha256(PDF).hexdigest()

    stored = bucket_client(s3_url).get_object(Bucket=BUCKET, Key=f"station-st1/{sha256}")
    assert stored["Body"].read() == PDF
    assert stored["Metadata"]["sha256"] == sha256
    assert not (tmp_path / "unused-local-documents").exists()  # nothing went to local disk

    content = client.get(f"{DOCS}/{response.json()['id']}/content", headers=officer)
    assert content.status_code == 200
    assert content.content == PDF


def test_a_changed_or_missing_object_is_refused_not_sent(
    client: TestClient, s3_url: str, auth
) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    first = upload(client, officer, incident["id"], PDF).json()
    other = PDF.replace(b"Catalog", b"Catalog /Lang (en)")
    second = upload(client, officer, incident["id"], other).json()
    bucket = bucket_client(s3_url)
    bucket.put_object(Bucket=BUCKET, Key=f"station-st1/{first['sha256']}", Body=PDF + b"forged")
    bucket.delete_object(Bucket=BUCKET, Key=f"station-st1/{second['sha256']}")

    changed = client.get(f"{DOCS}/{first['id']}/content", headers=officer)
    assert changed.status_code == 500
    assert changed.headers["content-type"] == "application/problem+json"
    assert changed.json()["type"].endswith("/document-integrity")
    assert b"forged" not in changed.content
    missing = client.get(f"{DOCS}/{second['id']}/content", headers=officer)
    assert missing.json()["type"].endswith("/document-integrity")


def test_an_unreachable_store_is_503_and_saves_nothing(
    client: TestClient, database_url: str, tmp_path: Path, token_factory: TokenFactory, auth
) -> None:
    officer = auth("officer")
    incident = make_incident(client, officer)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(s3_settings(database_url, tmp_path, dead), verifier=token_factory.verifier())
    with TestClient(app) as cut_off:
        response = upload(cut_off, officer, incident["id"], PDF)
    assert response.status_code == 503, response.text
    assert response.json()["type"].endswith("/document-store-unavailable")
    listed = client.get(
        DOCS, params={"owner_type": "incident", "owner_id": incident["id"]}, headers=officer
    )
    assert listed.json()["items"] == []
