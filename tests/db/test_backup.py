"""Backup and restore: a round trip gives back the same figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text

from db.backup import BackupError, backup_database, has_tables, restore_database
from db.engine import make_engine, read_session, write_session
from db.migrate import head_revision
from services.accounts import SYSTEM
from services.metrics import compute_metrics, metrics_json
from services.workflow import engine as wf
from services.workflow.replay import replay
from tests.db.test_metrics import AS_OF, _log
from tests.organisation import NOW, Organisation, wib


def figures(url: str) -> dict:
    engine = make_engine(url)
    with read_session(engine) as session:
        document = metrics_json(compute_metrics(session, as_of=AS_OF))
    engine.dispose()
    return document


@pytest.fixture
def recorded(org: Organisation, database_url: str) -> str:
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    return database_url


def test_a_round_trip_keeps_every_figure(recorded: str, empty_database_url: str,
                                         tmp_path: Path) -> None:
    before = figures(recorded)
    assert sum(sop["cases"]["total"] for sop in before["sops"]) == 4
    copy = backup_database(url=recorded, out=tmp_path / "pantau.backup")
    assert copy.stat().st_size > 0
    with pytest.raises(BackupError, match="sudah ada"):
        backup_database(url=recorded, out=copy)
    assert not has_tables(empty_database_url)
    restore_database(url=empty_database_url, source=copy, replace=False)
    assert figures(empty_database_url) == before
    if not empty_database_url.startswith("sqlite"):
        # the columns measured for the planner at once, not left to autovacuum (the index
        # builds give it only the tables' sizes)
        engine = make_engine(empty_database_url)
        with read_session(engine) as session:
            assert session.scalar(text(
                "SELECT count(*) FROM pg_stats WHERE tablename = 'event'")) > 0
        engine.dispose()


def test_restore_replaces_only_when_asked(recorded: str, org: Organisation,
                                         tmp_path: Path) -> None:
    before = figures(recorded)
    copy = backup_database(url=recorded, out=tmp_path / "pantau.backup")
    with write_session(org.engine) as session:  # work done after the backup
        wf.start_case(session, actor=org.actor("fungsional"), sop_code="e-kinerja",
                      title="Sesudah cadangan", at=wib(2025, 2, 6, 8, 10))
    assert figures(recorded) != before
    org.engine.dispose()
    with pytest.raises(BackupError, match="--replace"):
        restore_database(url=recorded, source=copy, replace=False)
    restore_database(url=recorded, source=copy, replace=True)
    assert figures(recorded) == before


def test_a_file_that_is_not_a_backup_is_refused(empty_database_url: str,
                                                tmp_path: Path) -> None:
    bogus = tmp_path / "bukan-cadangan.backup"
    bogus.write_text("ini bukan cadangan\n" * 50)
    with pytest.raises(BackupError):
        restore_database(url=empty_database_url, source=bogus, replace=False)
    with pytest.raises(BackupError, match="tidak ada"):
        restore_database(url=empty_database_url, source=tmp_path / "hilang", replace=False)


def _set_revision(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def foreign_files(recorded: str, directory: Path) -> dict[str, Path]:
    """Files an operator could hand to `restore` by mistake, none of them a Pantau backup."""
    empty = directory / "kosong.backup"
    empty.touch()
    unrelated = directory / "lain.db"
    with closing(sqlite3.connect(unrelated)) as other:
        other.execute("CREATE TABLE catatan (isi TEXT)")
        other.execute("INSERT INTO catatan VALUES ('bukan Pantau')")
        other.commit()
    # Another Alembic-managed database numbered like ours.
    look_alike = directory / "mirip.db"
    with closing(sqlite3.connect(look_alike)) as other:
        other.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        other.execute(f"INSERT INTO alembic_version VALUES ('{head_revision()}')")
        other.commit()
    # Ours, from a version of the app this one does not know.
    _set_revision(recorded, "9999_masa_depan")
    newer = backup_database(url=recorded, out=directory / "lebih-baru.backup")
    _set_revision(recorded, head_revision() or "")
    damaged = directory / "rusak.backup"
    whole = backup_database(url=recorded, out=directory / "utuh.backup").read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])
    return {"empty": empty, "unrelated": unrelated, "look-alike": look_alike, "newer": newer,
            "damaged": damaged}


def test_a_foreign_or_damaged_file_is_refused_and_the_database_kept(
        recorded: str, tmp_path: Path) -> None:
    """Row 12 of issue 15: a 0-byte file or another SQLite database once said "Dipulihkan"
    and left the database without tables."""
    before = figures(recorded)
    for name, path in foreign_files(recorded, tmp_path).items():
        with pytest.raises(BackupError) as refused:
            restore_database(url=recorded, source=path, replace=True)
        message = str(refused.value)
        assert "\n" not in message and str(path) in message, (name, message)
        assert figures(recorded) == before, name
    assert not list(tmp_path.glob(".*pulih*")), "the staged copy is removed"


def test_a_backup_of_an_older_schema_is_restored_and_named(recorded: str, tmp_path: Path,
                                                           empty_database_url: str) -> None:
    _set_revision(recorded, "0006")  # a known revision: ours, to be migrated after restoring
    old = backup_database(url=recorded, out=tmp_path / "lama.backup")
    assert restore_database(url=empty_database_url, source=old, replace=False) == "0006"
