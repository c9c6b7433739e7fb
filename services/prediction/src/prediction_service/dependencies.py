"""Role dependencies and shared request helpers of the prediction service."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request

from servicekit.security import (
    ROLE_ADMIN,
    ROLE_ANALYST,
    ROLE_OFFICER,
    ROLE_SUPERVISOR,
    Principal,
    require_roles,
)

# DESIGN.md: train/promote models: admin, analyst; forecasts and predictions: staff.
Trainer = Annotated[Principal, Depends(require_roles(ROLE_ADMIN, ROLE_ANALYST))]
Staff = Annotated[
    Principal, Depends(require_roles(ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER, ROLE_ANALYST))
]
Admin = Annotated[Principal, Depends(require_roles(ROLE_ADMIN))]


def request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
