"""The PermenPAN-RB 35/2012 forms (docs/reports.md): Tabel 7 Monitoring Pelaksanaan SOP AP and
the seven-criteria Evaluasi SOP AP, edited by an evaluator and saved per SOP and period (every
save is kept, the latest is the form).

Tabel 7 is filled as the regulation prints it: column 2 ("Prosedur") holds the SOP AP
monitored, so the form has a row per SOP of the unit for the period (Berjalan / Tidak berjalan
dengan baik, Catatan, Tindakan, Paraf Penilai). Each SOP's row is pre-filled from that SOP's
figures, and its per-step table, pre-filled from each step's, is the annex that supports it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Sop, SopReview, User
from services.accounts import Actor
from services.catalog.definition import SopDef
from services.catalog.store import CatalogEntry, current_catalog
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.formatting import format_percent
from services.metrics import Metrics, SopMetrics, StepMetrics
from services.periods import PeriodChoice
from services.settings import get_setting
from services.workflow.model import bounded_note

GOOD = "Berjalan dengan baik"
NOT_GOOD = "Tidak berjalan dengan baik"
ASSESSMENTS = (GOOD, NOT_GOOD)
EVALUATORS = frozenset({"Kadis", "Sekretaris"})
YES, NO = "Ya", "Tidak"
# The seven criteria of the SOP AP evaluation, in the regulation's order.
CRITERIA: tuple[tuple[str, str], ...] = (
    ("kinerja", "Mampu mendorong peningkatan kinerja"),
    ("dipahami", "Mudah dipahami"),
    ("dilaksanakan", "Mudah dilaksanakan"),
    ("peran", "Semua orang dapat menjalankan perannya masing-masing"),
    ("masalah", "Mampu mengatasi permasalahan yang berkaitan dengan proses"),
    ("kebutuhan", "Mampu menjawab kebutuhan peningkatan kinerja organisasi"),
    ("sinergi", "Sinergi satu dengan lainnya"),
)
MAX_TEXT = 2000


def may_evaluate(actor: Actor) -> bool:
    return bool(actor.roles & EVALUATORS) or actor.is_admin


def require_evaluator(actor: Actor) -> None:
    if not may_evaluate(actor):
        raise PermissionDenied("Hanya Kepala Dinas, Sekretaris, atau admin yang dapat mengisi "
                               "dan menyimpan formulir monitoring dan evaluasi SOP.")


# --- Tabel 7: monitoring --------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    min_compliance: float
    max_return_rate: float

    @classmethod
    def of(cls, session: Session) -> Thresholds:
        return cls(float(get_setting(session, "monitoring_min_compliance")),
                   float(get_setting(session, "monitoring_max_return_rate")))


@dataclass(frozen=True)
class StepAssessment:
    """What the measured figures say about one step, and the draft that follows."""

    visits: int
    with_target: int
    within: int
    returns: int
    open_visits: int
    is_decision: bool
    compliance: float | None
    return_rate: float | None
    assessment: str | None  # None: nothing ended in the period, nothing to judge
    note: str
    action: str


def assess_step(step: StepMetrics, *, thresholds: Thresholds) -> StepAssessment:
    """The pre-filled Tabel 7 row: a step runs well when the share of its visits within the
    Mutu Baku reaches the minimum and (at a decision step) the share of returns stays at or under
    the maximum. A step without a measurable target is judged on its returns alone."""
    is_decision = step.is_decision
    compliance = step.compliance_rate
    return_rate = step.return_rate if is_decision else None
    late = compliance is not None and compliance < thresholds.min_compliance
    returned = return_rate is not None and return_rate > thresholds.max_return_rate
    facts = []
    if step.visits_with_target:
        facts.append(f"{step.within_target} dari {step.visits_with_target} kunjungan dalam "
                     "Mutu Baku")
    elif step.visits_ended:
        facts.append(f"{step.visits_ended} kunjungan selesai (tanpa Mutu Baku terukur)")
    if is_decision and step.decisions:
        facts.append(f"{step.returns} pengembalian dari {step.decisions} keputusan")
    if step.open_visits:
        facts.append(f"{step.open_visits} masih berjalan")
    if not step.visits_ended:
        return StepAssessment(
            visits=0, with_target=0, within=0, returns=0, open_visits=step.open_visits,
            is_decision=is_decision, compliance=None, return_rate=None, assessment=None,
            note="; ".join(["Belum ada kunjungan yang selesai pada periode ini", *facts]) + ".",
            action="")
    actions = []
    if late:
        actions.append("Telusuri penyebab keterlambatan dan beban Pelaksana; tinjau kembali "
                       "Mutu Baku bila tidak realistis")
    if returned:
        actions.append("Perjelas persyaratan dan kelengkapan sebelum diajukan agar pengembalian "
                       "berkurang")
    return StepAssessment(
        visits=step.visits_ended, with_target=step.visits_with_target, within=step.within_target,
        returns=step.returns, open_visits=step.open_visits, is_decision=is_decision,
        compliance=compliance, return_rate=return_rate,
        assessment=NOT_GOOD if late or returned else GOOD,
        note="; ".join(facts) + ".", action=". ".join(actions) + ("." if actions else ""))


@dataclass(frozen=True)
class MonitoringRow:
    seq: int
    number: str  # as printed in the SOP ("1", "10", ...)
    procedure: str
    role: str
    measured: StepAssessment
    assessment: str | None
    note: str
    action: str


@dataclass(frozen=True)
class SavedBy:
    full_name: str
    username: str
    at: datetime


@dataclass(frozen=True)
class SopAssessment:
    """What the SOP's figures for the period say, and the draft of its Tabel 7 row."""

    compliance: float | None
    return_rate: float | None
    assessment: str | None  # None: nothing ended in the period, nothing to judge
    note: str
    action: str


