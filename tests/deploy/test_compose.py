"""docker-compose.yml: valid against the Compose specification, every setting present, each
service with its own PostgreSQL, health checks, restarts, volumes, secrets only from .env."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from stationhouse.processes import SERVICES as PROCESS_SPECS

from .conftest import BACKENDS, SERVICES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
APP_SERVICES = (*SERVICES, "migrate")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def environment(compose, service):
    env = compose["services"][service].get("environment", {})
    assert isinstance(env, dict), f"{service}: write environment as a mapping"
    return {k: str(v) for k, v in env.items()}


def test_compose_file_is_valid_against_the_compose_spec():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_of_a_service_is_present_in_compose(compose, settings_by_service, service):
    env = environment(compose, service)
    unset = set(compose["services"][service].get("x-unset-settings", []))
    missing = sorted(set(settings_by_service[service]) - set(env) - unset)
    assert not missing, f"{service} in docker-compose.yml lacks {missing}"
    for name in unset:
        setting = settings_by_service[service].get(name)
        assert setting is not None, f"{service}: x-unset-settings names unknown {name}"
        assert setting.default == "(unset)" or "Not used" in setting.description, (
            f"{name} has a default of its own; set it explicitly instead"
        )


def test_compose_sets_no_unknown_variable(compose, variables):
    known = {v.name for v in variables}
    prefixes = ("AUTH_", "RECORDS_", "PREDICTION_", "HOTSPOTS_", "GATEWAY_", "STATIONHOUSE_")
    for service in APP_SERVICES:
        unknown = [
            n for n in environment(compose, service) if n.startswith(prefixes) and n not in known
        ]
        assert not unknown, f"{service} sets variables no code reads (typo?): {unknown}"


def test_secrets_come_from_the_environment_file_never_from_compose(compose, variables):
    secret_names = {v.name for v in variables if v.secret} | {
        f"{s.upper()}_DATABASE_URL" for s in BACKENDS
    }
    for service in APP_SERVICES:
        for name, value in environment(compose, service).items():
            if name in secret_names:
                assert "${" in value, f"{service}: {name} must come from .env, not the file"
    for service, spec in compose["services"].items():
        for name, value in (spec.get("environment") or {}).items():
            if name.endswith("PASSWORD"):
                assert "${" in str(value), f"{service}: {name} is written into compose"


def test_each_service_has_its_own_postgres_with_a_volume(compose):
    hosts = {}
    for service in BACKENDS:
        url = environment(compose, service)[f"{service.upper()}_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://"), url
        host = urlsplit(url.replace("${", "").replace("}", "")).hostname
        hosts[service] = host
        db = compose["services"][host]
        assert db["image"].startswith("postgres:")
        assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
        assert db["healthcheck"]["test"]
        # Only its own service (and the one-off migrations) share the database's network.
        members = {
            name
            for name, spec in compose["services"].items()
            if set(spec.get("networks", [])) & set(db["networks"])
        }
        assert members == {host, service, "migrate"}, members
        # The migrations job writes the same database the service reads.
        assert environment(compose, "migrate")[f"{service.upper()}_DATABASE_URL"] == url
    assert len(set(hosts.values())) == len(BACKENDS), hosts


def test_gateway_shares_rate_limits_through_redis(compose):
    url = environment(compose, "gateway")["GATEWAY_REDIS_URL"]
    host = urlsplit(url).hostname
    assert compose["services"][host]["image"].startswith("redis:")
    assert compose["services"][host]["healthcheck"]["test"]
    assert compose["services"]["gateway"]["depends_on"][host]["condition"] == "service_healthy"


def test_only_the_gateway_is_published_on_8000(compose):
    published = {
        name: spec["ports"] for name, spec in compose["services"].items() if spec.get("ports")
    }
    assert list(published) == ["gateway"]
    assert any(str(p).endswith(":8000") for p in published["gateway"])


@pytest.mark.parametrize("service", SERVICES)
def test_service_command_health_check_and_restart(compose, service):
    spec = compose["services"][service]
    command = spec["command"]
    process = next(p for p in PROCESS_SPECS if p.name == service)
    assert command[:4] == ["python", "-m", "servicekit.serve", process.app]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert float(command[command.index("--drain-seconds") + 1]) > 0
    probe = " ".join(spec["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/" in probe
    assert re.search(r"/(readyz|livez)", probe)
    assert spec["restart"] in ("unless-stopped", "always", "on-failure")
    assert spec["read_only"] is True
    assert "ALL" in spec["cap_drop"]
    if service != "gateway":
        # The gateway reaches the service where the service listens.
        upstream = environment(compose, "gateway")[f"GATEWAY_{service.upper()}_URL"]
        assert upstream == f"http://{service}:{port}"
        assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_migrations_run_once_before_the_services(compose):
    spec = compose["services"]["migrate"]
    assert spec["command"] == ["stationhouse", "migrate"]
    assert spec["restart"] == "no"
    for service in BACKENDS:
        assert spec["depends_on"][f"{service}-db"]["condition"] == "service_healthy"


def test_documents_and_data_are_on_volumes(compose):
    records = compose["services"]["records"]
    documents_dir = environment(compose, "records")["RECORDS_DOCUMENTS_DIR"]
    volume = next(v for v in records["volumes"] if v.endswith(":" + documents_dir))
    assert volume.split(":")[0] in compose["volumes"]
    for service in BACKENDS:
        assert f"{service}-db" in compose["volumes"]


def test_services_talk_to_each_other_by_compose_names(compose):
    for service in (*BACKENDS, "gateway"):
        jwks = environment(compose, service)[f"{service.upper()}_JWKS_URL"]
        assert jwks == "http://auth:8001/api/v1/auth/.well-known/jwks.json"
    for service in ("prediction", "hotspots"):
        env = environment(compose, service)
        assert env[f"{service.upper()}_RECORDS_URL"] == "http://records:8002"
        assert env[f"{service.upper()}_AUTH_URL"] == "http://auth:8001"
        account = f"{env[f'{service.upper()}_CLIENT_ID']}:{env[f'{service.upper()}_CLIENT_SECRET']}"
        assert account in environment(compose, "auth")["AUTH_SERVICE_ACCOUNTS"]
