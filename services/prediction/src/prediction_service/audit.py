"""The prediction service's hash-chained audit log (training, promotion, rollback, uploads)."""

from __future__ import annotations

from prediction_service.db import Base
from servicekit.audit import AuditEntryMixin


class AuditEntry(AuditEntryMixin, Base):
    __tablename__ = "audit_entries"
