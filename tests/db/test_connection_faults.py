"""The database connection lost in the middle of a write: the transaction is rolled back as a
whole, the page says so and asks for a retry (tests/pages), and the same action
succeeds on the next attempt through a fresh connection."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError

from db.engine import read_session, write_session
from db.models import AppSetting, Event
from services.workflow import engine as wf
from tests.organisation import NOW, Organisation, wib


def event_count(org: Organisation) -> int:
    with read_session(org.engine) as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def drop_connection(session, database_url: str) -> None:
    """Cut this session's connection under it, as a restarted server or a network drop would."""
    connection = session.connection()
    if database_url.startswith("sqlite"):
        connection.connection.dbapi_connection.close()
        return
    pid = connection.execute(text("select pg_backend_pid()")).scalar()
    admin = create_engine(connection.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as other:
        other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_write_cut_midway_leaves_nothing_and_a_retry_succeeds(org: Organisation,
                                                                database_url: str) -> None:
    before = event_count(org)
    actor = org.actor("fungsional")
    with pytest.raises(DBAPIError):
        with write_session(org.engine) as session:
            wf.start_case(session, actor=actor, sop_code="e-kinerja", title="Terputus",
                          at=wib(2026, 11, 19, 9), now=NOW)
            drop_connection(session, database_url)
            wf.start_case(session, actor=actor, sop_code="e-kinerja", title="Terputus 2",
                          at=wib(2026, 11, 19, 9), now=NOW)
    assert event_count(org) == before
    with write_session(org.engine) as session:
        recorded = wf.start_case(session, actor=actor, sop_code="e-kinerja", title="Ulang",
                                 at=wib(2026, 11, 19, 9), now=NOW)
    assert event_count(org) == before + 1
    assert recorded.case_ref.endswith("-001")  # the lost attempt took no number


def test_a_session_used_after_a_failed_flush_is_discarded_whole(org: Organisation) -> None:
    """Row 14 of issue 15: a PendingRollbackError (the session used again after a failed
    flush, as after a cut connection) rolls back all of its work; the page says so
    (tests/pages) and the next write starts clean."""
    actor = org.actor("fungsional")
    with write_session(org.engine) as session:
        session.add(AppSetting(key="sudah_ada", value=1, updated_at=NOW))
    before = event_count(org)
    with pytest.raises(PendingRollbackError):
        with write_session(org.engine) as session:
            wf.start_case(session, actor=actor, sop_code="e-kinerja", title="Setengah",
                          at=wib(2026, 11, 19, 9), now=NOW)
            session.add(AppSetting(key="sudah_ada", value=2, updated_at=NOW))
            with contextlib.suppress(IntegrityError):
                session.flush()
            wf.start_case(session, actor=actor, sop_code="e-kinerja", title="Sesudahnya",
                          at=wib(2026, 11, 19, 9), now=NOW)
    assert event_count(org) == before
    with write_session(org.engine) as session:
        recorded = wf.start_case(session, actor=actor, sop_code="e-kinerja", title="Ulang",
                                 at=wib(2026, 11, 19, 9), now=NOW)
    assert event_count(org) == before + 1 and recorded.case_ref.endswith("-001")
