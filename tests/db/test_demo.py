"""Demo data: deterministic and realistic, and it obeys the workflow rules (it goes through the
same replay as an import)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from db.engine import make_engine, read_session, write_session
from db.models import Case, Event, Unit, User
from services import dashboards
from services.accounts import SYSTEM
from services.bootstrap import initialise
from services.calendar import WorkingCalendar, load_calendar_settings
from services.demo import DEMO_PASSWORD, demo_info, load_demo
from services.errors import InvalidInput, PermissionDenied
from services.eventlog import export_event_csv
from services.metrics import compute_metrics, ended_since, ns, read_history, scope, snapshot
from services.periods import month, quarter, year
from tests.conftest import CATALOG_DIR
from tests.db.test_metrics import assert_totals_per_sop_are_the_scoped_totals
from tests.organisation import NOW, wib

UNTIL = wib(2026, 11, 20, 9, 0)


def demo_engine(url: str, *, seed: int = 11, years: int = 1, scale: int = 1) -> Engine:
    engine = make_engine(url)
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with write_session(engine) as session:
        load_demo(session, actor=SYSTEM, seed=seed, years=years, scale=scale, until=UNTIL, now=NOW)
    return engine


def exported(engine: Engine) -> str:
    out = io.StringIO()
    with read_session(engine) as session:
        export_event_csv(session, out=out)
    return out.getvalue()


@pytest.fixture
def demo(database_url: str) -> Engine:
    engine = demo_engine(database_url)
    yield engine
    engine.dispose()


def test_same_seed_same_history(demo: Engine, sqlite_databases) -> None:
    again = demo_engine(sqlite_databases.fresh())
    other = demo_engine(sqlite_databases.fresh(), seed=12)
    assert exported(again) == exported(demo)
    assert exported(other) != exported(demo)


def test_history_looks_like_the_agency(demo: Engine) -> None:
    with read_session(demo) as session:
        metrics = compute_metrics(session, as_of=UNTIL)
        cases = Counter(session.scalars(select(Case.title)).all())
        starts = pd.to_datetime([e for e in session.scalars(select(Event.occurred_at))], utc=True)
        calendar = WorkingCalendar(load_calendar_settings(session))
        users = session.scalar(select(func.count()).select_from(User).where(User.is_demo))
        info = demo_info(session)
    by_code = {sop.code: sop for sop in metrics.sops}
    # Schedule: e-Kinerja monthly, Pengumpulan and Monev quarterly, LKj yearly.
    assert by_code["e-kinerja"].totals.cases_total >= 12
    assert by_code["pengumpulan-data-kinerja"].totals.cases_total >= 4
    assert by_code["monev-kinerja-periodik"].totals.cases_total >= 4
    assert by_code["penyusunan-lkj"].totals.cases_total >= 1
    # Every return of a Pengumpulan starts a Perbaikan (a few hours later; the last ones may
    # fall after the end of the history).
    visits = metrics.state.ended
    returned = visits[(visits["sop_code"] == "pengumpulan-data-kinerja")
                      & (visits["outcome"] == "return")]
    recent = returned["ended_ns"] > pd.Timestamp(UNTIL - pd.Timedelta(days=3)).value
    perbaikan = by_code["perbaikan-data-kinerja"].totals.cases_total
    assert len(returned) > 0
    assert len(returned) - recent.sum() <= perbaikan <= len(returned)
    # Most visits within the Mutu Baku, a tail over it, and returns at decision steps.
    measured = visits[visits["measured"] & visits["has_target"]]
    assert 0.6 < measured["within_target"].mean() < 0.95
    assert (measured["overrun"] > measured["target"]).any()  # some more than double
    assert sum(sop.totals.returns for sop in metrics.sops) > 0
    assert len(metrics.pending) > 0  # some work still open at the end
    # Events inside working hours, except a few written up in the evening.
    inside = calendar.working_minutes(starts - pd.Timedelta(minutes=1), starts) > 0
    assert 0.9 < inside.mean() < 1.0
    assert set(cases.values()) == {1}  # every title names one case
    assert users == 11 and info["password"] == DEMO_PASSWORD


def test_scale_multiplies_the_cases(sqlite_databases) -> None:
    single = demo_engine(sqlite_databases.fresh(), scale=1)
    triple = demo_engine(sqlite_databases.fresh(), scale=3)
    with read_session(single) as a, read_session(triple) as b:
        one = a.scalar(select(func.count()).select_from(Case))
        three = b.scalar(select(func.count()).select_from(Case))
    assert np.isclose(three / one, 3, rtol=0.15)


def test_demo_only_fills_an_empty_database_and_only_for_an_admin(demo: Engine) -> None:
    with pytest.raises(InvalidInput, match="sudah berisi kasus"):
        with write_session(demo) as session:
            load_demo(session, actor=SYSTEM, seed=1, until=UNTIL, now=NOW)
    from services.accounts import load_actor

    with read_session(demo) as session:
        kadis = load_actor(session, username="kadis")
    with pytest.raises(PermissionDenied):
        with write_session(demo) as session:
            load_demo(session, actor=kadis, seed=1, until=UNTIL, now=NOW)


def test_the_totals_of_each_sop_are_the_totals_of_its_scope_on_a_year_of_history(
        demo: Engine) -> None:
    """Every SOP, cancelled and revised cases, multi-unit steps: the grouped totals of the
    metrics equal the totals of each SOP narrowed one by one, for past and present as-ofs."""
    assert_totals_per_sop_are_the_scoped_totals(
        demo, as_ofs=(wib(2026, 6, 15, 10, 0), UNTIL),
        periods=(None, (wib(2026, 1, 1), wib(2027, 1, 1)), (wib(2026, 6, 1), wib(2026, 7, 1))))


def test_the_bottleneck_figures_read_only_their_window_and_equal_those_of_the_whole_history(
        demo: Engine) -> None:
    """The Hambatan narrows the ended visits to its window before the SOP (no copy of the
    SOP's older visits); every figure it shows is the one the whole history gives."""
    with read_session(demo) as session:
        history = read_history(session)
        unit_id = session.scalars(select(Unit.id).order_by(Unit.id)).first()
    narrowed_somewhere = False
    for as_of in (wib(2026, 6, 15, 10, 0), UNTIL):
        state = snapshot(history, as_of=as_of)
        for period in (month(date(2026, 6, 1)), quarter(date(2026, 4, 1)), year(2026)):
            since = min(period.bounds()[0], period.chart_months()[0].bounds()[0])
            window = ended_since(state, since)
            assert (window.ended["ended_ns"] >= ns(since)).all()
            assert len(window.ended) == (state.ended["ended_ns"] >= ns(since)).sum()
            assert np.shares_memory(window.ended["ended_ns"].to_numpy(),
                                    state.ended["ended_ns"].to_numpy())  # a slice, no copy
            for code in sorted(state.catalog):
                for unit in (None, unit_id):
                    mine = dashboards.bottleneck_state(state, code=code, period=period,
                                                       unit_id=unit)
                    whole = scope(state, sop_codes=(code,), unit_id=unit)
                    narrowed_somewhere |= len(mine.ended) < len(whole.ended)
                    for figures in (dashboards.step_durations, dashboards.returns_pareto,
                                    dashboards.bottlenecks):
                        pd.testing.assert_frame_equal(figures(mine, code=code, period=period),
                                                      figures(whole, code=code, period=period))
                    for ours, theirs in zip(
                            dashboards.transitions(mine, code=code, period=period),
                            dashboards.transitions(whole, code=code, period=period), strict=True):
                        pd.testing.assert_frame_equal(ours, theirs)
                    months = period.chart_months()
                    pd.testing.assert_frame_equal(
                        dashboards.overrun_heatmap(mine, code=code, months=months),
                        dashboards.overrun_heatmap(whole, code=code, months=months))
                    pd.testing.assert_frame_equal(dashboards.backlog(mine, unit_names={}),
                                                  dashboards.backlog(whole, unit_names={}))
    assert narrowed_somewhere
