"""Engine and session factory.

The database URL comes from `PANTAU_DATABASE_URL`; the default is a SQLite file under
`data/`. SQLite connections get WAL (readers never block the writer), foreign keys and a busy
timeout. Write transactions on SQLite begin IMMEDIATE, so two writers queue on the database
lock instead of failing later on a stale snapshot; reads stay deferred and never block.

SQLite's busy timeout is a poll, not a queue: under many writers on a loaded machine one of
them can keep losing the lock for the whole timeout ("database is locked" at BEGIN IMMEDIATE,
seen in the 20-writer load test). So the writers of one process (the Streamlit server runs
every user session as a thread of one process) take turns on a lock of their own first,
and a BEGIN that still finds the database locked (another process: the command line, an
import) is tried again a few times before the user is told the database is busy.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVarTuple, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    CursorResult,
    Engine,
    Executable,
    Row,
    Select,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import QueryableAttribute, Session

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = REPO_ROOT / "data" / "pantau.db"
DATABASE_URL_ENV = "PANTAU_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 15_000
SQLITE_BEGIN_ATTEMPTS = 3  # each waits up to the busy timeout
SQLITE_WRITER_TURN_SECONDS = 60  # longest wait for this process's other writers


class DatabaseBusy(Exception):
    """Another writer kept the SQLite database locked past every wait; nothing was written."""


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


def _bind_none_directly() -> None:
    """Python's sqlite3 binds None as NULL only after looking for an adapter: a tuple built,
    a failed dict look-up, then two failed attribute look-ups, all holding Python's lock
    (297 ns a value, against 33 ns for an int). An adapter registered for None (which hands
    back None, so the value is still bound as NULL) ends the search at the dict: 100 ns. A
    1M-event import binds millions of them (the empty cells of the log): 21.4-21.6 ->
    20.1-20.6 s. The registry is the sqlite3 module's, for the whole process, and None stays
    NULL for every statement."""
    # {}.get(None) is None, called in C (a Python function: 130 ns a value)
    sqlite3.register_adapter(type(None), cast("Callable[[None], None]", {}.get))


def _configure_sqlite(engine: Engine) -> None:
    _bind_none_directly()
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
    if engine.dialect.name != "sqlite":
        with _committed(Session(write_engine, expire_on_commit=False)) as session:
            yield session
        return
    with _writer_turn(engine), _committed(_begun_sqlite_session(write_engine)) as session:
        yield session


@contextmanager
def _committed(session: Session) -> Iterator[Session]:
    # Not `with session.begin()`: code that goes on using a session after a failed flush then
    # gets the same PendingRollbackError on both backends, which the app's handler shows.
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_TURNS: dict[str, threading.Lock] = {}
_TURNS_GUARD = threading.Lock()


@contextmanager
def _writer_turn(engine: Engine) -> Iterator[None]:
    """This process's writers to one SQLite file, one at a time (a lock wakes the next writer
    when it is free; SQLite's busy timeout only polls, and can starve one)."""
    key = str(Path(engine.url.database or ":memory:").resolve())
    with _TURNS_GUARD:
        turn = _TURNS.setdefault(key, threading.Lock())
    if not turn.acquire(timeout=SQLITE_WRITER_TURN_SECONDS):
        raise DatabaseBusy("other writers of this process held the database too long")
    try:
        yield
    finally:
        turn.release()


def _begun_sqlite_session(write_engine: Engine) -> Session:
    """A session whose BEGIN IMMEDIATE has run, tried again while another process holds the
    lock. Nothing has been read or written yet, so a retry repeats nothing."""
    for attempt in range(SQLITE_BEGIN_ATTEMPTS):
        session = Session(write_engine, expire_on_commit=False)
        try:
            session.connection()  # emits BEGIN IMMEDIATE (the "begin" listener above)
            return session
        except OperationalError as error:
            session.close()
            if not is_busy(error) or attempt == SQLITE_BEGIN_ATTEMPTS - 1:
                raise
        _pause_before_retry(attempt)
    raise AssertionError("unreachable")


