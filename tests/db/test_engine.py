import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine, read_session, write_session
from db.models import AppSetting


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    engine.dispose()


def test_sqlite_write_session_takes_the_write_lock_at_begin(sqlite_url: str) -> None:
    """A write transaction holds the lock from its first statement, so a second writer waits
    instead of failing later on a stale snapshot."""
    engine = make_engine(sqlite_url)
    other = sqlite3.connect(make_url(sqlite_url).database, timeout=0.05, isolation_level=None)
    with write_session(engine) as session:
        session.execute(text("SELECT 1"))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # free again once the write session has committed
    other.execute("ROLLBACK")
    other.close()
    with read_session(engine) as session:
        session.execute(text("SELECT 1"))
        other = sqlite3.connect(make_url(sqlite_url).database, timeout=0.05, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # a read session does not block writers
        other.execute("ROLLBACK")
        other.close()
    engine.dispose()


def test_instants_must_be_timezone_aware(engine) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        with write_session(engine) as session:
            session.add(AppSetting(key="x", value=1, updated_at=datetime(2026, 1, 1)))


def test_instants_come_back_in_utc(engine) -> None:
    from datetime import timedelta, timezone

    wib = timezone(timedelta(hours=7))
    with write_session(engine) as session:
        session.add(AppSetting(key="x", value={"a": 1}, updated_at=datetime(2026, 1, 1, 8, tzinfo=wib)))
    with read_session(engine) as session:
        stored = session.get(AppSetting, "x")
        assert stored.updated_at.isoformat() == "2026-01-01T01:00:00+00:00"
        assert stored.value == {"a": 1}
