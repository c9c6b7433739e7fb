"""Which processes make up Stationhouse, and how they are configured from the environment."""

from __future__ import annotations

import base64
import importlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    app: str  # uvicorn factory
    package: str | None  # package with db.MIGRATIONS_PATH, None for the gateway
    default_port: int
    prefix: str

    def port(self, env: dict[str, str]) -> int:
        return int(env.get(f"{self.prefix}PORT", self.default_port))

    def migrations_path(self) -> Path | None:
        if self.package is None:
            return None
        module = importlib.import_module(f"{self.package}.db")
        path: Path = module.MIGRATIONS_PATH
        return path


SERVICES = (
    ServiceSpec("auth", "auth_service.main:create_app", "auth_service", 8001, "AUTH_"),
    ServiceSpec("records", "records_service.main:create_app", "records_service", 8002, "RECORDS_"),
    ServiceSpec(
        "prediction",
        "prediction_service.main:create_app",
        "prediction_service",
        8003,
        "PREDICTION_",
    ),
    ServiceSpec(
        "hotspots", "hotspots_service.main:create_app", "hotspots_service", 8004, "HOTSPOTS_"
    ),
    ServiceSpec("gateway", "gateway.main:create_app", None, 8000, "GATEWAY_"),
)
BACKENDS = tuple(s for s in SERVICES if s.package is not None)
GATEWAY = SERVICES[-1]


def data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("STATIONHOUSE_DATA_DIR", ".stationhouse")).resolve()


def local_secrets(directory: Path) -> dict[str, str]:
    """Secrets for a laptop run, made once and kept in <data dir>/secrets.env (mode 0600).

    AUTH_KEY_ENCRYPTION_KEY is a Fernet key (url-safe base64 of 32 random bytes); the client
    secrets are the service accounts of prediction and hotspots. Deployments set all of these
    from their own secret store instead.
    """
    path = directory / "secrets.env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    wanted: dict[str, Callable[[], str]] = {
        "AUTH_KEY_ENCRYPTION_KEY": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "PREDICTION_CLIENT_SECRET": lambda: secrets.token_urlsafe(32),
        "HOTSPOTS_CLIENT_SECRET": lambda: secrets.token_urlsafe(32),
    }
    missing = {key: make() for key, make in wanted.items() if key not in values}
    if missing:
        directory.mkdir(parents=True, exist_ok=True)
        values.update(missing)
        path.write_text("".join(f"{k}={v}\n" for k, v in sorted(values.items())))
        path.chmod(0o600)
    return values


def resolved_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every process gets: defaults filled in, what the user set kept."""
    env = dict(os.environ if base is None else base)
    host = env.get("STATIONHOUSE_HOST", "127.0.0.1")
    directory = data_dir(env)
    ports = {s.name: s.port(env) for s in SERVICES}
    for spec in BACKENDS:
        env.setdefault(f"{spec.prefix}DATABASE_URL", f"sqlite:///{directory / (spec.name + '.db')}")
        env.setdefault(
            f"{spec.prefix}JWKS_URL",
            f"http://{host}:{ports['auth']}/api/v1/auth/.well-known/jwks.json",
        )
        env.setdefault(f"GATEWAY_{spec.name.upper()}_URL", f"http://{host}:{ports[spec.name]}")
    env.setdefault(
        "GATEWAY_JWKS_URL", f"http://{host}:{ports['auth']}/api/v1/auth/.well-known/jwks.json"
    )
    env.setdefault("PREDICTION_RECORDS_URL", f"http://{host}:{ports['records']}")
    env.setdefault("HOTSPOTS_RECORDS_URL", f"http://{host}:{ports['records']}")
    env.setdefault("PREDICTION_AUTH_URL", f"http://{host}:{ports['auth']}")
    env.setdefault("HOTSPOTS_AUTH_URL", f"http://{host}:{ports['auth']}")
    env.setdefault("RECORDS_DOCUMENTS_DIR", str(directory / "documents"))
    for key, value in local_secrets(directory).items():
        env.setdefault(key, value)
    env.setdefault("PREDICTION_CLIENT_ID", "prediction")
    env.setdefault("HOTSPOTS_CLIENT_ID", "hotspots")
    env.setdefault(
        "AUTH_SERVICE_ACCOUNTS",
        f"{env['PREDICTION_CLIENT_ID']}:{env['PREDICTION_CLIENT_SECRET']},"
        f"{env['HOTSPOTS_CLIENT_ID']}:{env['HOTSPOTS_CLIENT_SECRET']}",
    )
    return env
