"""The master name index (persons) and their roles in incidents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records_service.db import Base, UTCDateTime, new_id, utcnow


class PersonRole(StrEnum):
    SUSPECT = "suspect"
    ACCUSED = "accused"
    VICTIM = "victim"
    WITNESS = "witness"
    COMPLAINANT = "complainant"


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (Index("ix_persons_name_dob", "name_key", "date_of_birth"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    given_name: Mapped[str] = mapped_column(String(200), nullable=False)
    family_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # JSON lists: aliases ["..."], identifiers [{"type": ..., "value": ...}]
    aliases: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    identifiers: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    address: Mapped[str | None] = mapped_column(String(500))
    # Normalised "given family" for exact duplicate checks.
    name_key: Mapped[str] = mapped_column(String(401), nullable=False)
    # Normalised names and aliases: what the trigram indexes (FTS5 / pg_trgm) search.
    search_text: Mapped[str] = mapped_column(Text, nullable=False)
    station_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(String(128))
    delete_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class IncidentPerson(Base):
    """A person's role in an incident (suspect, accused, victim, witness, complainant)."""

    __tablename__ = "incident_persons"
    __table_args__ = (
        UniqueConstraint("incident_id", "person_id", "role", name="uq_incident_persons_role"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    person_id: Mapped[str] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    notes: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class PersonNameTerm(Base):
    """The vocabulary of name words (names and aliases); the trigram index is on this table.

    Typo-tolerant search looks up words close to each query word here (SQLite FTS5 trigram,
    PostgreSQL pg_trgm), then the persons holding those words in person_terms.
    """

    __tablename__ = "person_name_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)


class PersonTerm(Base):
    """Which person carries which name word."""

    __tablename__ = "person_terms"
    __table_args__ = (Index("ix_person_terms_person", "person_id"),)

    term_id: Mapped[int] = mapped_column(
        ForeignKey("person_name_terms.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
