"""Area indicators: upload as CSV (admin, analyst), list (staff)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from prediction_service.audit import AuditEntry
from prediction_service.dependencies import Staff, Trainer, client_ip, request_id
from prediction_service.indicators.service import (
    list_indicators,
    parse_indicator_csv,
    replace_indicators,
)
from prediction_service.timeutil import as_utc
from servicekit.audit import append_audit
from servicekit.db import SessionDep
from servicekit.errors import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from servicekit.pagination import Page, PageDep, make_page

router = APIRouter(prefix="/api/v1/prediction/area-indicators", tags=["area indicators"])

MAX_BYTES = 2 * 1024 * 1024


class AreaIndicatorPublic(BaseModel):
    area: str
    values: dict[str, float]
    updated_at: datetime
    updated_by: str


class IndicatorUpload(BaseModel):
    areas: int
    indicators: list[str]


@router.put(
    "",
    response_model=IndicatorUpload,
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def upload_indicators(
    request: Request, principal: Trainer, session: SessionDep
) -> IndicatorUpload:
    """Replace the indicator table with a CSV: `area,population,median_income,...`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "text/csv":
        raise UnsupportedMediaType("Send the indicators as text/csv.")
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise PayloadTooLarge(f"At most {MAX_BYTES} bytes.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnprocessableContent("The CSV must be UTF-8.") from exc
    table = parse_indicator_csv(text)
    names = sorted({n for values in table.values() for n in values})

    def _store() -> None:
        replace_indicators(session, table=table, actor=principal.subject)
        append_audit(
            session,
            AuditEntry,
            actor=principal.subject,
            actor_roles=principal.roles,
            action="area_indicators.replaced",
            target_type="area_indicators",
            source_ip=client_ip(request),
            request_id=request_id(),
            details={"areas": len(table), "indicators": names},
        )

    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(_store)
    return IndicatorUpload(areas=len(table), indicators=names)


@router.get("", response_model=Page[AreaIndicatorPublic])
def get_indicators(
    principal: Staff, session: SessionDep, page: PageDep
) -> Page[AreaIndicatorPublic]:
    """Indicators per area, by area name."""
    after = str(page.cursor[0]) if page.cursor else None
    rows = list_indicators(session, after=after, limit=page.limit)
    items = [
        AreaIndicatorPublic(
            area=r.area, values=r.values, updated_at=as_utc(r.updated_at), updated_by=r.updated_by
        )
        for r in rows
    ]
    return make_page(items, limit=page.limit, key=lambda i: [i.area])
