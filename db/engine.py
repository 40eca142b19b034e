"""Engine and session factory.

The database URL comes from `PANTAU_DATABASE_URL`; the default is a SQLite file under
`data/`. SQLite connections get WAL (readers never block the writer), foreign keys and a busy
timeout. Write transactions on SQLite begin IMMEDIATE, so two writers queue on the database
lock instead of failing later on a stale snapshot; reads stay deferred and never block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = REPO_ROOT / "data" / "pantau.db"
DATABASE_URL_ENV = "PANTAU_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def database_url() -> str:
    """The configured database URL (environment first, then the default SQLite file)."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    url = url or database_url()
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own
        # transaction handling would defer it past our control).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("pantau_write") else ""
        connection.exec_driver_sql(f"BEGIN {mode}".strip())


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; rolled back at the end."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    write_engine = engine.execution_options(pantau_write=True)
    with Session(write_engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


def affected_rows(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE changed (version checks and "not found" rely on it)."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount
