"""Metrics on a small hand-made event log; every figure below was worked out by hand.

Calendar: Mon-Thu 07:30-12:00 and 13:00-16:00, Fri 07:30-11:30 and 13:00-16:30; the first
week of February 2025 has no holidays. e-Kinerja targets (minutes): 1:10 2:15 3:45 4:1350
5:60 (decision, "T" back to 4) 6:240 7:30.

Case A (completed, one return):
  start Mon 3 Feb 08:00
  1 complete 08:10   10 (target 10)  within
  2 complete 08:40   30 (15)         overrun 15
  3 begin 09:00, complete 09:30   50 (45) overrun 5
  4 complete Tue 10:00  Mon 09:30-12:00 150 + 13:00-16:00 180 + Tue 07:30-10:00 150 = 480 within
  5 return 11:00      60 (60)         within (<= counts)
  4 complete 14:00    11:00-12:00 60 + 13:00-14:00 60 = 120 within
  5 approve 14:30     30              within
  6 complete Wed 08:30   Tue 14:30-16:00 90 + Wed 07:30-08:30 60 = 150 (240) within
  7 complete 09:30    60 (30)         overrun 30
  lead time Mon 08:00 -> Wed 09:30 = 420 + 450 + 120 = 990
Case B (open): start Thu 6 Feb 08:00, 1 complete 08:05 (5, within); step 2 open since 08:05.
Case C (cancelled): start Mon 3 Feb 13:00, cancelled 14:00: its open visit is not measured.
Case D (open): start Thu 07:00, 1 complete 07:45: 07:30-07:45 = 15 (10), overrun 5;
  step 2 open since 07:45.
As of Thu 6 Feb 08:17: B's step 2 is 12 old (>= 80% of 15: at risk), D's is 32 (overdue).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pytest
from sqlalchemy import Engine

from db.engine import read_session, write_session
from services.accounts import SYSTEM
from services.metrics import (
    compute_metrics,
    metrics_json,
    read_history,
    resolve_as_of,
    scope,
    snapshot,
    totals,
    totals_per_sop,
)
from services.periods import Period
from services.workflow.replay import LogEvent, replay
from tests.organisation import NOW, Organisation, wib

AS_OF = wib(2025, 2, 6, 8, 17)


def _log() -> list[LogEvent]:
    rows = [
        ("A", "start", None, wib(2025, 2, 3, 8, 0), None),
        ("A", "complete", 1, wib(2025, 2, 3, 8, 10), None),
        ("A", "complete", 2, wib(2025, 2, 3, 8, 40), None),
        ("A", "begin", 3, wib(2025, 2, 3, 9, 0), None),
        ("A", "complete", 3, wib(2025, 2, 3, 9, 30), None),
        ("A", "complete", 4, wib(2025, 2, 4, 10, 0), None),
        ("A", "return", 5, wib(2025, 2, 4, 11, 0), "Data Bidang Arsip belum lengkap"),
        ("A", "complete", 4, wib(2025, 2, 4, 14, 0), None),
        ("A", "approve", 5, wib(2025, 2, 4, 14, 30), None),
        ("A", "complete", 6, wib(2025, 2, 5, 8, 30), None),
        ("A", "complete", 7, wib(2025, 2, 5, 9, 30), None),
        ("C", "start", None, wib(2025, 2, 3, 13, 0), None),
        ("C", "cancel", None, wib(2025, 2, 3, 14, 0), "Surat Sekda ditarik kembali"),
        ("D", "start", None, wib(2025, 2, 6, 7, 0), None),
        ("D", "complete", 1, wib(2025, 2, 6, 7, 45), None),
        ("B", "start", None, wib(2025, 2, 6, 8, 0), None),
        ("B", "complete", 1, wib(2025, 2, 6, 8, 5), None),
    ]
    return [LogEvent(line=i + 2, case_ref=ref, sop_code="e-kinerja", sop_version=None, seq=seq,
                     kind=kind, at=at, note=note, title=f"e-Kinerja {ref}" if kind == "start" else None)
            for i, (ref, kind, seq, at, note) in enumerate(rows)]


@pytest.fixture
def hand_log(org: Organisation) -> Organisation:
    with write_session(org.engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)
    return org


def test_every_figure_of_the_hand_made_log(hand_log: Organisation) -> None:
    with read_session(hand_log.engine) as session:
        metrics = compute_metrics(session, as_of=AS_OF)
    document = metrics_json(metrics)
    assert document["as_of"] == "2025-02-06T08:17:00+07:00"
    ekinerja = next(sop for sop in document["sops"] if sop["code"] == "e-kinerja")
    assert ekinerja["cases"] == {"total": 4, "active": 2, "completed": 1, "cancelled": 1}
    assert ekinerja["compliance_rate"] == round(7 / 11, 4)
    assert ekinerja["returns"] == 1
    assert ekinerja["revision_rate"] == 1.0
    assert ekinerja["lead_time_minutes"] == {"median": 990.0, "p90": 990.0}
    steps = {step["seq"]: step for step in ekinerja["steps"]}
    assert steps[1] == {
        "seq": 1, "label": "1", "role": "Kadis", "target_minutes": 10, "visits_ended": 3,
        "duration_minutes": {"median": 10.0, "p90": 14.0, "mean": 10.0},
        "within_target": 2, "returns": 0, "overrun_minutes": 5.0, "open_visits": 0}
    assert steps[2]["visits_ended"] == 1 and steps[2]["open_visits"] == 2
    assert steps[2]["duration_minutes"] == {"median": 30.0, "p90": 30.0, "mean": 30.0}
    assert (steps[2]["within_target"], steps[2]["overrun_minutes"]) == (0, 15.0)
    assert (steps[3]["duration_minutes"]["median"], steps[3]["overrun_minutes"]) == (50.0, 5.0)
    assert steps[4]["duration_minutes"] == {"median": 300.0, "p90": 444.0, "mean": 300.0}
    assert (steps[4]["visits_ended"], steps[4]["within_target"]) == (2, 2)
    assert steps[5]["duration_minutes"] == {"median": 45.0, "p90": 57.0, "mean": 45.0}
    assert (steps[5]["returns"], steps[5]["within_target"]) == (1, 2)
    assert (steps[6]["duration_minutes"]["median"], steps[6]["within_target"]) == (150.0, 1)
    assert (steps[7]["duration_minutes"]["median"], steps[7]["overrun_minutes"]) == (60.0, 30.0)
    assert document["pending"] == [
        {"case_id": "D", "sop_code": "e-kinerja", "seq": 2, "label": "2", "role": "Sekretaris",
         "unit": None,
         "available_at": "2025-02-06T07:45:00+07:00", "age_minutes": 32.0,
         "target_minutes": 15.0, "sla_state": "overdue"},
        {"case_id": "B", "sop_code": "e-kinerja", "seq": 2, "label": "2", "role": "Sekretaris",
         "unit": None,
         "available_at": "2025-02-06T08:05:00+07:00", "age_minutes": 12.0,
         "target_minutes": 15.0, "sla_state": "at_risk"},
    ]
    untouched = next(sop for sop in document["sops"] if sop["code"] == "penyusunan-lkj")
    assert untouched["compliance_rate"] is None and untouched["revision_rate"] is None
    assert untouched["lead_time_minutes"] == {"median": None, "p90": None}
    assert untouched["steps"][0]["duration_minutes"] == {"median": None, "p90": None, "mean": None}
    json.dumps(document)  # serialisable as is


def test_period_selects_visits_by_end_time(hand_log: Organisation) -> None:
    """Monday 3 Feb only: A's steps 1-3 ended then (10 within; 30 and 50 over)."""
    with read_session(hand_log.engine) as session:
        metrics = compute_metrics(session, as_of=AS_OF,
                                  period=(wib(2025, 2, 3), wib(2025, 2, 4)))
    ekinerja = next(sop for sop in metrics.sops if sop.code == "e-kinerja").totals
    assert (ekinerja.visits_with_target, ekinerja.within_target) == (3, 1)
    assert ekinerja.cases_completed == 0 and ekinerja.revision_rate is None
    steps = next(sop for sop in metrics.sops if sop.code == "e-kinerja").steps
    assert [s.open_visits for s in steps][:2] == [0, 2]  # open at the as-of


def test_scheduled_step_is_measured_against_its_due_date(org: Organisation) -> None:
    """Monev step 5 due Fri 7 Feb 10:00, available Thu 6 Feb 15:00: target = 60 (Thu) + 150
    (Fri 07:30-10:00) = 210; completed Fri 11:00 = 270, overrun 60."""
    steps = [(1, 8), (2, 9), (3, 10), (4, 15)]
    log = [LogEvent(line=2, case_ref="M", sop_code="monev-kinerja-periodik", sop_version=None,
                    seq=None, kind="start", at=wib(2025, 2, 6, 7, 30), title="Monev",
                    schedule={5: wib(2025, 2, 7, 10, 0)})]
    log += [LogEvent(line=3 + i, case_ref="M", sop_code="monev-kinerja-periodik",
                     sop_version=None, seq=seq, kind="complete", at=wib(2025, 2, 6, hour))
            for i, (seq, hour) in enumerate(steps)]
    log.append(LogEvent(line=7, case_ref="M", sop_code="monev-kinerja-periodik", sop_version=None,
                        seq=5, kind="complete", at=wib(2025, 2, 7, 11, 0)))
    with write_session(org.engine) as session:
        replay(session, events=log, actor=SYSTEM, now=NOW)
    with read_session(org.engine) as session:
        metrics = compute_metrics(session, as_of=wib(2025, 2, 7, 11, 0))
    step5 = next(s for s in metrics.sops if s.code == "monev-kinerja-periodik").steps[4]
    assert (step5.target_minutes, step5.duration_median, step5.within_target,
            step5.overrun_minutes) == (None, 270.0, 0, 60.0)
    visit = metrics.state.ended[metrics.state.ended["seq"] == 5].iloc[0]
    assert visit["target"] == 210.0


