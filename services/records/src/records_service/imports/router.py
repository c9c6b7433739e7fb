"""Admin API of imports: upload a file, follow its progress, download the report."""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from records_service.access import require_admin
from records_service.audit import ActorDep, AuditEntry
from records_service.imports.cleaning import CLEANING_RULES
from records_service.imports.models import ImportJob, ImportRejection, ImportStatus
from records_service.imports.profiles import BUILT_IN, PROFILE_NAMES, ProfileError, get_profile
from records_service.imports.service import create_job, open_rows, run_job
from records_service.validation import Text
from servicekit.audit import append_audit
from servicekit.db import Database, DatabaseDep, SessionDep
from servicekit.errors import Conflict, NotFound, UnprocessableContent
from servicekit.logging import get_logger
from servicekit.pagination import Page, PageDep, make_page
from servicekit.security import ROLE_ADMIN, Principal, require_roles

log = get_logger(__name__)

router = APIRouter(prefix="/api/v1/records/imports", tags=["imports"])
AdminDep = Annotated[Principal, Depends(require_roles(ROLE_ADMIN))]
UPLOAD_CHUNK = 1 << 20
MAX_MAPPING_BYTES = 64 * 1024


class ImportJobPublic(BaseModel):
    id: str
    profile: str
    source_system: str
    filename: str
    status: str
    rows_read: int
    imported: int
    merged: int
    merged_by_source_id: int
    merged_by_time_place_category: int
    rejected: int
    batches_committed: int
    progress: float
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ProfilePublic(BaseModel):
    name: str
    description: str
    source_system: str | None


