import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

import db.engine
from db.engine import (
    DatabaseBusy,
    driver_rows,
    is_busy,
    make_engine,
    read_session,
    rows_where_in,
    write_session,
)
from db.models import AppSetting, Event
from services.metrics import epoch_ns
from tests.db.test_eventlog import GOOD, csv_bytes, import_csv
from tests.faults import sqlite_locked_error
from tests.organisation import wib


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 15000
    engine.dispose()


def test_none_is_bound_through_an_adapter_and_stored_as_null(sqlite_url: str) -> None:
    """db.engine._bind_none_directly: None finds its adapter at the first look-up (the slow
    search for one was a second of a 1M-event import), and is still stored as NULL."""
    engine = make_engine(sqlite_url)
    assert sqlite3.adapters.get((type(None), sqlite3.PrepareProtocol)) is not None
    with write_session(engine) as session:
        connection = session.connection()
        connection.exec_driver_sql("CREATE TABLE probe (value TEXT)")
        connection.exec_driver_sql("INSERT INTO probe VALUES (?), (?)", (None, "teks"))
        assert connection.exec_driver_sql(
            "SELECT value IS NULL, typeof(value) FROM probe ORDER BY rowid").all() == [
            (1, "null"), (0, "text")]
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


def _setting_written(engine, key: str) -> bool:
    with read_session(engine) as session:
        return session.get(AppSetting, key) is not None


def _write_setting(engine, key: str) -> None:
    with write_session(engine) as session:
        session.add(AppSetting(key=key, value=1, updated_at=datetime.now(UTC)))


def test_a_sqlite_writer_tries_again_while_another_process_holds_the_lock(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row 16 of issue 15: a writer that found the database locked past the busy timeout
    failed at once. The other process here lets go when the writer pauses to retry."""
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    engine = make_engine(sqlite_url)
    other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    pauses: list[int] = []

    def pause(attempt: int) -> None:
        pauses.append(attempt)
        other.execute("COMMIT")

    monkeypatch.setattr(db.engine, "_pause_before_retry", pause)
    _write_setting(engine, "sesudah_menunggu")
    assert pauses == [0] and _setting_written(engine, "sesudah_menunggu")
    other.close()
    engine.dispose()


def test_a_sqlite_writer_locked_out_to_the_end_is_told_busy_and_writes_nothing(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    pauses: list[int] = []
    monkeypatch.setattr(db.engine, "_pause_before_retry", pauses.append)
    engine = make_engine(sqlite_url)
    other = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError) as refused:
        _write_setting(engine, "tidak_tercatat")
    assert is_busy(refused.value)
    assert pauses == list(range(db.engine.SQLITE_BEGIN_ATTEMPTS - 1))
    other.execute("ROLLBACK")
    other.close()
    assert not _setting_written(engine, "tidak_tercatat")
    engine.dispose()


def test_sqlite_writers_of_one_process_take_turns(sqlite_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers in one process wait for each other however long the first one takes, instead
    of polling SQLite's lock (which can starve a writer past the busy timeout)."""
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(db.engine, "_pause_before_retry", lambda attempt: None)
    engine = make_engine(sqlite_url)
    inside, second_started = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first() -> None:
        with write_session(engine) as session:
            session.add(AppSetting(key="pertama", value=1, updated_at=datetime.now(UTC)))
            inside.set()
            second_started.wait()
            time.sleep(0.5)  # far past the second writer's every busy timeout and retry

    def second() -> None:
        inside.wait()
        second_started.set()
        try:
            _write_setting(engine, "kedua")
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert _setting_written(engine, "pertama") and _setting_written(engine, "kedua")
    engine.dispose()


def test_only_a_locked_database_counts_as_busy() -> None:
    assert is_busy(OperationalError("BEGIN IMMEDIATE", {}, sqlite_locked_error()))
    assert is_busy(DatabaseBusy())
    assert not is_busy(OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O")))
    assert not is_busy(OperationalError("SELECT 1", {}, Exception("connection refused")))


def test_driver_rows_are_the_rows_sqlalchemy_reads_chunk_by_chunk(org) -> None:
    """The export's reader: parameters converted by their types (an instant, a JSON path),
    the same rows as SQLAlchemy's, at most `chunk` at a time."""
    import_csv(org, csv_bytes(GOOD[0], GOOD[1].replace("sekretaris,fungsional", "bu.ani,fungsional"),
                              GOOD[2]))
    query = (select(Event.id, Event.kind, epoch_ns(Event.occurred_at),
                    Event.details["names"]["performer"].as_string(), Event.note)
             .where(Event.occurred_at >= wib(2026, 3, 2, 9), Event.kind != "correction")
             .order_by(Event.id))
    with read_session(org.engine) as session:
        expected = [tuple(row) for row in session.execute(query)]
        chunks = list(driver_rows(session, query, chunk=1))
        assert session.execute(select(func.count()).select_from(Event)).scalar() == 3
    assert [len(chunk) for chunk in chunks] == [1, 1]
    assert [row for chunk in chunks for row in chunk] == expected
    assert [row[3] for row in expected] == ["bu.ani", None]


def test_rows_where_in_reads_every_match_across_chunks(org, monkeypatch) -> None:
    """More values than one SQLite statement binds (chunks of 3 here), most of them matching
    nothing, some twice: each existing row once; on PostgreSQL, one array."""
    from db.models import Unit

    monkeypatch.setattr(db.engine, "SQLITE_VALUES_PER_STATEMENT", 3)
    with read_session(org.engine) as session:
        units = {unit_id: code for unit_id, code in session.execute(select(Unit.id, Unit.code))}
        wanted = [*range(1000, 1010), *units, *units]
        found = rows_where_in(session, select(Unit.id, Unit.code), Unit.id, wanted)
        assert rows_where_in(session, select(Unit.id), Unit.id, []) == []
        by_code = rows_where_in(session, select(Unit.code), Unit.code, ["sekretariat", "x"])
    assert sorted(tuple(row) for row in found) == sorted(units.items()) and len(units) == 4
    assert [tuple(row) for row in by_code] == [("sekretariat",)]
