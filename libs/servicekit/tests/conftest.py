"""A tiny app built with servicekit's factory, on a real migrated-free database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.app import create_service_app
from servicekit.audit import AuditEntryMixin
from servicekit.db import SessionDep, make_metadata
from servicekit.errors import Conflict
from servicekit.pagination import Page, PageDep, make_page
from servicekit.security import CurrentPrincipal, Principal, require_roles
from servicekit.settings import ServiceSettings
from servicekit.testing import DatabaseFactory, TokenFactory


class Base(DeclarativeBase):
    metadata = make_metadata()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(100), unique=True)


class AuditEntry(AuditEntryMixin, Base):
    __tablename__ = "audit_entries"


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=100)


class NotePublic(BaseModel):
    id: int
    text: str


router = APIRouter(prefix="/api/v1/kit")


@router.post("/notes", status_code=201)
def create_note(body: NoteCreate, session: SessionDep) -> NotePublic:
    note = Note(text=body.text)
    session.add(note)
    if body.text == "explode-after-write":
        session.flush()
        raise Conflict("refused after writing")
    return NotePublic(id=0, text=body.text)


@router.get("/notes/{note_id}")
def get_note(note_id: int, session: SessionDep) -> NotePublic:
    note = session.get(Note, note_id)
    assert note is not None
    return NotePublic(id=note.id, text=note.text)


@router.get("/notes")
def list_notes(session: SessionDep, page: PageDep) -> Page[NotePublic]:
    query = select(Note).order_by(Note.id).limit(page.limit + 1)
    if page.cursor:
        query = query.where(Note.id > page.cursor[0])
    rows = [NotePublic(id=n.id, text=n.text) for n in session.scalars(query)]
    return make_page(rows, limit=page.limit, key=lambda n: [n.id])


@router.get("/whoami")
async def whoami(principal: CurrentPrincipal) -> dict[str, object]:
    return {"sub": principal.subject, "roles": sorted(principal.roles)}


@pytest.fixture
def database_url(database_factory: DatabaseFactory) -> str:
    from sqlalchemy import create_engine

    from servicekit.db import normalize_url

    url = database_factory.create("kit")
    engine = create_engine(normalize_url(url))
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def app(database_url: str, token_factory: TokenFactory):  # type: ignore[no-untyped-def]
    from fastapi import Depends

    settings = ServiceSettings(database_url=database_url)
    kit_app = create_service_app(
        name="kit", settings=settings, routers=[router], verifier=token_factory.verifier()
    )

    @kit_app.get("/api/v1/kit/admin")
    async def admin(principal: Principal = Depends(require_roles("admin"))) -> dict[str, str]:
        return {"sub": principal.subject}

    return kit_app


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client
