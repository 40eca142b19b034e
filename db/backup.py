"""Whole-database backup and restore: SQLite through its online backup API (safe while the app
runs), PostgreSQL through pg_dump/pg_restore (custom format), which must be on PATH and at
least the server's version."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from db.engine import is_sqlite, make_engine


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
        raise BackupError(f"{Path(command[0]).name} gagal: {result.stderr.strip()[-2000:]}")


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


def restore_database(*, url: str, source: Path, replace: bool) -> None:
    """Put the backup `source` in place of the database at `url`. A database that already
    holds tables is only replaced when `replace` is set."""
    if not source.is_file():
        raise BackupError(f"Berkas cadangan {source} tidak ada.")
    if not replace and has_tables(url):
        raise BackupError("Basis data tujuan sudah berisi data; tambahkan --replace untuk "
                          "menggantinya seluruhnya dengan cadangan.")
    if is_sqlite(url):
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as backup, \
                    sqlite3.connect(target) as live:
                backup.execute("PRAGMA schema_version")  # fails early if not a database
                backup.backup(live)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{source} bukan cadangan SQLite yang sah: {error}") from error
        return
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", f"--dbname={_libpq_url(url)}", str(source)])
