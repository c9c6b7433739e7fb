"""Import every table module here so Alembic and tests see the whole schema."""

from __future__ import annotations

from records_service.audit import AuditEntry
from records_service.cases.models import Case, CaseDiaryEntry, CaseIncident
from records_service.complaints.models import Complaint, ComplaintAttachment
from records_service.db import Base
from records_service.documents.models import Document
from records_service.idempotency import IdempotencyRecord
from records_service.imports.models import ImportFingerprint, ImportJob, ImportRejection
from records_service.incidents.models import Incident
from records_service.persons.models import IncidentPerson, Person, PersonNameTerm, PersonTerm
from records_service.sequences import Counter

__all__ = [
    "AuditEntry",
    "Base",
    "Case",
    "CaseDiaryEntry",
    "CaseIncident",
    "Complaint",
    "ComplaintAttachment",
    "Counter",
    "Document",
    "IdempotencyRecord",
    "ImportFingerprint",
    "ImportJob",
    "ImportRejection",
    "Incident",
    "IncidentPerson",
    "Person",
    "PersonNameTerm",
    "PersonTerm",
]
