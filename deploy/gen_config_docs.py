"""Generate docs/configuration.md: every environment variable Stationhouse reads.

The variables come from the code, never from a hand-kept list:
- each service's pydantic Settings class (env prefix + field name, upper-cased);
- the variables the `stationhouse` command itself reads (src/stationhouse/*.py).

    uv run python deploy/gen_config_docs.py           # rewrite docs/configuration.md
    uv run python deploy/gen_config_docs.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import types
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "docs" / "configuration.md"
README = REPO_ROOT / "README.md"
README_START = "<!-- config-table:start -->"
README_END = "<!-- config-table:end -->"
RUNNER_SOURCES = REPO_ROOT / "src" / "stationhouse"

# (service, "module:Class") in the order the table shows them.
SETTINGS_CLASSES = (
    ("auth", "auth_service.config:Settings"),
    ("records", "records_service.config:Settings"),
    ("prediction", "prediction_service.config:Settings"),
    ("hotspots", "hotspots_service.config:Settings"),
    ("gateway", "gateway.config:Settings"),
)
SERVICE_PREFIXES = ("AUTH_", "RECORDS_", "PREDICTION_", "HOTSPOTS_", "GATEWAY_")

# The `stationhouse` command's own variables have no Settings class to carry a description.
RUNNER_DESCRIPTIONS = {
    "STATIONHOUSE_DATA_DIR": (
        "Folder for SQLite databases, documents, logs and generated local secrets "
        "(default .stationhouse)"
    ),
    "STATIONHOUSE_HOST": "Address every process listens on and is called at (default 127.0.0.1)",
    "STATIONHOUSE_DRAIN_SECONDS": (
        "On Ctrl-C/SIGTERM, seconds each service fails /readyz before it stops (default 0)"
    ),
    "PORT": "Port of this process under `stationhouse up`",
}

# Fields every service inherits from ServiceSettings but this process never uses.
NOT_USED = {"GATEWAY_DATABASE_URL": "Not used: the gateway has no database."}

ENV_NAME = re.compile(
    r"""["']((?:STATIONHOUSE|AUTH|RECORDS|PREDICTION|HOTSPOTS|GATEWAY)_[A-Z0-9_]+)["']"""
)
PER_SERVICE_NAME = re.compile(r"""\{(?:self|spec)\.prefix\}([A-Z0-9_]+)""")