def _pause_before_retry(attempt: int) -> None:
    time.sleep((0.2 * 2**attempt) * (1 + random.random()))  # jitter: writers do not collide again


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "locked by another writer" (SQLite), not a fault."""
    if isinstance(error, DatabaseBusy):
        return True
    original = getattr(error, "orig", None)
    if not isinstance(original, sqlite3.OperationalError):
        return False
    code = getattr(original, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def affected_rows(session: Session, statement: Executable) -> int:
    """How many rows an UPDATE or DELETE changed (version checks and "not found" rely on it)."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


SQLITE_VALUES_PER_STATEMENT = 500  # well under SQLite's limit on bound values
_Columns = TypeVarTuple("_Columns")


def rows_where_in(session: Session, query: Select[*_Columns],
                  column: QueryableAttribute[Any] | ColumnElement[Any],
                  values: Sequence[Any]) -> list[Row[*_Columns]]:
    """The rows of `query` whose `column` holds one of `values`. On PostgreSQL one statement
    with the values as one array; on SQLite a statement per chunk of bound values, each
    compiled and bound anew (on PostgreSQL, 3,700 values: 35 ms in chunks, 7 ms as an array)."""
    values = list(dict.fromkeys(values))  # a row once, however often its value is asked
    if not values:
        return []
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam("where_in_values", values, type_=ARRAY(column.type))
        return list(session.execute(query.where(column == any_(array))))
    found: list[Row[*_Columns]] = []
    for start in range(0, len(values), SQLITE_VALUES_PER_STATEMENT):
        found += session.execute(query.where(
            column.in_(values[start:start + SQLITE_VALUES_PER_STATEMENT])))
    return found


def driver_rows(session: Session, query: Select[Any], *,
                chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of a query of plain columns (numbers and text: no result type to apply),
    straight from the driver's cursor, `chunk` rows at a time, in the session's transaction.
    SQLAlchemy's Row objects cost about a microsecond each: a sixth of a million-event export.
    The parameters are converted by their own types, as SQLAlchemy would (plain values only:
    an IN list of parameters, which SQLAlchemy expands at execution, is not). On PostgreSQL the
    cursor is a server-side one, so the rows stream (psycopg's default cursor would hold the
    whole result in memory); SQLite's cursor steps as it is read."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = query.compile(dialect=dialect)
    values = compiled.construct_params()
    params = {}
    for bind, name in compiled.bind_names.items():
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = convert(values[name]) if convert is not None else values[name]
    driver = driver_connection(connection)
    postgresql = dialect.name == "postgresql"
    cursor = driver.cursor(name="pantau_driver_rows") if postgresql else driver.cursor()
    try:
        cursor.execute(compiled.string, tuple(params[name] for name in compiled.positiontup or ())
                       if compiled.positional else params)
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def analyze_grown_tables(session: Session, written: Mapping[str, int]) -> list[str]:
    """PostgreSQL: the planner's statistics of the tables a bulk load grew, gathered in the
    load's own transaction (ANALYZE counts the transaction's own new rows), for each table
    that had none or grew by autovacuum's measure (50 rows and a tenth). Autovacuum would
    gather them only a minute or more after the commit; meanwhile the planner takes the table
    for its old size or, never measured, guesses, and the first page after a 1M-event import
    read the newest events by scanning all of them (154 ms a query, against 0.02 ms by the
    key's index; eighteenth machine). A role that does not own a table is warned and skipped
    by the server, not refused. Returns the tables analysed."""
    if session.get_bind().dialect.name != "postgresql" or not any(written.values()):
        return []
    rows_before: dict[str, float] = {name: rows for name, rows in session.execute(text(
        "SELECT name, reltuples FROM unnest(CAST(:names AS text[])) AS name "
        "JOIN pg_class ON pg_class.oid = to_regclass(quote_ident(name))"),
        {"names": sorted(written)})}
    grown = [name for name, rows in sorted(written.items())
             if name in rows_before and rows and (rows_before[name] < 0
                                                  or rows >= 50 + 0.1 * rows_before[name])]
    from psycopg import sql

    with driver_connection(session.connection()).cursor() as cursor:
        for name in grown:  # composed by psycopg: a name is quoted, never spliced in
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))
    return grown


def driver_connection(connection: Connection) -> Any:
    """The driver's own connection under `connection` (sqlite3's or psycopg's), in the same
    transaction, for what SQLAlchemy does not offer: a raw cursor, PostgreSQL's COPY."""
    driver = connection.connection.driver_connection
    assert driver is not None  # a pooled connection always has one
    return driver