def test_past_as_of_shows_the_state_then(hand_log: Organisation) -> None:
    """Tue 4 Feb 12:00: A is at step 4 again (returned at 11:00, 60 minutes old against
    1350: on time); C was cancelled on Monday; nothing of Thursday exists yet."""
    with read_session(hand_log.engine) as session:
        metrics = compute_metrics(session, as_of=wib(2025, 2, 4, 12, 0))
    ekinerja = next(sop for sop in metrics.sops if sop.code == "e-kinerja")
    figures = ekinerja.totals
    assert (figures.cases_total, figures.cases_active, figures.cases_completed,
            figures.cases_cancelled) == (2, 1, 0, 1)
    assert [(item.case_id, item.seq, item.age_minutes, item.sla_state)
            for item in metrics.pending] == [("A", 4, 60.0, "on_time")]
    # Ended by then: A's 1, 2, 3, 4 and the return at 5.
    assert ekinerja.totals.visits_ended == 5 and ekinerja.totals.returns == 1
    assert ekinerja.totals.revision_rate is None  # nothing completed yet


def test_as_of_needs_a_time_zone(hand_log: Organisation) -> None:
    from datetime import datetime

    from services.errors import InvalidInput

    with read_session(hand_log.engine) as session:
        with pytest.raises(InvalidInput, match="zona waktu"):
            resolve_as_of(session, datetime(2025, 2, 6, 8, 0))
        assert resolve_as_of(session, None) >= wib(2025, 2, 6, 8, 5)


def test_the_totals_of_each_sop_are_the_totals_of_its_scope(hand_log: Organisation) -> None:
    """`totals_per_sop` (one grouped pass, for the figures of every SOP) counts exactly what
    `totals` counts on the state narrowed to each SOP, for any period and as-of."""
    assert_totals_per_sop_are_the_scoped_totals(hand_log.engine, as_ofs=(
        wib(2025, 2, 4, 12, 0), AS_OF, NOW), periods=(None, (wib(2025, 2, 3), wib(2025, 2, 5)),
                                                      (wib(2025, 2, 5), wib(2025, 3, 1))))


def assert_totals_per_sop_are_the_scoped_totals(engine: Engine, *, as_ofs: Sequence[datetime],
                                                periods: Sequence[Period | None]) -> None:
    with read_session(engine) as session:
        history = read_history(session)
    checked = 0
    for as_of in as_ofs:
        state = snapshot(history, as_of=as_of)
        for period in periods:
            per_sop = totals_per_sop(state, period)
            assert list(per_sop) == list(state.catalog)
            for code, figures in per_sop.items():
                assert figures == totals(scope(state, sop_codes=(code,)), period), (code, period)
                checked += figures.visits_ended + figures.cases_total + figures.pending
    assert checked > 0  # the states compared were not all empty
