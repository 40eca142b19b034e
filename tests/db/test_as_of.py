"""Metrics own time: the figures at any instant T, computed from the whole history, equal those
of a database holding the same organisation and only the events up to T (imported from the
exported log cut at T), measured as of T. Hypothesis picks the cut times, event instants
themselves included; both backends."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from db.engine import make_engine, read_session, write_session
from db.models import Case, Event, Unit, User
from services.accounts import SYSTEM, create_user
from services.bootstrap import initialise
from services.demo import load_demo
from services.eventlog import export_event_csv, import_event_csv
from services.formatting import parse_timestamp
from services.metrics import compute_metrics, metrics_json
from services.organisation import create_unit
from services.workflow.engine import cancel_case, correct_event
from tests.conftest import CATALOG_DIR
from tests.organisation import NOW

UNTIL = datetime(2026, 9, 30, 9, 0, tzinfo=UTC)
FIRST = UNTIL - timedelta(days=365)


@pytest.fixture
def history(engine: Engine) -> Iterator[tuple[Engine, list[list[str]], list[datetime]]]:
    """A year of demo history: the database, its exported log (header first) and the
    instant of every event in it."""
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with write_session(engine) as session:
        load_demo(session, actor=SYSTEM, seed=11, years=1, until=UNTIL, now=NOW)
    # What the demo does not do: cancel a running case, and correct the time of an event.
    with read_session(engine) as session:
        running = session.scalars(select(Case.id).where(Case.status == "active")
                                  .order_by(Case.id)).all()
    with write_session(engine) as session:
        cancel_case(session, actor=SYSTEM, case_id=running[0], at=UNTIL + timedelta(hours=1),
                    reason="Dibatalkan untuk uji", now=NOW)
    with write_session(engine) as session:
        last = session.scalar(select(func.max(Event.event_no)).where(Event.case_id == running[1]))
        moved = session.scalar(select(Event.occurred_at).where(
            Event.case_id == running[1], Event.event_no == last)) + timedelta(minutes=7)
        correct_event(session, actor=SYSTEM, case_id=running[1], event_no=last,
                      reason="Jam salah ketik", occurred_at=moved, now=NOW)
    with read_session(engine) as session:
        out = io.StringIO()
        export_event_csv(session, out=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    instants = sorted({parse_timestamp(row[5]) for row in rows[1:]})
    yield engine, rows, instants


def _same_organisation(source: Engine, url: str) -> Engine:
    """A new database with the catalog, the units and the people of `source`, and no case."""
    target = make_engine(url)
    initialise(engine=target, catalog_dir=CATALOG_DIR)
    with read_session(source) as session:
        units = [(u.code, u.name, u.kind) for u in session.scalars(select(Unit).order_by(Unit.id))]
        users = [(u.username, u.full_name, [r.name for r in u.roles], u.unit.code if u.unit else None,
                  u.is_admin, u.is_recorder, u.password_hash)
                 for u in session.scalars(select(User).order_by(User.id))]
    with write_session(target) as session:
        for code, name, kind in units:
            create_unit(session, actor=SYSTEM, code=code, name=name, kind=kind, now=NOW)
        for username, full_name, roles, unit, is_admin, is_recorder, password_hash in users:
            create_user(session, actor=SYSTEM, username=username, full_name=full_name,
                        password="", password_hash=password_hash, roles=roles, unit_code=unit,
                        is_admin=is_admin, is_recorder=is_recorder, now=NOW)
    return target


def _cut(rows: list[list[str]], at: datetime) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    writer.writerows(row for row in rows[1:] if parse_timestamp(row[5]) <= at)
    return out.getvalue().encode("utf-8")


def _figures(engine: Engine, at: datetime) -> dict[str, object]:
    with read_session(engine) as session:
        return metrics_json(compute_metrics(session, as_of=at))


CUTS = settings(max_examples=12, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _assert_cut_matches(history, request: pytest.FixtureRequest, at: datetime) -> None:
    engine, rows, _ = history
    backend = "sqlite" if str(engine.url).startswith("sqlite") else "postgres"
    target = _same_organisation(engine, request.getfixturevalue(f"{backend}_databases").fresh())
    try:
        with write_session(target) as session:
            import_event_csv(session, data=_cut(rows, at), actor=SYSTEM, now=NOW)
        assert _figures(engine, at) == _figures(target, at)
    finally:
        target.dispose()


CUTS = settings(max_examples=12, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@CUTS
@given(choice=st.one_of(
    st.tuples(st.sampled_from(["event", "just before"]), st.integers(min_value=0, max_value=10**9)),
    st.tuples(st.just("any"), st.floats(min_value=-0.05, max_value=1.05))))
@example(choice=("any", -0.05))  # before anything happened
@example(choice=("any", 1.05))  # after the last event: today's figures
def test_figures_at_t_equal_a_database_holding_only_the_events_up_to_t(
        history, request: pytest.FixtureRequest, choice: tuple[str, float]) -> None:
    _, _, instants = history
    kind, value = choice
    if kind == "event":  # exactly at an event: it has happened
        at = instants[int(value) % len(instants)]
    elif kind == "just before":  # a second before an event: it has not
        at = instants[int(value) % len(instants)] - timedelta(seconds=1)
    else:
        at = instants[0] + (instants[-1] - instants[0]) * float(value)
    _assert_cut_matches(history, request, at)


def test_the_cut_holds_at_the_instants_that_matter(history, request: pytest.FixtureRequest) -> None:
    """Where a mistake would hide: a multi-unit step half submitted, a return, the
    cancellation and the corrected event; each checked to be what it claims."""
    engine, rows, _ = history
    body = rows[1:]
    first_unit = next(row for row, after in zip(body, body[1:], strict=False)
                      if row[7] and after[7] and row[0] == after[0] and row[3] == after[3])
    returned = next(row for row in body if row[4] == "return")
    cancelled = next(row for row in body if row[4] == "cancel")
    with read_session(engine) as session:
        corrected = session.scalar(select(Event).where(Event.kind == "correction"))
        assert corrected is not None
        corrected_at = datetime.fromisoformat(corrected.details["occurred_at"])
    half = parse_timestamp(first_unit[5])
    figures = _figures(engine, half)
    assert any(item["unit"] for item in figures["pending"])
    second = timedelta(seconds=1)
    for at in (half, half - second, parse_timestamp(returned[5]),
               parse_timestamp(returned[5]) - second, parse_timestamp(cancelled[5]),
               corrected_at, corrected_at - timedelta(minutes=3)):
        _assert_cut_matches(history, request, at)


def test_the_history_is_rich_enough_to_prove_something(history) -> None:
    """The cut test is only as good as its history: returns, a cancellation, multi-unit
    steps, and open work in the middle of it."""
    engine, rows, instants = history
    kinds = {row[4] for row in rows[1:]}
    assert {"start", "complete", "approve", "return", "cancel"} <= kinds
    assert any(row[7] for row in rows[1:])  # units submitting a multi-unit step
    figures = _figures(engine, instants[len(instants) // 2])
    assert figures["totals"]["pending"]["total"] > 0
