"""Backup and restore: a round trip gives back the same figures, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.backup import BackupError, backup_database, has_tables, restore_database
from db.engine import make_engine, read_session, write_session
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