@dataclass(frozen=True)
class EnvVar:
    name: str
    service: str  # auth, records, ..., or "stationhouse" for the CLI runner
    type: str
    default: str
    description: str
    secret: bool = False


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        optional = any(a is type(None) for a in args)
        return " | ".join(names) + (" (optional)" if optional else "")
    if origin is typing.Literal:
        return " / ".join(repr(a).strip("'") for a in args)
    if origin in (list, tuple, set, frozenset):
        return "JSON array"
    if origin is dict:
        return "JSON object"
    if isinstance(annotation, type):
        if issubclass(annotation, SecretStr):
            return "secret string"
        if issubclass(annotation, Enum):
            return " / ".join(str(m.value) for m in annotation)
        if issubclass(annotation, bool):
            return "boolean"
        if issubclass(annotation, Path):
            return "path"
        return {"str": "string", "int": "integer", "float": "number"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _default_text(field: Any) -> str:
    if field.default_factory is not None:
        try:
            value = field.default_factory()
        except TypeError:
            return "(computed)"
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return "(secret)" if value.get_secret_value() else '""'
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        if isinstance(value, (set, frozenset)):
            value = sorted(value)
        text = json.dumps(value, default=str)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    # Defaults computed from where the code lives must not depend on the checkout's folder.
    return text.replace(str(REPO_ROOT), "<repo>")


def _is_secret(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, SecretStr):
        return True
    return any(_is_secret(a) for a in typing.get_args(annotation))


def settings_variables() -> list[EnvVar]:
    """One EnvVar per field of every service's Settings class."""
    found: list[EnvVar] = []
    for service, target in SETTINGS_CLASSES:
        module_name, _, class_name = target.partition(":")
        settings_class = getattr(importlib.import_module(module_name), class_name)
        prefix = settings_class.model_config.get("env_prefix", "")
        for field_name, field in settings_class.model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else None
            name = (alias or f"{prefix}{field_name}").upper()
            found.append(
                EnvVar(
                    name=name,
                    service=service,
                    type=_type_name(field.annotation),
                    default=_default_text(field),
                    description=NOT_USED.get(name, " ".join((field.description or "").split())),
                    secret=_is_secret(field.annotation)
                    or "SECRET" in name.split("_")
                    or name.endswith("_PASSWORD")
                    or (field.description or "").lower().startswith("secret "),
                )
            )
    return found


def runner_variables(known: set[str]) -> list[EnvVar]:
    """Variables `stationhouse` reads itself (not already a service setting)."""
    names: set[str] = set()
    for path in sorted(RUNNER_SOURCES.glob("*.py")):
        source = path.read_text()
        names.update(ENV_NAME.findall(source))
        for suffix in PER_SERVICE_NAME.findall(source):
            names.update(prefix + suffix for prefix in SERVICE_PREFIXES)
    found = []
    for name in sorted(names - known):
        description = RUNNER_DESCRIPTIONS.get(name)
        prefix = next((p for p in SERVICE_PREFIXES if name.startswith(p)), None)
        if description is None and prefix is not None:
            description = RUNNER_DESCRIPTIONS.get(
                name[len(prefix) :],
                f"Passed by `stationhouse up` to the {prefix[:-1].lower()} process",
            )
        found.append(
            EnvVar(
                name=name,
                service="stationhouse",
                type="",
                default="",
                description=description or "",
            )
        )
    return found


def all_variables() -> list[EnvVar]:
    services = settings_variables()
    return services + runner_variables({v.name for v in services})


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(variables: list[EnvVar]) -> str:
    lines = [
        "# Configuration",
        "",
        "<!-- Generated by deploy/gen_config_docs.py from the Settings classes; do not edit. -->",
        "",
        "Every process reads its settings from environment variables: the service's prefix",
        "(`AUTH_`, `RECORDS_`, `PREDICTION_`, `HOTSPOTS_`, `GATEWAY_`) followed by the setting's",
        "name. `stationhouse up` fills in working values for a laptop (SQLite files and generated",
        "secrets under `STATIONHOUSE_DATA_DIR`); docker-compose.yml and deploy/k8s set them for",
        "containers. Values marked secret must come from a secret store, never from a",
        'committed file. Lists and maps are given as JSON (`["a", "b"]`, `{"k": 1}`).',
        "",
    ]
    titles = {
        "auth": "auth service",
        "records": "records service",
        "prediction": "prediction service",
        "hotspots": "hotspots service",
        "gateway": "gateway",
    }
    for service, title in titles.items():
        rows = [v for v in variables if v.service == service]
        lines += [f"## {title}", "", "| variable | type | default | description |"]
        lines.append("| --- | --- | --- | --- |")
        for v in rows:
            kind = v.type + (" (secret)" if v.secret and "secret" not in v.type else "")
            lines.append(
                f"| `{v.name}` | {_cell(kind)} | `{_cell(v.default)}` | {_cell(v.description)} |"
            )
        lines.append("")
    runner = [v for v in variables if v.service == "stationhouse"]
    lines += [
        "## `stationhouse` command (laptop runner)",
        "",
        "Read by `stationhouse up` / `stationhouse migrate` only; containers do not need them",
        "(the image sets `STATIONHOUSE_DATA_DIR`).",
        "",
        "| variable | description |",
        "| --- | --- |",
    ]
    lines += [f"| `{v.name}` | {_cell(v.description)} |" for v in runner]
    lines.append("")
    return "\n".join(lines)


def readme_with_tables(readme: str, variables: list[EnvVar]) -> str:
    """The README with the same tables between its config-table markers (one level down)."""
    body = render(variables).split("\n## ", 1)[1]
    tables = "\n".join(
        "#" + line if line.startswith("## ") else line for line in ("## " + body).splitlines()
    )
    head, _, rest = readme.partition(README_START)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_START}\n{tables.rstrip()}\n{README_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    variables = all_variables()
    text = render(variables)
    readme = readme_with_tables(README.read_text(), variables)
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text or README.read_text() != readme:
            print(
                "docs/configuration.md or README.md is out of date: run "
                "`uv run python deploy/gen_config_docs.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    README.write_text(readme)
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)} and the table in README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
