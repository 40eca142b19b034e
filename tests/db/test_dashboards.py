"""Dashboard aggregates on the hand-made log of test_metrics (figures worked out there)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from db.engine import read_session, write_session
from services import dashboards
from services.accounts import SYSTEM
from services.calendar_admin import add_holiday
from services.metrics import (
    Snapshot,
    by_end,
    compute_metrics,
    data_version,
    ended_in,
    ended_since,
    read_history,
    scope,
    snapshot,
)
from services.periods import parse_period
from services.workflow.replay import replay
from tests.db.test_metrics import AS_OF, _log
from tests.db.test_workflow_engine import act, start
from tests.organisation import NOW, Organisation, wib

FEBRUARY = parse_period("2025-02", today=date(2025, 2, 6))


@pytest.fixture
def hand_history(org: Organisation):
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    with read_session(org.engine) as session:
        return read_history(session)


@pytest.fixture
def frames(hand_history) -> Snapshot:
    """The state at AS_OF (Thu 6 Feb 08:17)."""
    return snapshot(hand_history, as_of=AS_OF)


def test_tiles_agree_with_the_metrics_service(org: Organisation, hand_history,
                                              frames: Snapshot) -> None:
    january_end = FEBRUARY.previous().bounds()[1]
    tiles = {t.key: t for t in dashboards.tiles(frames, snapshot(hand_history, as_of=january_end),
                                                period=FEBRUARY)}
    with read_session(org.engine) as session:
        metrics = compute_metrics(session, as_of=AS_OF, period=FEBRUARY.bounds())
        before = compute_metrics(session, as_of=january_end,
                                 period=FEBRUARY.previous().bounds())
    for key, figure in (("berjalan", "cases_active"), ("selesai", "cases_completed"),
                        ("kepatuhan", "compliance_rate"), ("revisi", "revision_rate"),
                        ("terlambat", "overdue")):
        assert tiles[key].value == getattr(metrics.totals, figure)
        assert tiles[key].previous == getattr(before.totals, figure)
    assert tiles["kepatuhan"].value == pytest.approx(7 / 11, abs=1e-4)
    assert tiles["berjalan"].value == 2 and tiles["berjalan"].previous == 0
    assert tiles["selesai"].value == 1
    assert tiles["revisi"].value == 1.0
    assert tiles["terlambat"].value == 1  # D's step 2 (B's is at risk)
    assert tiles["kepatuhan"].previous is None  # nothing ended in January


def test_overdue_at_an_earlier_instant(hand_history) -> None:
    def overdue(at):
        items = snapshot(hand_history, as_of=at).items
        return int((items["sla_state"] == "overdue").sum())

    # Thu 6 Feb 08:00: D's step 2 has been open since 07:45, 15 of its 15 minutes: at risk.
    assert overdue(wib(2025, 2, 6, 8, 0)) == 0
    assert overdue(wib(2025, 2, 6, 8, 1)) == 1
    # Mon 3 Feb 08:30: A's step 2 (since 08:10, target 15) is 20 minutes old: overdue.
    assert overdue(wib(2025, 2, 3, 8, 30)) == 1


def test_compliance_by_sop_ranks_the_weakest_first(frames: Snapshot) -> None:
    table = dashboards.compliance_by_sop(frames, period=FEBRUARY)
    assert table.iloc[0]["code"] == "e-kinerja"
    row = table.iloc[0]
    assert (row["within"], row["with_target"], row["returns"], row["overdue"]) == (7, 11, 1, 1)
    assert table["compliance"].iloc[1:].isna().all()


def test_a_periods_visits_come_with_only_the_columns_asked_for(frames: Snapshot) -> None:
    assert not frames.ended["measured"].all()  # C's visit, closed by its cancellation
    for period in (FEBRUARY.bounds(), None):
        whole = ended_in(frames, period)
        narrow = ended_in(frames, period, columns=("seq", "duration"))
        assert list(narrow.columns) == ["seq", "duration"]
        assert whole["measured"].all()
        pd.testing.assert_frame_equal(narrow, whole[["seq", "duration"]])


def test_a_frame_is_put_in_end_order_once_and_its_slices_and_rows_keep_it() -> None:
    frame = pd.DataFrame({"ended_ns": [3, 1, 2, 2], "visit_id": [1, 2, 4, 3]})
    ordered = by_end(frame)
    assert ordered["visit_id"].tolist() == [2, 3, 4, 1]
    assert by_end(ordered) is ordered
    in_order = pd.DataFrame({"ended_ns": [1, 2, 2, 3], "visit_id": [1, 2, 3, 4]})
    assert by_end(in_order) is in_order
    # Found in order once, it is not read again (the history's frames are never changed in
    # place; one is here, to show it); a copy is checked afresh.
    in_order.loc[0, "ended_ns"] = 9
    assert by_end(in_order) is in_order
    assert by_end(in_order.copy())["visit_id"].tolist() == [2, 3, 4, 1]


def test_the_states_cut_from_the_kept_history_are_not_checked_for_order_again(
        hand_history, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept history was put in end order when read; the state at an instant, its scope
    and its window are slices or rows of it, so no figure reads their order again (a Dasbor
    run checked 6.5 million rows five times at ten million events)."""
    checks: list[int] = []
    diff = np.diff
    monkeypatch.setattr(np, "diff", lambda *args, **kwargs: checks.append(1) or diff(
        *args, **kwargs))
    now, past = snapshot(hand_history, as_of=AS_OF), snapshot(hand_history,
                                                              as_of=wib(2025, 2, 4, 12, 0))
    unit_id = int(now.ended["unit_id"].iloc[0])
    for state in (now, past, scope(now, sop_codes=("e-kinerja",)), scope(past, unit_id=unit_id),
                  ended_since(now, wib(2025, 2, 4))):
        assert len(ended_in(state, FEBRUARY.bounds())) == len(
            ended_in(replace(state, ended=state.ended.copy()), FEBRUARY.bounds()))
    assert len(checks) == 2 * 5  # the copies only (two columns each)


