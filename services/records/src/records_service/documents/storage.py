"""Content-addressed document storage: local disk by default, any S3-compatible store if set.

Objects are named by the SHA-256 of their bytes, so the same file is stored once and a changed
file can be recognised: the name no longer matches the content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

from records_service.config import Settings
from servicekit.errors import ProblemError, ServiceUnavailable

CHUNK = 1024 * 1024


class DocumentIntegrityError(ProblemError):
    status, type_slug, title = 500, "document-integrity", "Stored document failed its check"


class DocumentStoreUnavailable(ServiceUnavailable):
    type_slug, title = "document-store-unavailable", "The document store is unavailable"


class DocumentStore(Protocol):
    def put(self, *, sha256: str, source: Path) -> None:
        """Store the file at `source` under its hash (the source may be moved or deleted)."""

    def open_verified(self, *, sha256: str) -> IO[bytes]:
        """A readable file holding the stored bytes, after checking they still hash to sha256."""

    def scratch_dir(self) -> Path:
        """Where uploads are spooled before they are stored."""


def _hash_file(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_name(sha256: str) -> None:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a SHA-256 hex digest")


class LocalDocumentStore:
    """Files under <root>/ab/cd/<sha256>; written to a temp file and renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._scratch = root / ".incoming"
        self._scratch.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        _check_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def scratch_dir(self) -> Path:
        return self._scratch

    def put(self, *, sha256: str, source: Path) -> None:
        target = self.path_for(sha256)
        if target.exists():
            source.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        os.chmod(target, 0o440)

    def open_verified(self, *, sha256: str) -> IO[bytes]:
        path = self.path_for(sha256)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise DocumentIntegrityError("The stored file is missing.") from exc
        if _hash_file(handle) != sha256:
            handle.close()
            raise DocumentIntegrityError(
                "The stored file no longer matches its fingerprint; it was not sent."
            )
        handle.seek(0)
        return handle


class S3DocumentStore:
    """Objects <prefix><sha256> in an S3-compatible bucket (AWS, MinIO, Ceph)."""

    def __init__(self, settings: Settings) -> None:
        import boto3

        self.bucket = settings.s3_bucket
        self.prefix = settings.s3_prefix
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )
        self._scratch = Path(tempfile.gettempdir()) / "stationhouse-records-uploads"
        self._scratch.mkdir(parents=True, exist_ok=True)

    def scratch_dir(self) -> Path:
        return self._scratch

    def _key(self, sha256: str) -> str:
        _check_name(sha256)
        return f"{self.prefix}{sha256}"

    def put(self, *, sha256: str, source: Path) -> None:
        from boto3.exceptions import S3UploadFailedError
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(
                str(source),
                self.bucket,
                self._key(sha256),
                ExtraArgs={"Metadata": {"sha256": sha256}},
            )
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise DocumentStoreUnavailable(
                "The document store could not take the file; nothing was saved. Try again."
            ) from exc
        finally:
            source.unlink(missing_ok=True)

    def open_verified(self, *, sha256: str) -> IO[bytes]:
        spool = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)  # noqa: SIM115
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
            shutil.copyfileobj(response["Body"], spool, CHUNK)
        except ClientError as exc:
            spool.close()
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise DocumentIntegrityError("The stored file is missing.") from exc
            raise DocumentStoreUnavailable("The document store refused the read.") from exc
        except BotoCoreError as exc:
            spool.close()
            raise DocumentStoreUnavailable("The document store could not be reached.") from exc
        spool.seek(0)
        if _hash_file(spool) != sha256:
            spool.close()
            raise DocumentIntegrityError(
                "The stored file no longer matches its fingerprint; it was not sent."
            )
        spool.seek(0)
        return spool


def make_store(settings: Settings) -> DocumentStore:
    if settings.s3_bucket:
        return S3DocumentStore(settings)
    return LocalDocumentStore(Path(settings.documents_dir))


def iter_file(handle: IO[bytes]) -> Iterator[bytes]:
    """Stream a file in chunks and close it at the end."""
    try:
        yield from iter(lambda: handle.read(CHUNK), b"")
    finally:
        handle.close()
