"""Settings of the auth service (environment variables prefixed AUTH_)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from servicekit.settings import ServiceSettings, service_config


class Settings(ServiceSettings):
    model_config = service_config("AUTH_")

    database_url: str = Field(
        default="sqlite:///./.stationhouse/auth.db",
        description="SQLAlchemy URL of the auth database",
    )
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "Fernet key (url-safe base64 of 32 random bytes) that encrypts the signing keys and "
            "TOTP secrets at rest. Required: the service refuses to start without it unless "
            "AUTH_ALLOW_DEV_KEY=true."
        ),
    )
    allow_dev_key: bool = Field(
        default=False,
        description=(
            "Development only: without AUTH_KEY_ENCRYPTION_KEY, encrypt with a fixed, publicly "
            "known key (logged as a warning at every start). Never set this in production."
        ),
    )
    access_token_ttl_seconds: int = Field(default=900, ge=30, description="Access JWT lifetime")
    session_idle_seconds: int = Field(
        default=1800, ge=60, description="A session ends when not refreshed for this long"
    )
    session_absolute_seconds: int = Field(
        default=43200, ge=60, description="A session ends this long after login, whatever use"
    )
    key_retire_grace_seconds: int = Field(
        default=60,
        ge=0,
        description="After rotation the old key stays in JWKS for the token lifetime plus this",
    )
    lockout_threshold: int = Field(default=5, ge=1, description="Failed logins that lock")
    lockout_window_seconds: int = Field(default=900, ge=1, description="Window they count in")
    enrolment_ticket_seconds: int = Field(
        default=600, ge=30, description="Lifetime of the TOTP enrolment ticket after a password"
    )
    totp_issuer: str = Field(default="Stationhouse", description="Issuer shown in authenticators")
    min_password_score: int = Field(
        default=3, ge=0, le=4, description="Lowest zxcvbn score (0-4) a new password may have"
    )
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id iterations")
    argon2_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory (KiB)")
    argon2_parallelism: int = Field(default=4, ge=1, description="argon2id lanes")
    service_accounts: SecretStr = Field(
        default=SecretStr(""),
        description="client_id:secret pairs, comma separated, created or updated at startup",
    )
