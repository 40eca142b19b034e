"""Everything a period's report consists of, built once for the page's downloads and for
`manage.py report` (the scheduled digest): both forms for every SOP as PDF and Excel, the
management workbook, and the period's event log as CSV and XES."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from db.models import Case, Event, Sop, SopVersion, User
from services.cases import case_titles
from services.catalog.store import current_catalog
from services.eventlog import export_event_csv, export_xes
from services.metrics import History, Metrics, period_metrics
from services.periods import PeriodChoice, today_wib
from services.reports.excel import (
    evaluation_workbook,
    management_workbook,
    monitoring_workbook,
    naive_wib,
)
from services.reports.forms import (
    EvaluationForm,
    MonitoringForm,
    evaluation_form,
    monitoring_form,
)
from services.reports.pdf import evaluation_pdf, monitoring_pdf
from services.settings import get_setting

Progress = Callable[[str, float], None]


def returns_in(session: Session, *, metrics: Metrics) -> pd.DataFrame:
    """Every return in the period of `metrics` up to its as-of: when, which case and step, by
    whom, why."""
    assert metrics.period is not None
    start, end = metrics.period
    performer = aliased(User)
    rows = session.execute(
        select(Event.occurred_at, Case.ref, Case.title, Sop.code, Event.step_seq,
               performer.full_name, Event.note)
        .join(Case, Event.case_id == Case.id)
        .join(SopVersion, Case.sop_version_id == SopVersion.id)
        .join(Sop, SopVersion.sop_id == Sop.id)
        .outerjoin(performer, Event.performer_user_id == performer.id)
        .where(Event.kind == "return", Event.occurred_at >= start, Event.occurred_at < end,
               Event.occurred_at <= metrics.as_of)
        .order_by(Event.occurred_at)).all()
    frame = pd.DataFrame(rows, columns=["at", "ref", "title", "sop_code", "seq", "performer",
                                        "note"])
    catalog = metrics.state.catalog
    frame["label"] = [catalog[code].labels.get(seq, str(seq)) if code in catalog else str(seq)
                      for code, seq in zip(frame["sop_code"], frame["seq"], strict=True)]
    frame["at"] = [naive_wib(at) for at in frame["at"]]
    return frame


@dataclass(frozen=True)
class PeriodForms:
    monitoring: tuple[MonitoringForm, ...]
    evaluation: tuple[EvaluationForm, ...]


def period_forms(session: Session, *, period: PeriodChoice, metrics: Metrics) -> PeriodForms:
    entries = current_catalog(session)
    return PeriodForms(
        monitoring=tuple(monitoring_form(session, entry=entry, period=period, metrics=metrics)
                         for entry in entries),
        evaluation=tuple(evaluation_form(session, entry=entry, period=period)
                         for entry in entries))


def management_report(session: Session, *, period: PeriodChoice, metrics: Metrics) -> bytes:
    pending_cases = [item.case_pk for item in metrics.pending]
    return management_workbook(metrics, period=period, returns=returns_in(session, metrics=metrics),
                               titles=case_titles(session, case_ids=pending_cases))


def event_log(session: Session, *, period: PeriodChoice, kind: str,
              progress: Callable[[int], None] | None = None) -> bytes:
    """The period's cases as an event log, CSV (re-importable) or XES."""
    out = io.StringIO()
    export = export_event_csv if kind == "csv" else export_xes
    export(session, out=out, period=period.bounds(), progress=progress)
    return out.getvalue().encode("utf-8")


def report_city(session: Session) -> str:
    return str(get_setting(session, "report_city"))


def report_files(session: Session, *, period: PeriodChoice, now: datetime,
                 history: History | None = None,
                 progress: Progress | None = None) -> list[tuple[str, bytes]]:
    """The period's report as (file name, content), built one after the other so a caller can
    show progress; `history` is a cached read_history() when the caller has one."""
    def step(label: str, share: float) -> None:
        if progress is not None:
            progress(label, share)

    step("Menghitung angka periode", 0.0)
    metrics = period_metrics(session, period=period, now=now, history=history)
    forms = period_forms(session, period=period, metrics=metrics)
    city, day = report_city(session), today_wib(now)
    builders: list[tuple[str, Callable[[], bytes]]] = [
        ("tabel7-monitoring.pdf", lambda: monitoring_pdf(forms.monitoring, city=city, day=day)),
        ("tabel7-monitoring.xlsx", lambda: monitoring_workbook(forms.monitoring)),
        ("evaluasi-sop.pdf", lambda: evaluation_pdf(forms.evaluation, city=city, day=day)),
        ("evaluasi-sop.xlsx", lambda: evaluation_workbook(forms.evaluation)),
        ("laporan-manajemen.xlsx",
         lambda: management_report(session, period=period, metrics=metrics)),
        ("log-kejadian.csv", lambda: event_log(session, period=period, kind="csv")),
        ("log-kejadian.xes", lambda: event_log(session, period=period, kind="xes")),
    ]
    files = []
    for index, (name, build) in enumerate(builders):
        stem, _, suffix = name.partition(".")
        file_name = f"{stem}-{period.text}.{suffix}"
        step(f"Menyiapkan {file_name}", (index + 1) / (len(builders) + 1))
        files.append((file_name, build()))
    step("Selesai", 1.0)
    return files


def write_report(session: Session, *, period: PeriodChoice, out_dir: Path, now: datetime,
                 progress: Progress | None = None) -> list[Path]:
    """`manage.py report`: the report files of the period, written into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in report_files(session, period=period, now=now, progress=progress):
        path = out_dir / name
        path.write_bytes(content)
        written.append(path)
    return written
