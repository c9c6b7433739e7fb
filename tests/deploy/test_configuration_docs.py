"""Every environment variable the code reads is documented, and the document is current."""

from __future__ import annotations

import importlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_configuration_doc_is_up_to_date(generator, variables):
    expected = generator.render(variables)
    current = (REPO / "docs" / "configuration.md").read_text()
    assert current == expected, (
        "docs/configuration.md is out of date: run `uv run python deploy/gen_config_docs.py`"
    )


def test_readme_configuration_table_is_up_to_date(generator, variables):
    current = (REPO / "README.md").read_text()
    assert current == generator.readme_with_tables(current, variables), (
        "README.md's configuration table is out of date: run "
        "`uv run python deploy/gen_config_docs.py`"
    )


def test_every_variable_has_a_description(variables):
    undocumented = [v.name for v in variables if not v.description.strip()]
    assert not undocumented, (
        f"settings without a description (add Field(description=...)): {undocumented}"
    )


def test_every_settings_field_is_found(generator, variables):
    # The table must cover each Settings class field by field, with the right prefix.
    names = {v.name for v in variables}
    for service, target in generator.SETTINGS_CLASSES:
        module_name, _, class_name = target.partition(":")
        settings_class = getattr(importlib.import_module(module_name), class_name)
        prefix = settings_class.model_config["env_prefix"]
        assert prefix == f"{service.upper()}_"
        for field in settings_class.model_fields:
            assert f"{prefix}{field}".upper() in names


def test_runner_variables_are_found(variables):
    # The `stationhouse` command reads these itself; a rename in processes.py shows up here.
    names = {v.name for v in variables}
    assert {"STATIONHOUSE_DATA_DIR", "STATIONHOUSE_HOST", "RECORDS_PORT", "GATEWAY_PORT"} <= names


def test_no_variable_is_listed_twice(variables):
    names = [v.name for v in variables]
    assert len(names) == len(set(names))


def test_defaults_do_not_leak_the_checkout_path(variables):
    assert not [v.name for v in variables if str(REPO) in v.default]
