"""Service accounts (client credentials) from AUTH_SERVICE_ACCOUNTS, and the first admin."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth_service.audit import record
from auth_service.models import ServiceAccount, User
from auth_service.passwords import PasswordHasher
from servicekit.logging import get_logger
from servicekit.security import ROLE_ADMIN, ROLE_SERVICE

log = get_logger(__name__)

CLIENT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
MIN_CLIENT_SECRET = 16


def parse_service_accounts(value: str) -> dict[str, str]:
    """'prediction:s3cret,hotspots:s3cret' -> {client_id: secret}; malformed entries refused."""
    accounts: dict[str, str] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        client_id, sep, secret = part.partition(":")
        client_id = client_id.strip()
        if not sep or not CLIENT_ID_PATTERN.match(client_id):
            raise ValueError(f"AUTH_SERVICE_ACCOUNTS: bad entry for client {client_id!r}")
        if len(secret) < MIN_CLIENT_SECRET:
            raise ValueError(
                f"AUTH_SERVICE_ACCOUNTS: the secret of {client_id!r} is shorter than "
                f"{MIN_CLIENT_SECRET} characters"
            )
        accounts[client_id] = secret
    return accounts


def sync_service_accounts(
    session: Session, *, accounts: dict[str, str], hasher: PasswordHasher, now: datetime
) -> list[str]:
    """Create missing accounts and re-hash changed secrets; the ids that changed."""
    changed = []
    for client_id, secret in accounts.items():
        account = session.get(ServiceAccount, client_id, with_for_update=True)
        if account is None:
            try:
                # Replicas starting together may race to create it; the loser keeps going.
                with session.begin_nested():
                    session.add(
                        ServiceAccount(
                            client_id=client_id,
                            secret_hash=hasher.hash(secret),
                            roles=[ROLE_SERVICE],
                            active=True,
                            created_at=now,
                            updated_at=now,
                        )
                    )
            except IntegrityError:
                continue
        elif not hasher.verify(secret, account.secret_hash) or not account.active:
            account.secret_hash = hasher.hash(secret)
            account.active = True
            account.updated_at = now
        else:
            continue
        changed.append(client_id)
    if changed:
        log.info("auth.service_accounts_synced", clients=changed)
    return changed


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str


def generate_password() -> str:
    """Six random words' worth of entropy in a form that is easy to type once."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(4))


def create_first_admin(
    session: Session,
    *,
    hasher: PasswordHasher,
    now: datetime,
    username: str = "admin",
    station_id: str = "HQ",
    password: str | None = None,
    only_if_empty: bool = True,
) -> FirstAdmin | None:
    """Create an admin; with only_if_empty, only on a database with no users (else None)."""
    if only_if_empty and (session.scalar(select(func.count()).select_from(User)) or 0) > 0:
        return None
    password = password or generate_password()
    user = User(
        username=username.strip().lower(),
        email=None,
        display_name="Administrator",
        password_hash=hasher.hash(password),
        roles=[ROLE_ADMIN],
        station_id=station_id,
        created_at=now,
        updated_at=now,
        version=1,
        totp_last_step=0,
    )
    session.add(user)
    session.flush()
    record(
        session,
        meta=None,
        actor="cli",
        action="user.created",
        target_type="user",
        target_id=user.id,
        details={"roles": [ROLE_ADMIN], "station_id": station_id, "first_admin": only_if_empty},
        now=now,
    )
    return FirstAdmin(username=user.username, password=password)
