"""Access-token verification against the auth service's JWKS, and role dependencies.

Services verify tokens locally with cached public keys; nobody calls auth per request. Beside
the keys, auth publishes the sessions it ended within an access token's lifetime (sign-out,
account disabled, roles changed, password or TOTP reset); each verifier refreshes that list
when it is older than a few seconds (one shared fetch, waited for at most a second) and refuses a
token of an ended session, so ending a session takes effect everywhere within that interval,
not when its access token expires.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.errors import Forbidden, Unauthorized
from servicekit.logging import get_logger

log = get_logger(__name__)

ROLE_ADMIN = "admin"
ROLE_SUPERVISOR = "supervisor"
ROLE_OFFICER = "officer"
ROLE_ANALYST = "analyst"
ROLE_CITIZEN = "citizen"
# Client-credentials accounts of prediction and hotspots: may read the records export only.
ROLE_SERVICE = "service"
STAFF_ROLES = frozenset({ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_OFFICER, ROLE_ANALYST})
ALL_ROLES = STAFF_ROLES | {ROLE_CITIZEN, ROLE_SERVICE}

ALLOWED_ALGORITHMS = ("EdDSA", "ES256")
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068; refresh and ID tokens never carry it)
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti")
# An unknown kid triggers at most one JWKS refetch per this many seconds (no refetch storms).
UNKNOWN_KID_REFETCH_SECONDS = 5.0
FAILED_FETCH_RETRY_SECONDS = 10.0
REVOKED_SESSIONS_DOCUMENT = "revoked-sessions.json"
# A request waits at most this long for a due refresh of the ended sessions.
REVOCATION_WAIT_SECONDS = 1.0


def revoked_sessions_url(jwks_url: str) -> str:
    """Auth publishes the ended sessions beside its JWKS: .../.well-known/revoked-sessions.json."""
    return jwks_url.rsplit("/", 1)[0] + "/" + REVOKED_SESSIONS_DOCUMENT


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified access token."""

    subject: str
    roles: frozenset[str]
    station_id: str | None
    token_id: str
    expires_at: int
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)


class InvalidToken(Unauthorized):
    type_slug, title = "invalid-token", "Invalid or expired access token"


