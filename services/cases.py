"""Cases as people look at them: the header, the visits against their targets, the audit
trail, and what the forms need to show (docs/design.md, "Workflow" and "Roles and pages")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from db.engine import rows_where_in
from db.models import Case, Event, Role, Sop, SopVersion, Step, Unit, User, Visit, VisitUnit
from services.access import require_case_readable
from services.accounts import Actor
from services.catalog.waktu import Target
from services.errors import NotFound
from services.formatting import format_wib
from services.metrics import read_history, resolve_as_of, snapshot
from services.workflow.engine import Recorded

STATUS_LABELS = {"active": "Berjalan", "completed": "Selesai", "cancelled": "Dibatalkan"}
EVENT_LABELS = {
    "start": "Kasus dimulai", "begin": "Mulai dikerjakan", "complete": "Selesai",
    "approve": "Disetujui (Y)", "return": "Dikembalikan (T)", "cancel": "Kasus dibatalkan",
    "correction": "Koreksi",
}
OUTCOME_LABELS = {"complete": "Selesai", "approve": "Disetujui", "return": "Dikembalikan",
                  "closed": "Ditutup (kasus batal)", "": "Berjalan"}


@dataclass(frozen=True)
class CaseHeader:
    id: int
    ref: str
    title: str
    sop_code: str
    sop_name: str
    version: int
    status: str
    period_label: str | None
    unit_name: str | None
    started_at: datetime
    ended_at: datetime | None
    cancel_reason: str | None
    last_event_at: datetime
    steps_total: int
    current_seq: int | None
    current_label: str | None
    current_role: str | None
    progress: float


def progress_of(status: str, current_seq: int | None, steps_total: int) -> float:
    """Distinct steps completed on the current pass / number of steps. SOPs run in sequence,
    so every step before the current one is done on this pass."""
    if status == "completed":
        return 1.0
    if current_seq is None or steps_total == 0:
        return 0.0
    return (current_seq - 1) / steps_total


def case_header(session: Session, *, actor: Actor, case_id: int) -> CaseHeader:
    require_case_readable(session, actor=actor, case_id=case_id)
    row = session.execute(
        select(Case, Sop.code, SopVersion.name, SopVersion.version, Unit.name)
        .join(SopVersion, Case.sop_version_id == SopVersion.id)
        .join(Sop, SopVersion.sop_id == Sop.id)
        .outerjoin(Unit, Case.unit_id == Unit.id)
        .where(Case.id == case_id)).first()
    if row is None:
        raise NotFound("Kasus tidak ditemukan.")
    case, code, name, version, unit = row
    total = session.scalar(select(func.count()).select_from(Step)
                           .where(Step.sop_version_id == case.sop_version_id)) or 0
    current = session.execute(
        select(Visit.seq, Role.name, Step.label).join(Role, Visit.role_id == Role.id)
        .join(Step, Visit.step_id == Step.id)
        .where(Visit.case_id == case_id).order_by(Visit.id.desc()).limit(1)).first()
    current_seq = current[0] if current and case.status != "completed" else None
    return CaseHeader(
        id=case.id, ref=case.ref, title=case.title, sop_code=code, sop_name=name,
        version=version, status=case.status, period_label=case.period_label, unit_name=unit,
        started_at=case.started_at, ended_at=case.ended_at, cancel_reason=case.cancel_reason,
        last_event_at=case.last_event_at, steps_total=total, current_seq=current_seq,
        current_label=current[2] if current_seq is not None and current else None,
        current_role=current[1] if current and case.status == "active" else None,
        progress=progress_of(case.status, current_seq, total),
    )


def case_visits(session: Session, *, actor: Actor, case_id: int,
                as_of: datetime | None = None) -> pd.DataFrame:
    """The visits of one case at as_of (default now) with the metrics' durations, targets and
    states, the step's label and activity, and the instant each target falls due (for a
    timeline)."""
    require_case_readable(session, actor=actor, case_id=case_id)
    as_of = resolve_as_of(session, as_of)
    history = read_history(session, cases_where=Case.id == case_id)
    visits = snapshot(history, as_of=as_of).visits.sort_values("visit_id")
    steps = pd.DataFrame(session.execute(
        select(Step.seq, Step.label, Step.activity).join(Case, Case.sop_version_id ==
                                                         Step.sop_version_id)
        .where(Case.id == case_id)).all(), columns=["seq", "label", "activity"])
    visits = visits.merge(steps, on="seq", how="left")
    calendar = history.calendar
    due = np.full(len(visits), np.nan)
    has_target = visits["has_target"].to_numpy()
    if has_target.any():
        clock = calendar.clock(visits.loc[has_target, "available_ns"].to_numpy())
        due[has_target] = calendar.at_clock(
            clock + visits.loc[has_target, "target"].to_numpy()).as_unit("ns").asi8
    end = np.where(visits["is_open"], pd.Timestamp(as_of).value, visits["ended_ns"])
    return visits.assign(
        available_at=pd.to_datetime(visits["available_ns"], utc=True),
        ended_at=pd.to_datetime(end, utc=True),
        due_at=pd.to_datetime(due, utc=True),
    )


def audit_trail(session: Session, *, actor: Actor, case_id: int) -> pd.DataFrame:
    """Every event of the case, in order: who performed, who recorded, when, notes."""
    require_case_readable(session, actor=actor, case_id=case_id)
    performer, recorder = aliased(User), aliased(User)
    rows = session.execute(
        select(Event.event_no, Event.kind, Event.step_seq, Event.occurred_at, Event.recorded_at,
               Role.name, performer.full_name, recorder.full_name, Unit.name, Event.note,
               Event.details, Event.corrects_event_id)
        .outerjoin(Role, Event.performer_role_id == Role.id)
        .outerjoin(performer, Event.performer_user_id == performer.id)
        .outerjoin(recorder, Event.recorded_by_user_id == recorder.id)
        .outerjoin(Unit, Event.unit_id == Unit.id)
        .where(Event.case_id == case_id).order_by(Event.event_no)).all()
    numbers = dict(session.execute(select(Event.id, Event.event_no)
                                   .where(Event.case_id == case_id)).all())
    labels = dict(session.execute(
        select(Step.seq, Step.label).join(Case, Case.sop_version_id == Step.sop_version_id)
        .where(Case.id == case_id)).all())
    records = []
    for (number, kind, seq, occurred, recorded, role, performer_name, recorder_name, unit,
         note, details, corrects) in rows:
        names = (details or {}).get("names", {})
        what = EVENT_LABELS.get(kind, kind)
        if kind == "correction":
            what = f"Koreksi atas kejadian #{numbers.get(corrects, '?')}"
            changes = []
            if "outcome" in details:
                changes.append(f"keputusan menjadi {EVENT_LABELS[details['outcome']]}")
            if "note" in details:
                changes.append(f"catatan menjadi '{details['note']}'")
            if "occurred_at" in details:
                changes.append("waktu menjadi "
                               f"{format_wib(datetime.fromisoformat(details['occurred_at']))}")
            note = f"{note} ({'; '.join(changes)})" if changes else note
        performed = " · ".join(part for part in (
            role, performer_name or names.get("performer"), unit) if part)
        records.append({
            "No.": number, "Waktu kejadian": occurred, "Kejadian": what,
            "Langkah": labels.get(seq, "–") if seq is not None else "–",
            "Pelaksana": performed or "–",
            "Dicatat oleh": recorder_name or names.get("recorded_by") or "–",
            "Dicatat pada": recorded, "Catatan": note or "",
            "Kelengkapan": ", ".join((details or {}).get("kelengkapan", [])),
            "Output": (details or {}).get("output", ""),
            "Dasar": (details or {}).get("dasar", ""),
        })
    return pd.DataFrame(records, columns=["No.", "Waktu kejadian", "Kejadian", "Langkah",
                                          "Pelaksana", "Dicatat oleh", "Dicatat pada", "Catatan",
                                          "Kelengkapan", "Output", "Dasar"])


def list_cases(session: Session, *, status: str | None = None, sop_code: str | None = None,
               search: str | None = None, limit: int = 200) -> pd.DataFrame:
    query = (select(Case.id, Case.ref, Case.title, Sop.code, SopVersion.name, Case.status,
                    Case.started_at, Case.ended_at)
             .join(SopVersion, Case.sop_version_id == SopVersion.id)
             .join(Sop, SopVersion.sop_id == Sop.id)
             .order_by(Case.started_at.desc()).limit(limit))
    if status:
        query = query.where(Case.status == status)
    if sop_code:
        query = query.where(Sop.code == sop_code)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(Case.title.ilike(pattern) | Case.ref.ilike(pattern))
    return pd.DataFrame(session.execute(query).all(), columns=[
        "id", "ref", "title", "sop_code", "sop_name", "status", "started_at", "ended_at"])


# --- what the forms show ---------------------------------------------------------------------


@dataclass(frozen=True)
class StepForm:
    """The open step of a case, as the record form presents it to this user."""

    case: CaseHeader
    visit_id: int
    seq: int
    label: str
    activity: str
    role: str
    kelengkapan: tuple[str, ...]
    waktu: str
    target: Target
    output: str
    approve_seq: int | None
    approve_label: str | None
    approve_role: str | None
    return_seq: int | None
    return_label: str | None
    return_role: str | None
    next_label: str | None  # the step after this one (None: this is the last)
    multi_unit: bool
    units_outstanding: tuple[tuple[str, str], ...]  # (code, name)
    # The outstanding units this user may submit for: a recorder any (their own first), a
    # Bidang user only their own.
    units_for_user: tuple[tuple[str, str], ...]
    begun_at: datetime | None
    acts_as_self: bool  # the user holds the role
    may_record_for_others: bool
    performers: tuple[tuple[str, str], ...]  # (username, full name) holding the role


def step_form(session: Session, *, actor: Actor, case_id: int) -> StepForm | None:
    """None when the case has no open step (completed or cancelled)."""
    header = case_header(session, actor=actor, case_id=case_id)
    row = session.execute(
        select(Visit, Step, Role.name).join(Step, Visit.step_id == Step.id)
        .join(Role, Visit.role_id == Role.id)
        .where(Visit.case_id == case_id, Visit.ended_at.is_(None))).first()
    if row is None:
        return None
    visit, step, role = row
    steps = {seq: (label, role) for seq, label, role in session.execute(
        select(Step.seq, Step.label, Role.name).join(Role, Step.role_id == Role.id)
        .where(Step.sop_version_id == step.sop_version_id))}
    rows = session.execute(
        select(Unit.id, Unit.code, Unit.name).join(VisitUnit, VisitUnit.unit_id == Unit.id)
        .where(VisitUnit.visit_id == visit.id, VisitUnit.submitted_at.is_(None))
        .order_by(Unit.name)).all()
    outstanding = tuple((code, name) for _, code, name in rows)
    own = tuple((code, name) for unit_id, code, name in rows if unit_id == actor.unit_id)
    for_user = (own + tuple(unit for unit in outstanding if unit not in own)
                if actor.may_record_for_others else own)
    performers = tuple((username, name) for username, name in session.execute(
        select(User.username, User.full_name).join(User.roles)
        .where(Role.name == role, User.is_active.is_(True)).order_by(User.full_name)))
    return StepForm(
        case=header, visit_id=visit.id, seq=step.seq, label=step.label or str(step.seq),
        activity=step.activity,
        role=role,
        kelengkapan=tuple(item.strip() for item in step.kelengkapan.split(",") if item.strip()),
        waktu=step.waktu, target=Target.stored(step.target_kind, step.target_minutes),
        output=step.output, approve_seq=step.approve_seq,
        approve_label=steps[step.approve_seq][0] if step.approve_seq else None,
        approve_role=steps[step.approve_seq][1] if step.approve_seq else None,
        return_seq=step.return_seq,
        return_label=steps[step.return_seq][0] if step.return_seq else None,
        return_role=steps[step.return_seq][1] if step.return_seq else None,
        next_label=steps[step.seq + 1][0] if step.seq + 1 in steps else None,
        multi_unit=step.multi_unit, units_outstanding=outstanding, units_for_user=for_user,
        begun_at=visit.begun_at,
        acts_as_self=actor.holds(role), may_record_for_others=actor.may_record_for_others,
        performers=performers,
    )


@dataclass(frozen=True)
class StartableSop:
    code: str
    name: str
    first_role: str
    scheduled_steps: tuple[tuple[int, str, str], ...]  # (seq, label, activity)


def startable_sops(session: Session, *, actor: Actor) -> list[StartableSop]:
    """SOPs this user may start: those whose first step is theirs, or all for a recorder."""
    from services.catalog.store import current_catalog

    result = []
    for entry in current_catalog(session):
        sop = entry.sop
        first = sop.steps[0].role or ""
        if actor.holds(first) or actor.may_record_for_others:
            result.append(StartableSop(
                code=sop.code, name=sop.name, first_role=first,
                scheduled_steps=tuple((s.seq, sop.label(s.seq), s.activity) for s in sop.steps
                                      if s.target.kind == "schedule")))
    return result


def case_titles(session: Session, *, case_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(reference, title) of each case, for lists built from the metrics frames."""
    return {case_id: (ref, title) for case_id, ref, title in rows_where_in(
        session, select(Case.id, Case.ref, Case.title), Case.id, case_ids)}


