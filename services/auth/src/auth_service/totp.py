"""TOTP second factor (RFC 6238 via pyotp): each code is accepted once only."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

DIGITS = 6
PERIOD = 30
# Accept the previous and next 30 s step too (phone clocks drift); never a step used before.
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=account, issuer_name=issuer
    )


def matching_step(secret: str, code: str, *, now: datetime, last_step: int) -> int | None:
    """The time step `code` belongs to if it is valid now and newer than `last_step`."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = int(now.timestamp()) // PERIOD
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
