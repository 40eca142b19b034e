"""The migrations build exactly the models, on both backends, and guard the audit trail."""

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from db.engine import make_engine
from db.migrate import HEAD_REVISION, head_revision, is_up_to_date, upgrade
from db.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert is_up_to_date(engine)


def test_the_head_revision_is_alembics_head_and_an_empty_database_is_not_at_it(
        empty_database_url: str) -> None:
    assert HEAD_REVISION == head_revision()
    empty = make_engine(empty_database_url)
    assert not is_up_to_date(empty)  # no alembic_version table at all
    upgrade(empty)
    assert is_up_to_date(empty)
    empty.dispose()


def test_upgrade_is_idempotent_and_downgrade_reverses_it(engine: Engine) -> None:
    from alembic import command

    from db.migrate import alembic_config

    upgrade(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not is_up_to_date(engine)
    upgrade(engine)
    assert is_up_to_date(engine)


def test_default_working_hours_are_perpres_21_2023(engine: Engine) -> None:
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT regime, weekday, start_minute, break_start_minute, break_end_minute, "
            "end_minute FROM work_hours ORDER BY regime, weekday")).all()
    worked = {(r.regime, r.weekday): (r.break_start_minute - r.start_minute)
              + (r.end_minute - r.break_end_minute) for r in rows}
    assert {day: worked[("normal", day)] for day in range(5)} == {d: 450 for d in range(5)}
    assert tuple(rows[4][2:]) == (450, 690, 780, 990)  # Friday 07:30-11:30, 13:00-16:30
    assert len(rows) == 10  # no weekend rows: weekends are not working days


def _insert_event(engine: Engine) -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sop (id, code, name, created_at) VALUES (1, 'x', 'X', :now)"), {"now": now})
        connection.execute(text(
            "INSERT INTO sop_version (id, sop_id, version, name, content_hash, identity, "
            "source_path, loaded_at) VALUES (1, 1, 1, 'X', 'h', '{}', 's', :now)"), {"now": now})
        connection.execute(text(
            "INSERT INTO sop_case (id, ref, sop_version_id, title, status, started_at, "
            "last_event_no, last_event_at) VALUES (1, 'K-1', 1, 'Kasus', 'active', :now, 1, :now)"),
            {"now": now})
        connection.execute(text(
            "INSERT INTO event (case_id, event_no, kind, occurred_at, recorded_at) "
            "VALUES (1, 1, 'start', :now, :now)"), {"now": now})


@pytest.mark.parametrize("statement", [
    "UPDATE event SET note = 'diubah'",
    "DELETE FROM event",
])
def test_events_cannot_be_updated_or_deleted(engine: Engine, statement: str) -> None:
    _insert_event(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM event WHERE note IS NULL")).scalar() == 1


def test_duplicate_event_number_in_a_case_is_refused(engine: Engine) -> None:
    _insert_event(engine)
    with pytest.raises(DBAPIError):
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO event (case_id, event_no, kind, occurred_at, recorded_at) "
                "VALUES (1, 1, 'cancel', :now, :now)"), {"now": datetime(2026, 1, 6)})


def test_fresh_database_file_is_created_under_its_folder(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'baru' / 'pantau.db'}"
    engine = make_engine(url)
    upgrade(engine)
    assert is_up_to_date(engine)
    engine.dispose()