@dataclass(frozen=True)
class SummaryRow:
    """The SOP's row in the regulation's Tabel 7."""

    measured: SopAssessment
    assessment: str | None
    note: str
    action: str


@dataclass(frozen=True)
class MonitoringForm:
    sop: SopDef
    period: PeriodChoice
    thresholds: Thresholds
    summary: SummaryRow
    rows: tuple[MonitoringRow, ...]  # the annex: one per step
    saved: SavedBy | None


def assess_sop(sop: SopMetrics, *, steps: Sequence[MonitoringRow], thresholds: Thresholds,
               closed: bool) -> SopAssessment:
    """The pre-filled row of the SOP: it runs well when its visits within the Mutu Baku reach
    the minimum and its returns stay at or under the maximum of its decisions; the note names
    the steps that do not (the annex shows them)."""
    figures = sop.totals
    compliance, return_rate = figures.compliance_rate, figures.return_rate
    running = (f"{figures.cases_active} kasus masih berjalan "
               f"{'pada akhir periode' if closed else 'saat ini'}")
    if not figures.visits_ended:
        note = "Belum ada langkah yang selesai pada periode ini"
        return SopAssessment(compliance=None, return_rate=None, assessment=None,
                             note=f"{note}; {running}." if figures.cases_active else f"{note}.",
                             action="")
    late = compliance is not None and compliance < thresholds.min_compliance
    returned = return_rate is not None and return_rate > thresholds.max_return_rate
    facts = []
    if figures.visits_with_target:
        facts.append(f"{figures.within_target} dari {figures.visits_with_target} kunjungan "
                     f"langkah dalam Mutu Baku ({format_percent(compliance)})")
    if figures.decisions:
        facts.append(f"{figures.returns} pengembalian dari {figures.decisions} keputusan")
    facts.append(f"{figures.cases_completed} kasus selesai")
    if figures.cases_active:
        facts.append(running)
    weak = [row.number for row in steps if row.measured.assessment == NOT_GOOD]
    if weak:
        facts.append(f"langkah {_joined(weak)} belum berjalan dengan baik (lihat lampiran)")
    actions = []
    if late:
        actions.append("Telusuri keterlambatan" + (f" di langkah {_joined(weak)}" if weak else "")
                       + " dan beban Pelaksana; tinjau Mutu Baku bila tidak realistis")
    if returned:
        actions.append("Perjelas persyaratan dan kelengkapan sebelum diajukan agar "
                       "pengembalian berkurang")
    return SopAssessment(compliance=compliance, return_rate=return_rate,
                         assessment=NOT_GOOD if late or returned else GOOD,
                         note="; ".join(facts) + ".",
                         action=". ".join(actions) + ("." if actions else ""))