class JWKSVerifier:
    """Verify EdDSA/ES256 access tokens with keys fetched from a JWKS URL and cached."""

    def __init__(
        self,
        *,
        jwks_url: str | None,
        issuer: str,
        audience: str,
        cache_seconds: float = 300.0,
        leeway_seconds: float = 30.0,
        http_timeout: float = 5.0,
        static_jwks: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        revocation_refresh_seconds: float = 5.0,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.cache_seconds = cache_seconds
        self.leeway = leeway_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._last_unknown_kid_fetch = float("-inf")
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._http_timeout = http_timeout
        self._static = static_jwks is not None
        if static_jwks is not None:
            self._load(static_jwks)
        # Ended sessions (the `sid` claim); off without a JWKS URL or with a refresh of 0.
        self.revocations_url = (
            revoked_sessions_url(jwks_url)
            if jwks_url and static_jwks is None and revocation_refresh_seconds > 0
            else None
        )
        self.revocation_refresh_seconds = revocation_refresh_seconds
        self._revoked: frozenset[str] = frozenset()
        self._revocations_fetched_at = float("-inf")
        self._revocations_task: asyncio.Task[None] | None = None

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any], *, issuer: str, audience: str) -> JWKSVerifier:
        """A verifier with a fixed key set (offline deployments and tests)."""
        return cls(jwks_url=None, issuer=issuer, audience=audience, static_jwks=jwks)

    def _load(self, jwks: dict[str, Any]) -> None:
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in jwks.get("keys", []):
            kid = jwk.get("kid")
            alg = jwk.get("alg")
            if not kid or alg not in ALLOWED_ALGORITHMS:
                continue
            try:
                keys[kid] = jwt.PyJWK(jwk)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError):
                log.warning("jwks.key_skipped", kid=kid)
        self._keys = keys
        self._fetched_at = self._clock()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._http_timeout, connect=min(2.0, self._http_timeout))
            )
        return self._client

    async def _fetch(self) -> None:
        if self._static or not self.jwks_url:
            return
        try:
            response = await self._http().get(self.jwks_url)
            response.raise_for_status()
            self._load(response.json())
            log.info("jwks.refreshed", keys=sorted(self._keys))
        except (httpx.HTTPError, json.JSONDecodeError, ValueError) as exc:
            # Keep serving with the keys we have; an outage of auth must not log everyone out,
            # nor make every request wait on a failing fetch: retry after a short pause.
            log.warning("jwks.fetch_failed", url=self.jwks_url, error=type(exc).__name__)
            pause = min(FAILED_FETCH_RETRY_SECONDS, self.cache_seconds)
            self._fetched_at = self._clock() - self.cache_seconds + pause

    async def _key_for(self, kid: str) -> jwt.PyJWK | None:
        now = self._clock()
        if now - self._fetched_at > self.cache_seconds:
            async with self._lock:
                if self._clock() - self._fetched_at > self.cache_seconds:
                    await self._fetch()
        key = self._keys.get(kid)
        if key is None and now - self._last_unknown_kid_fetch > UNKNOWN_KID_REFETCH_SECONDS:
            async with self._lock:
                self._last_unknown_kid_fetch = self._clock()
                await self._fetch()
            key = self._keys.get(kid)
        return key

    async def _fetch_revocations(self) -> None:
        assert self.revocations_url is not None
        try:
            response = await self._http().get(self.revocations_url)
            response.raise_for_status()
            sessions = response.json()["sessions"]
            if not isinstance(sessions, list):
                raise ValueError("sessions is not a list")
            self._revoked = frozenset(str(sid) for sid in sessions)
            self._revocations_fetched_at = self._clock()
        except (httpx.HTTPError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            # Keep the last list: an outage of auth must not log everyone out. Retry soon.
            log.warning(
                "revocations.fetch_failed", url=self.revocations_url, error=type(exc).__name__
            )
            pause = min(FAILED_FETCH_RETRY_SECONDS, self.revocation_refresh_seconds)
            self._revocations_fetched_at = self._clock() - self.revocation_refresh_seconds + pause

    async def _current_revocations(self) -> frozenset[str]:
        """The ended sessions, refreshed first when the list is older than the refresh interval.

        Concurrent requests share one fetch, and none waits for it longer than
        REVOCATION_WAIT_SECONDS: if auth is slow or down, the last list stays in force.
        """
        if self.revocations_url is None:
            return self._revoked
        if self._clock() - self._revocations_fetched_at <= self.revocation_refresh_seconds:
            return self._revoked
        if self._revocations_task is None or self._revocations_task.done():
            self._revocations_task = asyncio.create_task(self._fetch_revocations())
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._revocations_task), REVOCATION_WAIT_SECONDS)
        return self._revoked

    async def check_session(self, principal: Principal) -> Principal:
        """Refuse a token whose session auth has ended (signed out, disabled, changed)."""
        sid = principal.claims.get("sid")
        if isinstance(sid, str) and sid in await self._current_revocations():
            raise InvalidToken("This session has ended (signed out or changed); sign in again.")
        return principal

    async def verify(self, token: str) -> Principal:
        """Return the token's principal, or raise InvalidToken (401)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is malformed.") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken("The token's signing algorithm is not accepted.")
        if str(header.get("typ", "")).lower() != ACCESS_TOKEN_TYPE:
            raise InvalidToken("The token is not an access token.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("The token names no signing key.")
        key = await self._key_for(kid)
        if key is None:
            raise InvalidToken("The token was signed by an unknown or retired key.")
        if key.algorithm_name != alg:
            raise InvalidToken("The token's algorithm does not match its key.")
        return await self.check_session(self.decode_with(key, token))

    def decode_with(self, key: jwt.PyJWK, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is not valid.") from exc
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("The token's roles claim is malformed.")
        station = claims.get("station_id")
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(roles) & ALL_ROLES,
            station_id=str(station) if station is not None else None,
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            claims=claims,
        )

    async def aclose(self) -> None:
        if self._revocations_task is not None and not self._revocations_task.done():
            self._revocations_task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_bearer = HTTPBearer(auto_error=False, description="Access token from /api/v1/auth/token")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 when the token is missing or invalid."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("An access token is required (Authorization: Bearer ...).")
    verifier: JWKSVerifier = request.app.state.verifier
    principal = await verifier.verify(credentials.credentials)
    request.scope.setdefault("state", {})["subject"] = principal.subject
    return principal


async def get_optional_principal(request: Request) -> Principal | None:
    """The caller if a token is present (and valid), else None; an invalid token is still 401."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    verifier: JWKSVerifier = request.app.state.verifier
    principal = await verifier.verify(token.strip())
    request.scope.setdefault("state", {})["subject"] = principal.subject
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold at least one of `roles` (403 otherwise)."""
    allowed = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & allowed:
            raise Forbidden("Your role does not allow this action.")
        return principal

    return dependency
