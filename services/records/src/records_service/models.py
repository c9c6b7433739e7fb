"""Import every table module here so Alembic and tests see the whole schema."""

from __future__ import annotations

from records_service.complaints.models import Complaint, ComplaintAttachment
from records_service.db import Base
from records_service.imports.models import ImportFingerprint, ImportJob, ImportRejection
from records_service.incidents.models import Incident
from records_service.sequences import Counter

__all__ = ["Base", "Counter", "Incident"]
