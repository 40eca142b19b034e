"""Shared fixtures.

Data-layer tests take `database_url` (or `engine`), parametrised over SQLite and PostgreSQL.
Each test gets a fresh, migrated database copied from a per-run template: a file copy on
SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL. The PostgreSQL databases live on the
server named by PANTAU_TEST_POSTGRES_URL and are dropped when the run ends. Without that
variable the PostgreSQL half is skipped (with the reason shown); with it set and the server
unreachable, those tests fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from db.engine import make_engine
from db.migrate import upgrade

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = REPO_ROOT / "seeds" / "sop-kinerja-sekretariat-dpk-kalbar.txt"
CATALOG_DIR = REPO_ROOT / "sops"
POSTGRES_ENV = "PANTAU_TEST_POSTGRES_URL"
# Real users get bcrypt's default cost; tests hash hundreds of passwords.
os.environ.setdefault("PANTAU_BCRYPT_ROUNDS", "4")
# The kept history of each test database goes to a folder of this run, not to data/cache.
os.environ.setdefault("PANTAU_CACHE_DIR", tempfile.mkdtemp(prefix="pantau-cache-"))


class SqliteDatabases:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        engine = make_engine(f"sqlite:///{self.template}")
        upgrade(engine)
        engine.dispose()

    def fresh(self) -> str:
        path = self.directory / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def empty(self) -> str:
        """A database with no tables (the file does not exist yet)."""
        return f"sqlite:///{self.directory / uuid.uuid4().hex}.db"


class PostgresDatabases:
    """Databases created for this run (template first) and dropped at its end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"pantau_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.template = self._create(f"{self.prefix}_template")
        engine = make_engine(self.url(self.template))
        upgrade(engine)
        engine.dispose()

    def _create(self, name: str, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return name

    def url(self, name: str) -> str:
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        return self.url(self._create(f"{self.prefix}_{len(self.created)}", self.template))

    def empty(self) -> str:
        """A database with no tables."""
        return self.url(self._create(f"{self.prefix}_{len(self.created)}"))

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in reversed(self.created):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    server_url = os.environ.get(POSTGRES_ENV)
    if not server_url:
        pytest.skip(f"{POSTGRES_ENV} is not set: the PostgreSQL half of the data-layer tests "
                    "did not run")
    try:
        databases = PostgresDatabases(server_url)
    except OperationalError as error:
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL is unreachable: {error}")
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_databases").fresh()
    return request.getfixturevalue("postgres_databases").fresh()


@pytest.fixture
def empty_database_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """A second database on the same backend as `database_url`, with no tables at all."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    return request.getfixturevalue(f"{kind}_databases").empty()


@pytest.fixture
def sqlite_url(sqlite_databases: SqliteDatabases) -> str:
    """A fresh, migrated SQLite database, for tests that are about one process, not the backend."""
    return sqlite_databases.fresh()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