def job_public(job: ImportJob) -> ImportJobPublic:
    done = job.status == ImportStatus.COMPLETED.value
    progress = 1.0 if done else (job.bytes_done / job.bytes_total if job.bytes_total else 0.0)
    return ImportJobPublic(
        id=job.id,
        profile=job.profile,
        source_system=job.source_system,
        filename=job.filename,
        status=job.status,
        rows_read=job.rows_read,
        imported=job.imported,
        merged=job.merged,
        merged_by_source_id=job.merged_source_id,
        merged_by_time_place_category=job.merged_time_place,
        rejected=job.rejected,
        batches_committed=job.batches_committed,
        progress=round(min(progress, 1.0), 4),
        error=job.error,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def uploads_dir(request: Request) -> Path:
    """Where uploaded files wait for their job: beside the documents directory."""
    settings = request.app.state.settings
    configured = getattr(settings, "documents_dir", None) or ".stationhouse/documents"
    directory = Path(configured).resolve().parent / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# Jobs running in this process: a resume of one of them would run it twice.
_RUNNING: set[str] = set()
_RUNNING_LOCK = threading.Lock()


def start_in_background(database: Database, job_id: Text) -> None:
    """Run the job on a worker thread (CPU-bound parsing never blocks the event loop)."""
    with _RUNNING_LOCK:
        if job_id in _RUNNING:
            raise Conflict("The import is running.")
        _RUNNING.add(job_id)

    def work() -> None:
        try:
            job = run_job(database, job_id=job_id)
        except Exception:
            log.exception("import.background_failed", job_id=job_id)
            return
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(job_id)
        if job.status == ImportStatus.COMPLETED.value and job.file_path:
            Path(job.file_path).unlink(missing_ok=True)

    threading.Thread(target=work, name=f"import-{job_id[:8]}", daemon=True).start()


@router.get("/profiles")
def list_profiles(_admin: AdminDep) -> list[ProfilePublic]:
    """The import profiles (the generic one needs a mapping file)."""
    profiles = [factory() for factory in BUILT_IN.values()]
    answer = [
        ProfilePublic(name=p.name, description=p.description, source_system=p.source_system)
        for p in profiles
    ]
    answer.append(
        ProfilePublic(
            name="generic", description="columns named by a YAML/JSON mapping", source_system=None
        )
    )
    return answer


@router.post("", status_code=202)
def upload_import(
    request: Request,
    response: Response,
    database: DatabaseDep,
    admin: AdminDep,
    file: Annotated[UploadFile, File(description="CSV file, optionally gzip-compressed")],
    profile: Annotated[str, Form(description=f"one of {', '.join(PROFILE_NAMES)}")],
    mapping: Annotated[UploadFile | None, File(description="generic profile: mapping")] = None,
) -> ImportJobPublic:
    """Accept a file and import it in the background; follow it at the Location returned."""
    mapping_text = None
    if mapping is not None:
        raw_mapping = mapping.file.read(MAX_MAPPING_BYTES + 1)
        if len(raw_mapping) > MAX_MAPPING_BYTES:
            raise UnprocessableContent("The mapping file is too large (64 KiB at most).")
        mapping_text = raw_mapping.decode("utf-8", errors="replace")
    try:
        import_profile = get_profile(profile, mapping_text=mapping_text)
    except ProfileError as exc:
        raise UnprocessableContent(
            str(exc), errors=[{"field": "profile", "message": str(exc)}]
        ) from None
    directory = uploads_dir(request)
    digest = hashlib.sha256()
    target = directory / f"upload-{uuid.uuid4().hex}.part"
    size = 0
    with open(target, "wb") as out:
        while chunk := file.file.read(UPLOAD_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    final = directory / f"{digest.hexdigest()}-{size}.csv"
    target.replace(final)
    try:
        counter, header, _rows = open_rows(final, delimiter=import_profile.delimiter)
        counter.close()
        import_profile.check_header(header)
    except ProfileError as exc:
        final.unlink(missing_ok=True)
        raise UnprocessableContent(
            str(exc), errors=[{"field": "file", "message": str(exc)}]
        ) from None
    # Committed before the worker starts looking for it.
    with database.session() as session:
        job = create_job(
            session,
            profile=import_profile,
            filename=file.filename or final.name,
            created_by=admin.subject,
            file_path=str(final),
            file_sha256=digest.hexdigest(),
            mapping_text=mapping_text,
            bytes_total=size,
        )
        public = job_public(job)
        append_audit(
            session,
            AuditEntry,
            actor=admin.subject,
            actor_roles=sorted(admin.roles),
            action="import.create",
            target_type="import",
            target_id=job.id,
            source_ip=request.client.host if request.client else None,
            request_id=getattr(request.state, "request_id", None),
            details={"profile": profile, "filename": job.filename, "sha256": digest.hexdigest()},
        )
    start_in_background(database, job.id)
    response.headers["Location"] = f"/api/v1/records/imports/{job.id}"
    log.info("import.accepted", job_id=job.id, profile=profile, size=size)
    return public


@router.get("")
def list_imports(session: SessionDep, _admin: AdminDep, page: PageDep) -> Page[ImportJobPublic]:
    """Import jobs, newest first."""
    statement = select(ImportJob).order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
    if page.cursor:
        created = datetime.fromisoformat(str(page.cursor[0]))
        statement = statement.where(
            (ImportJob.created_at < created)
            | ((ImportJob.created_at == created) & (ImportJob.id < str(page.cursor[1])))
        )
    jobs = session.execute(statement.limit(page.limit + 1)).scalars().all()
    result = make_page(list(jobs), limit=page.limit, key=lambda j: (j.created_at.isoformat(), j.id))
    return Page(items=[job_public(j) for j in result.items], next_cursor=result.next_cursor)


def _job(session: Session, job_id: Text) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("No import with this id.")
    return job


@router.get("/{job_id}")
def get_import(job_id: Text, session: SessionDep, _admin: AdminDep) -> ImportJobPublic:
    """One import job and its progress."""
    return job_public(_job(session, job_id))


@router.post("/{job_id}/resume", status_code=202)
def resume_import(
    job_id: Text, session: SessionDep, database: DatabaseDep, actor: ActorDep
) -> ImportJobPublic:
    """Carry on an interrupted or failed job after its last committed batch."""
    require_admin(actor.principal)
    job = _job(session, job_id)
    if job.status == ImportStatus.COMPLETED.value:
        raise Conflict("The import is already complete.")
    if not job.file_path or not Path(job.file_path).exists():
        raise Conflict("The uploaded file is gone; upload it again (re-imports change nothing).")
    public = job_public(job)
    start_in_background(database, job.id)
    actor.audit(session, action="import.resume", target_type="import", target_id=job.id)
    return public


def _rejections(database: Database, job_id: Text) -> Iterator[ImportRejection]:
    last = 0
    while True:
        with database.session(write=False) as session:
            batch = (
                session.execute(
                    select(ImportRejection)
                    .where(ImportRejection.job_id == job_id, ImportRejection.id > last)
                    .order_by(ImportRejection.id)
                    .limit(1000)
                )
                .scalars()
                .all()
            )
        yield from batch
        if len(batch) < 1000:
            return
        last = batch[-1].id


@router.get("/{job_id}/report", response_model=None)
def import_report(
    job_id: Text,
    request: Request,
    session: SessionDep,
    database: DatabaseDep,
    _admin: AdminDep,
    format: Annotated[Text | None, Query(pattern="^(json|csv)$")] = None,
) -> dict[str, Any] | StreamingResponse:
    """The report: counts that add up (read = imported + merged + rejected), the cleaning rules,
    and every rejected row with its reason (CSV with ?format=csv or Accept: text/csv)."""
    job = _job(session, job_id)
    summary = job_public(job).model_dump(mode="json")
    wants_csv = format == "csv" or (
        format is None and "text/csv" in request.headers.get("accept", "")
    )
    disposition = f'attachment; filename="import-{job.id}-rejections'
    if wants_csv:

        def lines() -> Iterator[bytes]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["row_number", "field", "reason", "raw"])
            for rejection in _rejections(database, job_id):
                writer.writerow(
                    [
                        rejection.row_number,
                        rejection.field or "",
                        rejection.reason,
                        rejection.raw or "",
                    ]
                )
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue().encode()

        return StreamingResponse(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition + '.csv"'},
        )
    return {
        **summary,
        "adds_up": job.rows_read == job.imported + job.merged + job.rejected,
        "cleaning_rules": CLEANING_RULES,
        "rejections": [
            {"row_number": r.row_number, "field": r.field, "reason": r.reason, "raw": r.raw}
            for r in _rejections(database, job_id)
        ],
    }
