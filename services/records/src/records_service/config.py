"""Settings of the records service (environment variables prefixed RECORDS_)."""

from __future__ import annotations

from pydantic import Field

from servicekit.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("RECORDS_")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/records.db",
        description="SQLAlchemy URL of the records database",
    )
    documents_dir: str = Field(
        default="./.stationhouse/documents",
        description="Where uploaded documents are kept on local disk (by SHA-256)",
    )
    max_document_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1, description="Largest document accepted, in bytes"
    )
    s3_bucket: str | None = Field(
        default=None, description="Store documents in this S3-compatible bucket instead of disk"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of the S3-compatible store (MinIO, Ceph, AWS)"
    )
    s3_region: str | None = Field(default=None, description="Region of the S3 bucket")
    s3_access_key_id: str | None = Field(default=None, description="S3 access key id")
    s3_secret_access_key: str | None = Field(default=None, description="S3 secret key")
    s3_prefix: str = Field(default="documents/", description="Key prefix inside the bucket")
