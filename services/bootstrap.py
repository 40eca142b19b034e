"""Bringing a database up to date: migrations, then the catalog from `sops/`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from db.engine import REPO_ROOT, write_session
from db.migrate import upgrade
from services.catalog.store import LoadResult, load_catalog
from services.catalog.yaml_io import catalog_files, read_catalog
from services.clock import utcnow

DEFAULT_CATALOG_DIR = REPO_ROOT / "sops"


def initialise(*, engine: Engine, catalog_dir: Path = DEFAULT_CATALOG_DIR) -> list[LoadResult]:
    """Migrate, then load the catalog. Safe to run any number of times.

    Every catalog file is validated before anything is written, and the load is one
    transaction: a bad file leaves the database as it was.
    """
    upgrade(engine)
    sops = read_catalog(catalog_files(catalog_dir))
    with write_session(engine) as session:
        return load_catalog(session, sops=sops, now=utcnow())
