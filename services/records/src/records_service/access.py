"""The access matrix of DESIGN.md, in one place: who may read, write, approve, seal, delete."""

from __future__ import annotations

from servicekit.errors import Forbidden
from servicekit.security import (
    ROLE_ADMIN,
    ROLE_ANALYST,
    ROLE_OFFICER,
    ROLE_SUPERVISOR,
    Principal,
)

READ_ROLES = (ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER, ROLE_ANALYST)
WRITE_ROLES = (ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER)
REVIEW_ROLES = (ROLE_ADMIN, ROLE_SUPERVISOR)


def is_privileged(principal: Principal) -> bool:
    """Admin and supervisor: approve, close, seal, and see sealed records."""
    return principal.has_any(ROLE_ADMIN, ROLE_SUPERVISOR)


def sees_unmasked(principal: Principal) -> bool:
    """Analysts (without a staff role that reads in full) get masked records."""
    return principal.has_any(ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER)


def may_read(principal: Principal) -> bool:
    return principal.has_any(*READ_ROLES)


def may_read_sealed(principal: Principal) -> bool:
    return is_privileged(principal)


def may_write_station(principal: Principal, station_id: str | None) -> bool:
    """Admin and supervisor write anywhere; an officer only their own station's records."""
    if is_privileged(principal):
        return True
    return (
        principal.has_any(ROLE_OFFICER)
        and principal.station_id is not None
        and principal.station_id == station_id
    )


def require_read(principal: Principal) -> None:
    if not may_read(principal):
        raise Forbidden("Your role may not read records.")


def require_write(principal: Principal, station_id: str | None) -> None:
    if not principal.has_any(*WRITE_ROLES):
        raise Forbidden("Your role may not change records.")
    if not may_write_station(principal, station_id):
        raise Forbidden("Officers may change only their own station's records.")


def require_privileged(principal: Principal) -> None:
    if not is_privileged(principal):
        raise Forbidden("Only a supervisor or an admin may do this.")


def require_admin(principal: Principal) -> None:
    if not principal.has_any(ROLE_ADMIN):
        raise Forbidden("Only an admin may do this.")
