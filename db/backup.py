"""Whole-database backup and restore: SQLite through its online backup API (safe while the app
runs), PostgreSQL through pg_dump/pg_restore (custom format), which must be on PATH and at
least the server's version."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from db.engine import is_sqlite, make_engine
from db.migrate import known_revisions


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator."""


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Basis data SQLite di memori tidak dapat dicadangkan.")
    return Path(database)


def _libpq_url(url: str) -> str:
    """postgresql+psycopg://... as the plain URL libpq tools understand."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} tidak ditemukan: pasang klien PostgreSQL "
                          "(Debian: apt install postgresql-client).")
    return found


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} gagal: {_one_line(result.stderr, 2000)}")


def backup_database(*, url: str, out: Path) -> Path:
    """Write a consistent copy of the database at `url` to `out` (not overwritten)."""
    if out.exists():
        raise BackupError(f"{out} sudah ada; pilih nama berkas lain.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(url):
        source = _sqlite_path(url)
        if not source.exists():
            raise BackupError(f"Basis data {source} tidak ada.")
        with sqlite3.connect(source) as live, sqlite3.connect(out) as copy:
            live.backup(copy)
        return out
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
          f"--file={out}", _libpq_url(url)])
    return out


def has_tables(url: str) -> bool:
    engine = make_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# Tables every Pantau database has had since the first migration: with a known alembic
# revision they tell a Pantau backup from another Alembic-managed database numbered alike.
CORE_TABLES = frozenset({"alembic_version", "app_user", "sop", "sop_case", "event"})
SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


def _known_revision(revision: str | None, source: Path) -> str:
    if revision is None:
        raise BackupError(f"{source} bukan cadangan Pantau SOP: tidak ada versi skema di dalamnya.")
    if revision not in known_revisions():
        raise BackupError(f"{source} berversi skema {revision!r} yang tidak dikenal aplikasi ini "
                          "(cadangan dari aplikasi lain atau versi yang lebih baru).")
    return revision


def _one_line(text: str, limit: int = 400) -> str:
    return " ".join(text.split())[-limit:]


def _checked_sqlite(path: Path, source: Path) -> str:
    """The schema revision of the SQLite database at `path` (a copy of `source`), after an
    integrity check; refused unless it is a Pantau database of a known revision."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as database:
            problems = [row[0] for row in database.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise BackupError(f"{source} rusak (pemeriksaan integritas SQLite: "
                                  f"{_one_line('; '.join(problems), 200)}).")
            tables = {row[0] for row in database.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not CORE_TABLES <= tables:
                raise BackupError(f"{source} adalah basis data SQLite, tetapi bukan cadangan "
                                  "Pantau SOP.")
            versions = [row[0] for row in database.execute(
                "SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{source} bukan cadangan SQLite yang sah: {error}") from error
    return _known_revision(versions[0] if len(versions) == 1 else None, source)


def _restore_sqlite(*, target: Path, source: Path) -> str:
    """Copy `source` to a temporary file beside the target, check the copy, then write it into
    the target in one transaction (SQLite's backup API). Not a file rename: the target's
    -wal file would then be replayed onto the new file, and a running app keeps the old one
    open; the backup API goes through SQLite's own locking, and a failure rolls back."""
    with source.open("rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if not header:
        raise BackupError(f"{source} kosong (0 byte): bukan cadangan.")
    if header.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{source} adalah cadangan PostgreSQL; basis data tujuan SQLite.")
    if header != SQLITE_HEADER:
        raise BackupError(f"{source} bukan berkas basis data SQLite.")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.pulih-", dir=target.parent)
    os.close(handle)
    staged = Path(name)
    try:
        try:
            with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup, \
                    closing(sqlite3.connect(staged)) as copy:
                backup.backup(copy)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} bukan cadangan SQLite yang sah: {error}") from error
        revision = _checked_sqlite(staged, source)
        with closing(sqlite3.connect(f"file:{staged}?mode=ro", uri=True)) as copy, \
                closing(sqlite3.connect(target)) as live:
            copy.backup(live)
        return revision
    finally:
        staged.unlink(missing_ok=True)


def _checked_dump(source: Path) -> str:
    """The schema revision inside a pg_dump custom-format file; refused unless pg_restore
    reads it and it holds Pantau's tables at a known revision. Reads only the file."""
    listing = subprocess.run([_tool("pg_restore"), "--list", str(source)],
                             capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{source} bukan cadangan PostgreSQL (pg_dump format custom) yang sah: "
                          f"{_one_line(listing.stderr, 200)}")
    tables = set(re.findall(r"^\d+; \d+ \d+ TABLE DATA \S+ (\S+) ", listing.stdout, re.M))
    if not CORE_TABLES <= tables:
        raise BackupError(f"{source} adalah cadangan PostgreSQL, tetapi bukan cadangan Pantau SOP.")
    data = subprocess.run([_tool("pg_restore"), "--data-only", "--table=alembic_version",
                           "--file=-", str(source)], capture_output=True, text=True)
    rows = re.search(r"^COPY \S*alembic_version .*? FROM stdin;\n(.*?)^\\\.$", data.stdout,
                     re.M | re.S)
    versions = rows.group(1).split() if data.returncode == 0 and rows else []
    return _known_revision(versions[0] if len(versions) == 1 else None, source)


def restore_database(*, url: str, source: Path, replace: bool) -> str:
    """Put the backup `source` in place of the database at `url`; returns the backup's schema
    revision. The file is checked first (a Pantau database of a known schema revision,
    intact); a file that fails leaves the database as it was. A database that already holds
    tables is only replaced when `replace` is set."""
    if not source.is_file():
        raise BackupError(f"Berkas cadangan {source} tidak ada.")
    if not replace and has_tables(url):
        raise BackupError("Basis data tujuan sudah berisi data; tambahkan --replace untuk "
                          "menggantinya seluruhnya dengan cadangan.")
    if is_sqlite(url):
        return _restore_sqlite(target=_sqlite_path(url), source=source)
    if source.stat().st_size == 0:
        raise BackupError(f"{source} kosong (0 byte): bukan cadangan.")
    revision = _checked_dump(source)
    # One transaction: a restore that fails midway leaves the database as it was.
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", f"--dbname={_libpq_url(url)}", str(source)])
    _analyze(url)
    return revision


def _analyze(url: str) -> None:
    """The restored tables' statistics for the planner, at once: pg_restore makes the tables
    anew, never measured, and autovacuum measures them only a minute or more later; meanwhile
    the pages' queries are planned on guesses (db.engine.analyze_grown_tables)."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
