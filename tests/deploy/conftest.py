"""Shared helpers for the deployment checks: the generated list of settings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("auth", "records", "prediction", "hotspots", "gateway")
BACKENDS = ("auth", "records", "prediction", "hotspots")


def _load_generator():
    name = "stationhouse_gen_config_docs"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "deploy" / "gen_config_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def generator():
    return _load_generator()


@pytest.fixture(scope="session")
def variables(generator):
    return generator.all_variables()


@pytest.fixture(scope="session")
def settings_by_service(variables):
    """{service: {VARIABLE: EnvVar}} for the variables each service's Settings class reads."""
    found = {service: {} for service in SERVICES}
    for v in variables:
        if v.service in found:
            found[v.service][v.name] = v
    return found
