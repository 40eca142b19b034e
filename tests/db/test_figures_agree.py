"""Every figure a page or a report shows for a closed period equals the metrics of that period
(docs/design.md, "Figures"): the Dasbor tiles and SOP rows, Hambatan's step tables, Antrean's
queue, Progres's cases, the Tabel 7 pre-fill and the management workbook.

The history adds to the hand-made log of test_metrics a case returned in January and completed
in February: February's revision rate is 1.0 everywhere, January's has nothing completed."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from db.engine import read_session, write_session
from services import dashboards
from services.accounts import SYSTEM
from services.catalog.store import current_catalog
from services.metrics import Metrics, period_as_of, period_metrics, read_history, snapshot
from services.periods import PeriodChoice, month
from services.reports.digest import management_report
from services.reports.forms import monitoring_form
from services.workflow.replay import LogEvent, replay
from tests.db.test_metrics import _log
from tests.organisation import NOW, Organisation, wib

JANUARY = month(date(2025, 1, 1))
FEBRUARY = month(date(2025, 2, 1))
LATER = wib(2025, 6, 2, 9, 0)  # long after February: both months are closed


def _across_months() -> list[LogEvent]:
    """Case R: returned at step 5 on Fri 31 Jan, completed on Tue 4 Feb."""
    rows = [("start", None, wib(2025, 1, 30, 8, 0), None)]
    rows += [("complete", seq, wib(2025, 1, 30, 9 + seq, 0), None) for seq in (1, 2, 3, 4)]
    rows += [("return", 5, wib(2025, 1, 31, 9, 0), "Lampiran belum ada"),
             ("complete", 4, wib(2025, 2, 3, 9, 0), None),
             ("approve", 5, wib(2025, 2, 3, 10, 0), None),
             ("complete", 6, wib(2025, 2, 4, 9, 0), None),
             ("complete", 7, wib(2025, 2, 4, 10, 0), None)]
    return [LogEvent(line=100 + i, case_ref="R", sop_code="e-kinerja", sop_version=None,
                     seq=seq, kind=kind, at=at, note=note,
                     title="e-Kinerja R" if kind == "start" else None)
            for i, (kind, seq, at, note) in enumerate(rows)]


@pytest.fixture
def history(org: Organisation):
    with write_session(org.engine) as session:
        replay(session, events=sorted(_log() + _across_months(), key=lambda e: e.at),
               actor=SYSTEM, now=NOW)
    with read_session(org.engine) as session:
        return read_history(session)


def _metrics(org: Organisation, period: PeriodChoice) -> Metrics:
    with read_session(org.engine) as session:
        return period_metrics(session, period=period, now=LATER)


def _state(history, period: PeriodChoice):
    return snapshot(history, as_of=period_as_of(period, now=LATER))


def test_revision_rate_across_periods(org: Organisation, history) -> None:
    february, january = _metrics(org, FEBRUARY), _metrics(org, JANUARY)
    ekinerja = next(sop for sop in february.sops if sop.code == "e-kinerja")
    # A (returned and completed in February) and R (returned in January, completed in
    # February) are both revised.
    assert (ekinerja.totals.cases_completed, ekinerja.totals.cases_revised) == (2, 2)
    assert february.totals.revision_rate == ekinerja.totals.revision_rate == 1.0
    assert january.totals.revision_rate is None and january.totals.returns == 1
    tiles = {t.key: t for t in dashboards.tiles(_state(history, FEBRUARY),
                                                _state(history, JANUARY), period=FEBRUARY)}
    assert (tiles["revisi"].value, tiles["revisi"].previous) == (1.0, None)
    table = dashboards.compliance_by_sop(_state(history, FEBRUARY), period=FEBRUARY)
    assert table.set_index("code").loc["e-kinerja", "revision"] == 1.0


def test_every_page_figure_of_a_closed_period_equals_the_metrics(org: Organisation,
                                                                  history) -> None:
    metrics, before = _metrics(org, FEBRUARY), _metrics(org, JANUARY)
    state = _state(history, FEBRUARY)
    assert metrics.as_of == FEBRUARY.bounds()[1] == state.as_of

    tiles = {t.key: t for t in dashboards.tiles(state, _state(history, JANUARY),
                                                period=FEBRUARY)}
    for key, figure in (("berjalan", "cases_active"), ("selesai", "cases_completed"),
                        ("kepatuhan", "compliance_rate"), ("revisi", "revision_rate"),
                        ("terlambat", "overdue")):
        assert tiles[key].value == getattr(metrics.totals, figure), key
        assert tiles[key].previous == getattr(before.totals, figure), key

    rows = dashboards.compliance_by_sop(state, period=FEBRUARY).set_index("code")
    for sop in metrics.sops:
        row, figures = rows.loc[sop.code], sop.totals
        assert (row["visits"], row["with_target"], row["within"], row["returns"],
                row["completed"], row["overdue"]) == (
            figures.visits_ended, figures.visits_with_target, figures.within_target,
            figures.returns, figures.cases_completed, figures.overdue), sop.code
        assert _same(row["compliance"], figures.compliance_rate)
        assert _same(row["revision"], figures.revision_rate)

    for sop in metrics.sops:
        steps = {step.seq: step for step in sop.steps}
        durations = dashboards.step_durations(state, code=sop.code, period=FEBRUARY)
        ranking = dashboards.bottlenecks(state, code=sop.code, period=FEBRUARY)
        pareto = dashboards.returns_pareto(state, code=sop.code, period=FEBRUARY)
        for row in durations.itertuples():
            step = steps[row.seq]
            assert (int(0 if row.n != row.n else row.n), row.label) == (step.visits_ended,
                                                                       step.label)
            assert _same(row.median, step.duration_median)
            assert _same(row.compliance, step.compliance_rate)
        for row in ranking.itertuples():
            assert row.visits == steps[row.seq].visits_ended
            assert row.overrun_hours * 60 == pytest.approx(steps[row.seq].overrun_minutes,
                                                           abs=0.01)
        assert {row.seq: row.returns for row in pareto.itertuples()} == {
            step.seq: step.returns for step in sop.steps if step.returns}
        running = dashboards.active_cases(state, code=sop.code)
        done = dashboards.completed_cases(state, code=sop.code, period=FEBRUARY)
        assert (len(running), len(done)) == (sop.totals.cases_active,
                                             sop.totals.cases_completed)
        assert sum(step.open_visits for step in sop.steps) == sop.totals.cases_active

    queue = dashboards.backlog(state, unit_names={})
    assert int(queue["total"].sum()) == metrics.totals.pending == len(metrics.pending)
    assert int(queue["overdue"].sum()) == metrics.totals.overdue
    assert int(queue["at_risk"].sum()) == metrics.totals.at_risk


def test_every_report_figure_of_a_closed_period_equals_the_metrics(org: Organisation,
                                                                    history) -> None:
    metrics = _metrics(org, FEBRUARY)
    with read_session(org.engine) as session:
        entries = {entry.sop.code: entry for entry in current_catalog(session)}
        forms = {code: monitoring_form(session, entry=entry, period=FEBRUARY, metrics=metrics)
                 for code, entry in entries.items()}
        workbook = openpyxl.load_workbook(io.BytesIO(
            management_report(session, period=FEBRUARY, metrics=metrics)))
    for sop in metrics.sops:
        for row, step in zip(forms[sop.code].rows, sop.steps, strict=True):
            measured = row.measured
            assert (row.number, measured.visits, measured.within, measured.returns,
                    measured.open_visits) == (step.label, step.visits_ended,
                                              step.within_target, step.returns,
                                              step.open_visits)
            assert _same(measured.compliance, step.compliance_rate)

    def sheet(name: str) -> list[dict[str, object]]:
        values = list(workbook[name].iter_rows(min_row=4, values_only=True))
        return [dict(zip(values[0], row, strict=True)) for row in values[1:]]

    summary = {row["Ukuran"]: row["Nilai"] for row in sheet("Ringkasan")}
    figures = metrics.totals
    assert (summary["Kasus berjalan pada waktu acuan"], summary["Kasus selesai pada periode"],
            summary["Dalam Mutu Baku"], summary["Pengembalian"],
            summary["Tugas tertunda pada waktu acuan"], summary["Tugas tertunda yang terlambat"]) \
        == (figures.cases_active, figures.cases_completed, figures.within_target,
            figures.returns, figures.pending, figures.overdue)
    assert _same(summary["Kepatuhan Mutu Baku"], figures.compliance_rate)
    assert _same(summary["Tingkat revisi"], figures.revision_rate)
    per_sop = {row["Kode"]: row for row in sheet("Per SOP")}
    for sop in metrics.sops:
        assert per_sop[sop.code]["Selesai"] == sop.totals.cases_completed
        assert _same(per_sop[sop.code]["Tingkat revisi"], sop.totals.revision_rate)
    titles = {row["Kasus"]: row["Judul"] for row in sheet("Antrean")}
    assert titles == {"B": "e-Kinerja B", "D": "e-Kinerja D"}  # the title, not the number


def _same(shown: object, expected: float | None) -> bool:
    if expected is None:
        return shown is None or shown != shown  # None, or NaN in a frame
    return shown == pytest.approx(expected, abs=5e-5)