def test_process_as_it_ran_has_the_return_loop(frames: Snapshot) -> None:
    nodes, arrows = dashboards.transitions(frames, code="e-kinerja", period=FEBRUARY)
    edges = {(int(r.source), int(r.target)): int(r.count) for r in arrows.itertuples()}
    assert edges[(0, 1)] == 4  # four cases started
    assert edges[(5, 4)] == 1  # the return, drawn back
    assert edges[(4, 5)] == 2  # step 5 visited twice after step 4
    assert edges[(1, 2)] == 3  # A, B, D reached step 2 (C was cancelled at step 1)
    counts = {int(r.seq): int(r.visits) for r in nodes.itertuples()}
    assert counts[4] == 2 and counts[1] == 3


def test_lead_time_against_the_plan_without_returns(frames: Snapshot) -> None:
    done = dashboards.completed_cases(frames, code="e-kinerja", period=FEBRUARY)
    (row,) = done.itertuples()
    assert (row.lead_time, row.planned, row.returns) == (990.0, 10 + 15 + 45 + 1350 + 60 + 240 + 30, 1)


def test_backlog_per_pelaksana(frames: Snapshot) -> None:
    queue = dashboards.backlog(frames, unit_names={})
    (row,) = queue.itertuples()
    assert (row.role, row.overdue, row.at_risk, row.total) == ("Sekretaris", 1, 1, 2)


def test_data_version_moves_with_every_kind_of_change(org: Organisation) -> None:
    with read_session(org.engine) as session:
        before = data_version(session)
    case = start(org)
    with read_session(org.engine) as session:
        after_start = data_version(session)
    act(org, "sekretaris", "complete", case.case_id, 1, wib(2026, 3, 2, 9))
    with read_session(org.engine) as session:
        after_step = data_version(session)
    with write_session(org.engine) as session:
        add_holiday(session, actor=SYSTEM, day=date(2026, 3, 3), name="Libur", now=NOW)
    with read_session(org.engine) as session:
        after_holiday = data_version(session)
    assert len({before, after_start, after_step, after_holiday}) == 4