def _joined(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} dan {items[-1]}"


def _sop_metrics(metrics: Metrics, code: str) -> SopMetrics:
    for sop in metrics.sops:
        if sop.code == code:
            return sop
    raise NotFound(f"SOP {code} tidak ada dalam perhitungan.")


def _latest(session: Session, *, kind: str, code: str,
            period: PeriodChoice) -> tuple[dict[str, Any], SavedBy] | None:
    row = session.execute(
        select(SopReview.content, User.full_name, User.username, SopReview.saved_at)
        .join(Sop, SopReview.sop_id == Sop.id)
        .join(User, SopReview.saved_by_user_id == User.id)
        .where(SopReview.kind == kind, Sop.code == code, SopReview.period == period.text)
        .order_by(SopReview.id.desc()).limit(1)).first()
    if row is None:
        return None
    return row.content, SavedBy(row.full_name, row.username, row.saved_at)


def monitoring_form(session: Session, *, entry: CatalogEntry, period: PeriodChoice,
                    metrics: Metrics) -> MonitoringForm:
    """The Tabel 7 of an SOP for a period: the saved form when there is one (rows not in it
    keep their draft), otherwise the draft from `metrics` (computed for that period)."""
    thresholds = Thresholds.of(session)
    sop_metrics = _sop_metrics(metrics, entry.sop.code)
    figures = {step.seq: step for step in sop_metrics.steps}
    saved = _latest(session, kind="monitoring", code=entry.sop.code, period=period)
    edited = {row["seq"]: row for row in saved[0]["rows"]} if saved else {}
    rows = []
    labels = entry.sop.labels()
    for step in entry.sop.steps:
        measured = assess_step(figures[step.seq], thresholds=thresholds)
        row = MonitoringRow(seq=step.seq, number=labels[step.seq],
                            procedure=step.activity, role=step.role or "",
                            measured=measured, assessment=measured.assessment,
                            note=measured.note, action=measured.action)
        if step.seq in edited:
            kept = edited[step.seq]
            row = replace(row, assessment=kept["assessment"], note=kept["note"],
                          action=kept["action"])
        rows.append(row)
    whole = assess_sop(sop_metrics, steps=rows, thresholds=thresholds,
                       closed=metrics.as_of >= period.bounds()[1])
    kept = saved[0].get("summary") if saved else None
    summary = SummaryRow(measured=whole, assessment=whole.assessment, note=whole.note,
                         action=whole.action)
    if kept:
        summary = replace(summary, assessment=kept["assessment"], note=kept["note"],
                          action=kept["action"])
    return MonitoringForm(sop=entry.sop, period=period, thresholds=thresholds, summary=summary,
                          rows=tuple(rows), saved=saved[1] if saved else None)


def _clean(text: Any, what: str) -> str:
    return bounded_note(None if text is None else str(text), limit=MAX_TEXT, what=what) or ""


def _entry(session: Session, code: str) -> CatalogEntry:
    entry = next((e for e in current_catalog(session) if e.sop.code == code), None)
    if entry is None:
        raise NotFound(f"SOP {code} tidak ada di katalog.")
    return entry