def step_labels(session: Session) -> dict[str, dict[int, str]]:
    """Per SOP code, "label. activity" of each step of its current version (for charts)."""
    from services.catalog.store import current_catalog

    return {entry.sop.code: {step.seq: f"{entry.sop.label(step.seq)}. {step.activity}"
                             for step in entry.sop.steps}
            for entry in current_catalog(session)}


DONE = {"begin": "mulai dikerjakan", "complete": "selesai", "approve": "disetujui",
        "return": "dikembalikan", "start": "dimulai", "cancel": "dibatalkan"}


def recorded_message(recorded: Recorded) -> str:
    """The one confirmation after a recording: the step just done and what comes next (the
    units still missing while a multi-unit step waits for them)."""
    when = format_wib(recorded.at)
    if recorded.units_left:
        return (f"Tercatat: {recorded.unit} menyerahkan langkah {recorded.label} pada {when}. "
                f"Langkah ini menunggu {len(recorded.units_left)} unit lagi: "
                f"{', '.join(recorded.units_left)}.")
    done = f"langkah {recorded.label} {DONE[recorded.kind]}" if recorded.label else \
        f"kasus {DONE[recorded.kind]}"
    if recorded.unit:
        done = f"{recorded.unit} menyerahkan langkah {recorded.label}, unit terakhir; langkah " \
               f"{recorded.label} selesai"
    if recorded.status == "completed":
        following = "Kasus selesai."
    elif recorded.status == "cancelled":
        following = "Kasus tidak berjalan lagi."
    else:
        following = f"Berikutnya: langkah {recorded.next_label}, dipegang {recorded.next_role}."
    return f"Tercatat: {done} pada {when}. {following}"
