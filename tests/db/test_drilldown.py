"""Every figure of the dashboards opens the rows it counts: the list behind a tile, bar,
point, box, heat-map cell, ranking row or queue bar has exactly the figure's count."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime

import numpy as np
import pytest
from sqlalchemy import Engine, select

from db.engine import read_session
from db.models import Case, Unit
from services import dashboards
from services.accounts import load_actor, role_holders
from services.drilldown import (
    TILES,
    Drill,
    Resolved,
    as_of,
    behind_cell,
    behind_month,
    behind_person,
    behind_queue,
    behind_returns,
    behind_sop,
    behind_step,
    behind_tile,
    read_drill,
    resolve,
    rows_behind,
    summary,
)
from services.metrics import (
    SLA_STATES,
    History,
    Snapshot,
    period_as_of,
    read_history,
    scope,
    snapshot,
    totals,
)
from services.periods import month, parse_period
from services.tasks import tasks_for
from tests.db.test_demo import UNTIL, demo_engine

TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_history(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, History]]:
    """A year of demo history, read once per backend (the tests only read it)."""
    engine = demo_engine(request.getfixturevalue(f"{request.param}_databases").fresh())
    with read_session(engine) as session:
        history = read_history(session)
    yield engine, history
    engine.dispose()


_snapshots: dict[tuple[int, datetime], Snapshot] = {}


def behind(engine: Engine, history: History, drill: Drill) -> int:
    """How many rows the Kasus page lists for this drill."""
    with read_session(engine) as session:
        resolved = resolve(session, drill)
    instant = as_of(drill, now=UNTIL)
    if (id(history), instant) not in _snapshots:
        _snapshots[id(history), instant] = snapshot(history, as_of=instant)
    return len(rows_behind(_snapshots[id(history), instant], drill, resolved=resolved))


def unit_codes(engine: Engine) -> dict[int, str]:
    with read_session(engine) as session:
        return dict(session.execute(select(Unit.id, Unit.code)).all())


@pytest.mark.parametrize("period_text", ["2026-Q3", "2026", "2026-11"])
@pytest.mark.parametrize("unit_code", [None, "sekretariat"])
def test_every_dashboard_figure_opens_its_own_count(demo_history, period_text: str,
                                                    unit_code: str | None) -> None:
    engine, history = demo_history
    period = parse_period(period_text, today=TODAY)
    codes = unit_codes(engine)
    unit_id = next((i for i, code in codes.items() if code == unit_code), None)
    assert unit_code is None or unit_id is not None
    state = scope(snapshot(history, as_of=period_as_of(period, now=UNTIL)), unit_id=unit_id)
    base = Drill(period=period, unit_code=unit_code)
    checked = 0

    def same(figure: float, drill: Drill) -> None:
        nonlocal checked
        assert behind(engine, history, drill) == figure, drill.link
        checked += 1

    previous = scope(snapshot(history, as_of=period_as_of(period.previous(), now=UNTIL)),
                     unit_id=unit_id)
    tiles = dashboards.tiles(state, previous, period=period)
    figures = {tile.key: tile.value for tile in tiles}
    now = totals(state, period.bounds())
    same(figures["berjalan"], behind_tile(base, "berjalan"))
    same(figures["selesai"], behind_tile(base, "selesai"))
    same(now.visits_with_target, behind_tile(base, "kepatuhan"))
    same(now.cases_completed, behind_tile(base, "revisi"))
    same(figures["terlambat"], behind_tile(base, "terlambat"))
    assert {tile.key for tile in tiles} == set(TILES)
    same(now.visits_with_target - now.within_target,
         behind_tile(base, "kepatuhan").with_(late_only=True))
    same(now.cases_total, base.with_(view="kasus"))
    same(now.cases_cancelled, base.with_(view="kasus", status="batal"))
    same(now.pending, base.with_(view="tugas"))
    assert now.cases_total > 0 and now.visits_with_target > 0
    if period_as_of(period, now=UNTIL) == UNTIL:  # a running period has work in hand
        assert now.cases_active > 0 and now.pending > 0

    for row in dashboards.compliance_by_sop(state, period=period).itertuples():
        same(row.with_target, behind_sop(base, row.code))
        same(row.with_target - row.within, behind_sop(base, row.code).with_(late_only=True))
    points = dashboards.compliance_by_month(state, months=period.chart_months())
    assert len(points)
    for point in points.itertuples():
        same(point.visits, behind_month(base, point.code, point.month))

    for code in state.catalog:
        for step in dashboards.step_durations(state, code=code, period=period).itertuples():
            same(0 if np.isnan(step.n) else step.n, behind_step(base, code, step.seq))
        for cell in dashboards.overrun_heatmap(state, code=code,
                                               months=period.chart_months()).itertuples():
            cell_drill = behind_cell(base, code, cell.seq, cell.month)
            same(cell.visits, cell_drill)
            same(round(cell.share_over * cell.visits), cell_drill.with_(late_only=True))
        for bar in dashboards.returns_pareto(state, code=code, period=period).itertuples():
            same(bar.returns, behind_returns(base, code, bar.seq))
        for rank in dashboards.bottlenecks(state, code=code, period=period).itertuples():
            same(rank.visits, behind_step(base, code, rank.seq))
            same(rank.over, behind_step(base, code, rank.seq).with_(late_only=True))

    queue = dashboards.backlog(state, unit_names={})
    for row in queue.itertuples():
        same(row.total, behind_queue(base, row.role, codes.get(row.unit_id)))
        for sla in SLA_STATES:
            same(getattr(row, sla), behind_queue(base, row.role, codes.get(row.unit_id), sla))
    with read_session(engine) as session:
        holders = role_holders(session)
    people = dashboards.backlog_per_person(state, holders=holders)
    assert len(people) or not now.pending
    for person in people.itertuples():
        same(person.total, behind_person(base, person.username))
        same(person.overdue, behind_person(base, person.username, "overdue"))
    assert checked > 100


def test_a_rate_read_off_its_list_is_the_tile(demo_history) -> None:
    engine, history = demo_history
    period = parse_period("2026-Q3", today=TODAY)
    state = snapshot(history, as_of=period_as_of(period, now=UNTIL))
    figures = totals(state, period.bounds())
    percent = f"{figures.compliance_rate * 100:.1f}".replace(".", ",")
    revision = f"{figures.revision_rate * 100:.1f}".replace(".", ",")
    visits = Drill(view="kunjungan", period=period, status="bertarget")
    done = Drill(view="kasus", period=period, status="selesai")
    with read_session(engine) as session:
        visit_rows = rows_behind(state, visits, resolved=resolve(session, visits))
        case_rows = rows_behind(state, done, resolved=resolve(session, done))
    assert f"({percent}%)" in summary(visits, visit_rows)
    assert f"{figures.cases_revised} dari {figures.cases_completed} yang selesai" in summary(
        done, case_rows)
    assert f"({revision}%)" in summary(done, case_rows)


def test_a_persons_queue_is_their_tugas_saya(demo_history) -> None:
    engine, history = demo_history
    state = snapshot(history, as_of=UNTIL)
    with read_session(engine) as session:
        people = dashboards.backlog_per_person(state, holders=role_holders(session))
        for username in people["username"]:
            actor = load_actor(session, username=username)
            if actor.may_record_for_others:
                continue  # a recorder's Tugas Saya lists everyone's work, not only theirs
            held = int(people.loc[people["username"] == username, "total"].iloc[0])
            assert len(tasks_for(session, actor=actor, as_of=UNTIL)) == held, username


def test_cases_a_person_performed_and_late_cases(demo_history) -> None:
    engine, history = demo_history
    state = snapshot(history, as_of=UNTIL)
    with read_session(engine) as session:
        holders = role_holders(session)
    performer = state.ended.loc[state.ended["performer_user_id"] >= 0, "performer_user_id"]
    user_id = int(performer.mode().iloc[0])
    username = holders.loc[holders["user_id"] == user_id, "username"].iloc[0]
    drill = Drill(view="kasus", person=username)
    with read_session(engine) as session:
        rows = rows_behind(state, drill, resolved=resolve(session, drill))
    expected = state.ended.loc[state.ended["performer_user_id"] == user_id, "case_id"].unique()
    assert sorted(rows["case_id"]) == sorted(expected)
    late = Drill(view="kasus", late_only=True)
    with read_session(engine) as session:
        late_rows = rows_behind(state, late, resolved=resolve(session, late))
    every = rows_behind(state, Drill(view="kasus"), resolved=resolve(session, Drill()))
    assert 0 < len(late_rows) < len(every) and late_rows["late"].all()


def test_search_finds_a_case_by_its_number_or_a_word_of_its_title(demo_history) -> None:
    engine, history = demo_history
    state = snapshot(history, as_of=UNTIL)
    every = rows_behind(state, Drill(), resolved=Resolved.nothing())
    with read_session(engine) as session:
        ref, title = session.execute(select(Case.ref, Case.title)
                                     .where(Case.id == int(every["case_id"].iloc[0]))).one()
        by_ref = Drill(search=ref.lower())
        assert list(rows_behind(state, by_ref, resolved=resolve(session, by_ref))["case_id"]) \
            == [every["case_id"].iloc[0]]
        word = max(title.split(), key=len)
        by_word = Drill(search=word)
        found = rows_behind(state, by_word, resolved=resolve(session, by_word))
        titles = session.scalars(select(Case.title).where(Case.id.in_(
            [int(i) for i in found["case_id"]]))).all()
    assert 0 < len(found) < len(every) and all(word.lower() in t.lower() for t in titles)


def test_unknown_names_select_nothing_and_are_reported(demo_history) -> None:
    engine, history = demo_history
    state = snapshot(history, as_of=UNTIL)
    drill = Drill(view="tugas", unit_code="tidak-ada", person="siapa")
    with read_session(engine) as session:
        resolved = resolve(session, drill)
    assert resolved.unknown == ("unit tidak-ada", "pengguna siapa")
    assert rows_behind(state, drill, resolved=resolved).empty


def test_a_drill_goes_into_a_link_and_back() -> None:
    drill = Drill(view="kunjungan", period=month(date(2026, 7, 1)), sop_codes=("a", "b"),
                  unit_code="bidang-arsip", status="kembali", late_only=True, seq=9, role="Kadis",
                  person="budi", search="LKj 2026")
    assert read_drill(drill.params()) == drill
    assert drill.link.startswith("lihat=kunjungan&periode=2026-07&sop=a%2Cb")
    assert read_drill({}) == Drill()
    garbled = read_drill({"lihat": "semua", "periode": "kemarin", "status": "kembali",
                          "langkah": "1; drop", "terlambat": "ya", "cari": " " * 3})
    assert garbled == Drill()  # a case list of everything, not an error
    assert Drill(view="tugas", status="selesai") != Drill(view="tugas")
    assert Drill(view="kasus", status="selesai").with_(view="tugas").status is None
    assert replace(drill, search="x" * 500).params()["cari"] == "x" * 500
    assert read_drill({"cari": "x" * 500}).search == "x" * 100
