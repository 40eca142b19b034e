"""An import's foreign keys: on PostgreSQL checked once for the whole load
(db.bulk_references) instead of by a trigger per row; on SQLite row by row, as before. Either
way a reference to a missing row is refused and nothing is stored."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from db.bulk_references import MissingReference, suspend_reference_triggers
from db.engine import make_engine, read_session, write_session
from db.models import Case, Event, Unit, Visit
from services.accounts import SYSTEM
from services.eventlog import LogRejected, import_event_csv
from tests.db.test_eventlog import GOOD, csv_bytes, event_count
from tests.organisation import NOW, Organisation, build_organisation

# A unit on the log's start line: the case and its visits refer to it.
UNIT_LOG = csv_bytes(GOOD[0].replace(",Fungsional,,", ",Fungsional,Sekretariat,", 1), *GOOD[1:])


def _unit_id(org: Organisation, name: str) -> int:
    with read_session(org.engine) as session:
        return session.scalars(select(Unit.id).where(Unit.name == name)).one()


def test_an_import_refers_to_what_exists_and_leaves_the_checks_on(org: Organisation) -> None:
    with write_session(org.engine) as session:
        import_event_csv(session, data=UNIT_LOG, actor=SYSTEM, now=NOW)
        # Later writes of the same transaction are checked row by row again.
        if org.engine.dialect.name == "postgresql":
            assert session.execute(text("SHOW session_replication_role")).scalar() == "origin"
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(text("INSERT INTO visit_unit (visit_id, unit_id) "
                                 "VALUES (999999, 999999)"))
    unit_id = _unit_id(org, "Sekretariat")
    with read_session(org.engine) as session:
        assert session.scalar(select(func.count()).select_from(Case)
                              .where(Case.unit_id == unit_id)) == 1
        assert session.scalar(select(func.count()).select_from(Visit)
                              .where(Visit.unit_id == unit_id)) >= 1


def _import_is_refused(org: Organisation, *, match: str) -> None:
    """UNIT_LOG's import refused by the database's checks, and nothing stored. SQLite refuses
    as the rows are written, through the driver the bulk path uses."""
    refused = MissingReference if org.engine.dialect.name == "postgresql" \
        else sqlite3.IntegrityError
    with pytest.raises(refused, match=match), write_session(org.engine) as session:
        import_event_csv(session, data=UNIT_LOG, actor=SYSTEM, now=NOW)
    assert event_count(org) == 0


def test_a_reference_to_a_missing_row_is_refused_and_nothing_is_stored(
        org: Organisation, monkeypatch) -> None:
    """A bug that gave the rows a unit that is not there: the database's checks catch it,
    whichever way they run."""
    import services.workflow.replay as replay_module

    store = replay_module._store

    def store_with_a_missing_unit(session, batch):
        visits = next(values for values in batch.tables if values.table is Visit)
        column = visits.columns.index("unit_id")
        visits.rows[-1][column] = 999_999
        return store(session, batch)

    monkeypatch.setattr(replay_module, "_store", store_with_a_missing_unit)
    _import_is_refused(org, match="unit_id|FOREIGN KEY")


def test_a_reference_among_the_imported_rows_to_a_row_not_written_is_refused(
        org: Organisation, monkeypatch) -> None:
    """A bug that pointed an event at a visit the import did not write: refused as the
    reference to a unit is, and named by its column."""
    import services.workflow.replay as replay_module

    write = replay_module._write_values

    def write_with_a_missing_visit(connection, values):
        if values.table is Event:
            column = values.columns.index("visit_id")
            next(row for row in values.rows if row[column] is not None)[column] = 999_999
        write(connection, values)

    monkeypatch.setattr(replay_module, "_write_values", write_with_a_missing_visit)
    _import_is_refused(org, match="event.visit_id = 999999|FOREIGN KEY")


@pytest.mark.postgres
def test_the_rows_an_import_refers_to_are_locked_until_it_commits(
        postgres_engine: Engine) -> None:
    """As the per-row check would: no one may delete the unit the imported case refers to
    while the import's transaction is open."""
    org = build_organisation(postgres_engine)
    with write_session(org.engine) as session:
        import_event_csv(session, data=UNIT_LOG, actor=SYSTEM, now=NOW)
        unit_id = session.scalars(select(Unit.id).where(Unit.name == "Sekretariat")).one()
        other = create_engine(org.engine.url)
        try:
            with other.connect() as connection, pytest.raises(OperationalError,
                                                               match="could not obtain lock"):
                connection.execute(text("SELECT id FROM unit WHERE id = :id FOR UPDATE NOWAIT"),
                                   {"id": unit_id})
        finally:
            other.dispose()


@pytest.fixture
def unprivileged_role(postgres_engine: Engine) -> Iterator[str]:
    engine = postgres_engine
    name = f"pantau_test_{uuid.uuid4().hex[:10]}"
    with engine.begin() as connection:
        connection.execute(text(f'CREATE ROLE "{name}" NOLOGIN'))
    yield name
    with engine.begin() as connection:
        connection.execute(text(
            f'REVOKE SET ON PARAMETER session_replication_role FROM "{name}"'))
        connection.execute(text(f'DROP ROLE "{name}"'))


@pytest.mark.postgres
def test_only_a_role_that_may_set_the_replication_role_checks_in_bulk(
        postgres_engine: Engine, unprivileged_role: str) -> None:
    engine = postgres_engine
    with Session(engine) as session, session.begin():
        session.execute(text(f'SET LOCAL ROLE "{unprivileged_role}"'))
        assert suspend_reference_triggers(session) is False
        assert session.execute(text("SHOW session_replication_role")).scalar() == "origin"
    with engine.begin() as connection:
        connection.execute(text(
            f'GRANT SET ON PARAMETER session_replication_role TO "{unprivileged_role}"'))
    with Session(engine) as session, session.begin():
        session.execute(text(f'SET LOCAL ROLE "{unprivileged_role}"'))
        assert suspend_reference_triggers(session) is True
        assert session.execute(text("SHOW session_replication_role")).scalar() == "replica"


def test_sqlite_keeps_its_row_by_row_checks(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            assert suspend_reference_triggers(session) is False
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_refused_import_leaves_the_checks_on_for_the_rest_of_its_transaction(
        postgres_engine: Engine) -> None:
    org = build_organisation(postgres_engine)
    bad_last_line = "K2,penyusunan-lkj,,1,complete,2026-03-02 11:00,Sekretaris,,sekretaris,,"
    with write_session(org.engine) as session:
        with pytest.raises(LogRejected):
            import_event_csv(session, data=csv_bytes(*GOOD, bad_last_line), actor=SYSTEM,
                             now=NOW)
        assert session.execute(text("SHOW session_replication_role")).scalar() == "origin"
        session.rollback()
