"""All four services and the gateway as real processes, shared by every fuzz test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_STACK_PATH = Path(__file__).resolve().parents[1] / "faults" / "stack.py"


def _stack_module():
    name = "stationhouse_fault_stack"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _STACK_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def full_stack(tmp_path_factory, database_factory, token_factory):
    module = _stack_module()
    workdir = tmp_path_factory.mktemp("fuzz")
    with module.running_stack(workdir, database_factory, token_factory) as running:
        # Wired as a deployment is: prediction and hotspots pull the records feed with service
        # accounts that auth issues; every service accepts auth's tokens and the test key.
        ports = {name: module.free_port() for name in ("auth", "records")}
        secrets = {"prediction": "fuzz-prediction-secret", "hotspots": "fuzz-hotspots-secret"}
        accounts = ",".join(f"{name}:{secret}" for name, secret in secrets.items())
        auth = running.start_service(
            "auth", port=ports["auth"], wait=False, AUTH_SERVICE_ACCOUNTS=accounts
        )
        records = running.start_service("records", port=ports["records"], wait=False)
        others = {
            name: running.start_service(
                name,
                wait=False,
                **{
                    f"{name.upper()}_AUTH_URL": auth.url,
                    f"{name.upper()}_RECORDS_URL": records.url,
                    f"{name.upper()}_CLIENT_ID": name,
                    f"{name.upper()}_CLIENT_SECRET": secret,
                },
            )
            for name, secret in secrets.items()
        }
        procs = {"auth": auth, "records": records, **others}
        for proc in procs.values():
            proc.wait_ready()
        running.jwks.also_from = auth.url + "/api/v1/auth/.well-known/jwks.json"
        upstreams = {name: proc.url for name, proc in procs.items()}
        running.start_gateway(upstreams)
        yield running
