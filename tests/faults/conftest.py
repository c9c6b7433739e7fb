"""Fault runs start real processes: a records service, other services, a gateway."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_STACK_PATH = Path(__file__).resolve().parent / "stack.py"


def load_stack_module():
    """tests/faults/stack.py, importable from any test folder and from bench/."""
    name = "stationhouse_fault_stack"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _STACK_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def stack(tmp_path, database_factory, token_factory):
    module = load_stack_module()
    with module.running_stack(tmp_path, database_factory, token_factory) as running:
        yield running
