"""Seeding the demo city: the Toronto MCI sample through the importer, else the generator."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select

from records_service.demo import generator
from records_service.imports.models import ImportJob
from records_service.imports.service import import_file, import_generated
from records_service.incidents.models import Incident
from servicekit.db import Database
from servicekit.logging import get_logger

log = get_logger(__name__)

DATASET_ENV = "STATIONHOUSE_DEMO_DATASET"
TORONTO_FILES = ("train.csv.gz", "train.csv")


def repository_root() -> Path:
    """The checkout this package runs from (services/records/src/records_service/..)."""
    return Path(__file__).resolve().parents[5]


def demo_dataset(env: dict[str, str] | None = None) -> Path | None:
    """The Toronto MCI file to load: $STATIONHOUSE_DEMO_DATASET (file or folder), else
    ../shared/datasets/toronto_mci beside the repository; None when neither exists."""
    env = dict(os.environ) if env is None else env
    configured = env.get(DATASET_ENV)
    candidate = (
        Path(configured)
        if configured
        else repository_root().parent / "shared" / "datasets" / "toronto_mci"
    )
    if candidate.is_dir():
        for name in TORONTO_FILES:
            if (candidate / name).is_file():
                return candidate / name
        return None
    return candidate if candidate.is_file() else None


def is_empty(database: Database) -> bool:
    """No incidents and no import ever run: a first start."""
    with database.session(write=False) as session:
        incidents = session.execute(select(func.count()).select_from(Incident)).scalar_one()
        jobs = session.execute(select(func.count()).select_from(ImportJob)).scalar_one()
    return incidents == 0 and jobs == 0


def seed_demo(
    database: Database,
    *,
    dataset: Path | None,
    seed: int = 20261129,
    count: int = 40_000,
    use_generator: bool = False,
) -> ImportJob:
    """Load the demo incidents (idempotent: seeding twice adds nothing)."""
    if dataset is not None and not use_generator:
        log.info("demo.seeding", source=str(dataset))
        return import_file(database, path=dataset, profile_name="toronto_mci", created_by="demo")
    log.info("demo.generating", seed=seed, count=count)
    incidents = generator.generate(seed=seed, count=count)
    return import_generated(
        database,
        incidents=incidents,
        profile_name="demo_generator",
        source_system=generator.SOURCE_SYSTEM,
        created_by="demo",
    )