def _store(session: Session, *, actor: Actor, kind: str, entry: CatalogEntry,
           period: PeriodChoice, content: dict[str, Any], now: datetime) -> None:
    if actor.user_id is None:
        raise PermissionDenied("Formulir disimpan atas nama pengguna yang masuk.")
    sop_id = session.scalar(select(Sop.id).where(Sop.code == entry.sop.code))
    session.add(SopReview(kind=kind, sop_id=sop_id, sop_version_id=entry.version_id,
                          period=period.text, content=content, saved_by_user_id=actor.user_id,
                          saved_at=now))
    session.flush()


def save_monitoring(session: Session, *, actor: Actor, code: str, period: PeriodChoice,
                    summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                    now: datetime) -> None:
    """Save the evaluator's Tabel 7 of an SOP: its row (assessment, note, action) and, in the
    annex, the same per step seq. The SOP and every step must be assessed."""
    require_evaluator(actor)
    entry = _entry(session, code)
    if summary.get("assessment") not in ASSESSMENTS:
        raise InvalidInput(f"SOP {entry.sop.name}: pilih penilaian \"{GOOD}\" atau "
                           f"\"{NOT_GOOD}\".")
    kept_summary = {"assessment": summary["assessment"],
                    "note": _clean(summary.get("note"), "Catatan SOP"),
                    "action": _clean(summary.get("action"), "Tindakan SOP")}
    by_seq = {int(row["seq"]): row for row in rows}
    stored = []
    labels = entry.sop.labels()
    for step in entry.sop.steps:
        row = by_seq.get(step.seq)
        number = labels[step.seq]
        if row is None or row.get("assessment") not in ASSESSMENTS:
            raise InvalidInput(f"Langkah {number}: pilih penilaian \"{GOOD}\" atau "
                               f"\"{NOT_GOOD}\".")
        stored.append({"seq": step.seq, "assessment": row["assessment"],
                       "note": _clean(row.get("note"), f"Catatan langkah {number}"),
                       "action": _clean(row.get("action"), f"Tindakan langkah {number}")})
    _store(session, actor=actor, kind="monitoring", entry=entry, period=period,
           content={"summary": kept_summary, "rows": stored}, now=now)


# --- Evaluasi SOP AP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationForm:
    sop: SopDef
    period: PeriodChoice
    answers: dict[str, str | None]  # criterion key -> Ya / Tidak / None (not answered yet)
    notes: dict[str, str]
    conclusion: str
    saved: SavedBy | None


def evaluation_form(session: Session, *, entry: CatalogEntry,
                    period: PeriodChoice) -> EvaluationForm:
    saved = _latest(session, kind="evaluasi", code=entry.sop.code, period=period)
    content = saved[0] if saved else {}
    answers = content.get("answers", {})
    notes = content.get("notes", {})
    return EvaluationForm(
        sop=entry.sop, period=period,
        answers={key: answers.get(key) for key, _ in CRITERIA},
        notes={key: notes.get(key, "") for key, _ in CRITERIA},
        conclusion=content.get("conclusion", ""), saved=saved[1] if saved else None)


def save_evaluation(session: Session, *, actor: Actor, code: str, period: PeriodChoice,
                    answers: Mapping[str, str | None], notes: Mapping[str, str],
                    conclusion: str, now: datetime) -> None:
    require_evaluator(actor)
    for number, (key, label) in enumerate(CRITERIA, start=1):
        if answers.get(key) not in (YES, NO):
            raise InvalidInput(f"Kriteria {number} ({label}): jawab \"Ya\" atau \"Tidak\".")
    content = {
        "answers": {key: answers[key] for key, _ in CRITERIA},
        "notes": {key: _clean(notes.get(key), f"Catatan kriteria {number}")
                  for number, (key, _) in enumerate(CRITERIA, start=1)},
        "conclusion": _clean(conclusion, "Kesimpulan"),
    }
    _store(session, actor=actor, kind="evaluasi", entry=_entry(session, code), period=period,
           content=content, now=now)
