"""One real records service behind a real gateway for the whole bad-input catalogue."""

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
def stack(tmp_path_factory, database_factory, token_factory):
    module = _stack_module()
    workdir = tmp_path_factory.mktemp("badinput")
    with module.running_stack(workdir, database_factory, token_factory) as running:
        records = running.start_service("records")
        running.start_gateway({"records": records.url})
        yield running
