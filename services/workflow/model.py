"""The state machine of one case and every rule of recording (docs/design.md, "Workflow"),
free of the database.

`CaseState.start` and `CaseState.apply` check an action against the case as it stands (title,
period, note and reason lengths, times, the step, who performed it and who recorded it, the
unit that submits) and return the facts it produces: the case started, an event, visits opened
or ended, the case ended. The live engine and the import (replay) both store exactly these
facts, so the rules live here once and a log the forms would refuse is refused on import too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal, TypeVar, dataclass_transform, get_args

from services.errors import InvalidInput, InvalidTime, InvalidTransition, PermissionDenied
from services.formatting import format_wib

StepKind = Literal["begin", "complete", "approve", "return"]
STEP_KINDS: tuple[StepKind, ...] = get_args(StepKind)
EventKind = Literal["start", "begin", "complete", "approve", "return", "cancel"]
Outcome = Literal["complete", "approve", "return", "closed"]

# Recording from paper is normal, but a time ahead of the server's clock is a typo; a little
# slack absorbs clocks that disagree by a minute or two.
FUTURE_TOLERANCE = timedelta(minutes=2)
MAX_NOTE = 2000
MIN_REASON = 3
MIN_TITLE, MAX_TITLE = 3, 200
MAX_PERIOD_LABEL = 40
CANCELLING_ROLES = frozenset({"Kadis", "Sekretaris"})


_Value = TypeVar("_Value")


@dataclass_transform(frozen_default=True)
def value_object(cls: type[_Value]) -> type[_Value]:
    """A dataclass the type checker holds immutable (assigning to a field is an error in
    `make lint`), built at runtime without `frozen=True`. A frozen dataclass sets each field
    through `object.__setattr__`, six times slower than a plain slot: for the values made
    once or more per event (the log's rows, the facts) that was 7 s of a 1M-event import's
    44 s. Not hashable (nothing hashes them); compared field by field, as before."""
    made: Any = dataclass(slots=True)(cls)
    return made


@dataclass(frozen=True)
class StepPlan:
    step_id: int
    seq: int
    label: str  # unique within the SOP (catalog.definition.step_labels)
    role: str
    role_id: int
    target_kind: str
    target_minutes: int | None
    approve_seq: int | None
    return_seq: int | None
    multi_unit: bool

    @property
    def is_decision(self) -> bool:
        return self.approve_seq is not None


@dataclass(frozen=True)
class SopPlan:
    """What the engine needs of one SOP version."""

    code: str
    name: str
    version: int
    version_id: int
    steps: tuple[StepPlan, ...]

    def step(self, seq: int) -> StepPlan:
        if not 1 <= seq <= len(self.steps):
            raise InvalidInput(f"SOP {self.name} tidak punya langkah {seq}.")
        return self.steps[seq - 1]


# --- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Someone named in a recording. `user_id` is None for a name the database has no
    account for (history imported before the agency's people had accounts)."""

    name: str
    user_id: int | None
    roles: frozenset[str] = frozenset()
    may_record: bool = False  # may record on behalf of another role (Fungsional, admin)
    unit_id: int | None = None
    is_admin: bool = False


class Performer(Enum):
    """Who performed a step, when no person is named."""

    RECORDER = "recorder"  # the one recording it did it
    UNKNOWN = "unknown"  # recorded on behalf of the role (Buku Agenda, Nota Dinas); who is not known


@dataclass(frozen=True)
class DecisionRule:
    """For a live recording of a decision: whether the agency allows recording it for
    someone else (`decisions_on_behalf`), and the document the recorder names."""

    allowed: bool
    source: str | None


@value_object
class Attribution:
    performer: Person | None
    recorder: Person | None


def attribute(step: StepPlan, *, recorder: Person | None,
              performer: Person | Performer) -> Attribution:
    """Who performed the step and who recorded it, after the checks every recording passes:
    a named performer with an account holds the step's role; whoever records for someone
    else (or for an unknown performer) may record on behalf of others. `recorder` is None
    only for imported history that names no recorder."""
    if performer is Performer.RECORDER:
        if recorder is None or step.role not in recorder.roles:
            who = recorder.name if recorder is not None else "Pencatat"
            hint = ("; pilih pelaksananya, atau '(pelaksana tidak diketahui)'"
                    if recorder is not None and recorder.may_record
                    else ", dan tidak berwenang mencatat atas nama peran lain")
            raise PermissionDenied(f"Langkah {step.label} dilaksanakan oleh {step.role}. "
                                   f"{who} tidak memegang peran itu{hint}.")
        return Attribution(performer=recorder, recorder=recorder)
    if isinstance(performer, Person):
        if performer.user_id is not None and step.role not in performer.roles:
            raise InvalidInput(f"'{performer.name}' tidak memegang peran {step.role}.")
        if recorder is None or recorder is performer or recorder == performer:
            return Attribution(performer=performer, recorder=recorder)
    # A recorder without an account (imported history) has no permissions to check.
    if recorder is not None and recorder.user_id is not None and not recorder.may_record:
        raise PermissionDenied(f"'{recorder.name}' tidak berwenang mencatat atas nama orang "
                               f"lain (langkah {step.label} dilaksanakan oleh {step.role}).")
    return Attribution(performer=performer if isinstance(performer, Person) else None,
                       recorder=recorder)


MAX_DECISION_SOURCE = 200


def decision_source(step: StepPlan, by: Attribution, *, source: str | None,
                    allowed: bool) -> str | None:
    """What a decision recorded for someone else rests on. Approving or returning is the
    decision of the role's holder: whoever records it for them names who decided and the
    document it came from (a Nota Dinas or disposition number), and an agency may forbid it
    altogether (the admin setting `decisions_on_behalf`). A decision recorded by its own
    decider needs neither."""
    recorder = by.recorder
    # The system (the command line) and imported history have no account to hold to it.
    if recorder is None or recorder.user_id is None or by.performer == recorder:
        return None
    if not allowed:
        raise PermissionDenied(f"Keputusan langkah {step.label} dicatat sendiri oleh {step.role}: "
                               "instansi tidak mengizinkan mencatat keputusan atas nama orang "
                               "lain.")
    if by.performer is None:
        raise InvalidInput(f"Keputusan langkah {step.label} dicatat atas nama {step.role}: pilih "
                           "siapa yang memutuskan.")
    text = (source or "").strip()
    if not 3 <= len(text) <= MAX_DECISION_SOURCE:
        raise InvalidInput(f"Keputusan langkah {step.label} dicatat atas nama "
                           f"{by.performer.name}: sebutkan dasarnya, nomor Nota Dinas atau "
                           f"disposisi (3-{MAX_DECISION_SOURCE} karakter).")
    return text


def check_may_start(plan: SopPlan, starter: Person | None) -> None:
    """A case is started by the first step's role or by a recorder."""
    first = plan.step(1)
    # A name without an account (imported history) has no permissions to check.
    if starter is not None and starter.user_id is not None and not (
            first.role in starter.roles or starter.may_record):
        raise PermissionDenied(f"Kasus {plan.name} dimulai oleh {first.role} atau pencatat; "
                               f"'{starter.name}' tidak berwenang memulainya.")


def submitting_unit(step: StepPlan, *, unit_id: int | None,
                    attribution: Attribution) -> int | None:
    """The unit a completion of a multi-unit step is for: the one named, or the performer's.
    Someone recording their own submission submits for their own unit only."""
    if not step.multi_unit:
        return None
    performer, recorder = attribution.performer, attribution.recorder
    if unit_id is None:
        unit_id = performer.unit_id if performer is not None else None
        if unit_id is None:
            raise InvalidInput(f"Langkah {step.label} diserahkan per unit: pilih unitnya.")
    if (performer is not None and performer == recorder and not recorder.may_record
            and performer.unit_id is not None and unit_id != performer.unit_id):
        raise PermissionDenied("Anda hanya dapat menyerahkan untuk unit Anda sendiri; "
                               "penyerahan unit lain dicatat oleh pencatat.")
    return unit_id


# --- what the forms check ---------------------------------------------------------------------


# Tab and line ends are ordinary typing; the other C0 controls and DEL come only from pasting or
# a script, cannot be written into a workbook (the XML of XLSX forbids them) or stored by
# PostgreSQL (NUL), and would show as nothing on screen.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters(text: str, *, what: str) -> None:
    found = _CONTROL_CHARACTERS.search(text)
    if found is not None:
        raise InvalidInput(f"{what} berisi karakter kendali tak terlihat (kode {ord(found.group())}), "
                           "biasanya terbawa saat menempel teks; ketik ulang bagian itu.")


MAX_NAME = 120


def checked_name(name: str, *, what: str) -> str:
    """A name an admin types: a person, a unit, a holiday."""
    text = name.strip()
    if not 1 <= len(text) <= MAX_NAME:
        raise InvalidInput(f"{what} wajib diisi (maksimal {MAX_NAME} karakter).")
    refuse_control_characters(text, what=what)
    return text


def checked_title(title: str | None) -> str:
    text = (title or "").strip()
    refuse_control_characters(text, what="Judul kasus")
    if not MIN_TITLE <= len(text) <= MAX_TITLE:
        raise InvalidInput(f"Judul kasus wajib diisi, {MIN_TITLE} sampai {MAX_TITLE} karakter "
                           f"(tertulis {len(text)}).")
    return text


def checked_period_label(text: str | None) -> str | None:
    return bounded_note(text, limit=MAX_PERIOD_LABEL, what="Periode")


# --- facts ----------------------------------------------------------------------------------


@value_object
class EventFact:
    event_no: int
    kind: EventKind
    seq: int | None
    at: datetime
    visit_ref: int | None
    unit_id: int | None = None
    note: str | None = None
    performer: Person | None = None
    recorder: Person | None = None
    source: str | None = None  # what a decision recorded for someone else rests on


@value_object
class VisitOpened:
    ref: int
    step: StepPlan
    pass_no: int
    available_at: datetime
    target_minutes: int | None
    due_at: datetime | None
    unit_ids: tuple[int, ...]


@value_object
class VisitBegun:
    ref: int
    at: datetime


@value_object
class UnitSubmitted:
    ref: int
    unit_id: int
    at: datetime
    event_no: int


@value_object
class VisitEnded:
    ref: int
    at: datetime
    outcome: Outcome
    performer: Person | None = None
    recorder: Person | None = None


@value_object
class CaseStarted:
    at: datetime
    title: str
    period_label: str | None
    schedule: Mapping[int, datetime]
    starter: Person | None


@value_object
class CaseEnded:
    status: Literal["completed", "cancelled"]
    at: datetime
    reason: str | None = None


Fact = (CaseStarted | EventFact | VisitOpened | VisitBegun | UnitSubmitted | VisitEnded
        | CaseEnded)


# --- state ----------------------------------------------------------------------------------


@dataclass
class OpenVisit:
    ref: int
    step: StepPlan
    available_at: datetime
    begun_at: datetime | None = None
    units_pending: set[int] = field(default_factory=set)


@dataclass
class CaseState:
    plan: SopPlan
    status: str
    last_event_no: int
    last_event_at: datetime
    open_visit: OpenVisit | None
    passes: dict[int, int]
    schedule: Mapping[int, datetime]
    # Units that submit a multi-unit step (every active Bidang when the visit opens).
    multi_unit_ids: tuple[int, ...] = ()
    started_by_user_id: int | None = None
    # Refs for visits opened here, before storage gives them ids: -1, -2, ...
    _next_ref: int = -1
    # Who performs and records the action being applied (set by start, apply and cancel).
    _by: Attribution = field(default_factory=lambda: Attribution(performer=None, recorder=None))

    @classmethod
    def start(
        cls, *, plan: SopPlan, at: datetime, now: datetime, title: str | None,
        starter: Person | None, period_label: str | None = None,
        schedule: Mapping[int, datetime] | None = None, multi_unit_ids: Sequence[int] = (),
        note: str | None = None,
    ) -> tuple[CaseState, list[Fact]]:
        check_may_start(plan, starter)
        title = checked_title(title)
        period_label = checked_period_label(period_label)
        check_not_future(at, now)
        schedule = dict(schedule or {})
        for seq in schedule:
            if plan.step(seq).target_kind != "schedule":
                raise InvalidInput(f"Langkah {plan.step(seq).label} tidak dijadwalkan (Waktu-nya "
                                   "bukan 'Sesuai jadwal'); tanggalnya tidak dapat diisi.")
        state = cls(plan=plan, status="active", last_event_no=0, last_event_at=at,
                    open_visit=None, passes={}, schedule=schedule,
                    multi_unit_ids=tuple(multi_unit_ids))
        state.started_by_user_id = starter.user_id if starter is not None else None
        state._by = Attribution(performer=starter, recorder=starter)
        facts: list[Fact] = [CaseStarted(at=at, title=title, period_label=period_label,
                                         schedule=schedule, starter=starter),
                             state._event("start", None, at, None, note=bounded_note(note))]
        facts += state._open(plan.step(1), at)
        return state, facts

    # --- actions ----------------------------------------------------------------------

    def apply(
        self, *, kind: StepKind, seq: int, at: datetime, now: datetime,
        recorder: Person | None, performer: Person | Performer = Performer.RECORDER,
        unit_id: int | None = None, note: str | None = None,
        decision: DecisionRule | None = None,
    ) -> list[Fact]:
        """Begin, complete, approve or return the open visit of step `seq`, performed by
        `performer` and recorded by `recorder` (see `attribute`). A live recording passes the
        `decision` rule (see `decision_source`); replayed history is not held to it."""
        if kind not in ("begin", "complete", "approve", "return"):
            raise InvalidInput(f"Jenis kejadian '{kind}' tidak dikenal.")
        visit = self._acting_on(seq, at, now)
        step = visit.step
        self._by = attribute(step, recorder=recorder, performer=performer)
        if kind == "complete":
            unit_id = submitting_unit(step, unit_id=unit_id, attribution=self._by)
        note = bounded_note(note, what="Alasan pengembalian" if kind == "return" else "Catatan")
        if kind == "begin":
            if visit.begun_at is not None:
                raise InvalidTransition(
                    f"Langkah {step.label} sudah ditandai mulai pada "
                    f"{format_wib(visit.begun_at)}.")
            visit.begun_at = at
            return [self._event("begin", seq, at, visit.ref, note=note), VisitBegun(visit.ref, at)]
        if kind == "complete":
            if step.is_decision:
                raise InvalidTransition(f"Langkah {step.label} adalah langkah keputusan: catat "
                                        "'setujui' atau 'kembalikan', bukan 'selesai'.")
            if step.multi_unit:
                return self._submit(visit, at, unit_id, note)
            return [self._event("complete", seq, at, visit.ref, note=note),
                    *self._end(visit, at, "complete", next_seq=seq + 1)]
        if not step.is_decision:
            raise InvalidTransition(f"Langkah {step.label} bukan langkah keputusan: catat "
                                    "'selesai'.")
        source = None if decision is None else decision_source(
            step, self._by, source=decision.source, allowed=decision.allowed)
        if kind == "approve":
            assert step.approve_seq is not None
            return [self._event("approve", seq, at, visit.ref, note=note, source=source),
                    *self._end(visit, at, "approve", next_seq=step.approve_seq)]
        reason = required_reason(note, "Alasan pengembalian")
        assert step.return_seq is not None
        return [self._event("return", seq, at, visit.ref, note=reason, source=source),
                *self._end(visit, at, "return", next_seq=step.return_seq)]

    def redecide(self, *, kind: Literal["approve", "return"], at: datetime, note: str | None,
                 by: Attribution) -> list[Fact]:
        """The latest decision taken the other way (a correction): this state is the case as
        it stood before that decision, its open visit the decision's; the decision visit ends
        with the other outcome and the visit that outcome leads to opens."""
        visit = self.open_visit
        assert visit is not None, "the decision's visit, as it stood before the decision"
        step = visit.step
        if not step.is_decision:
            raise InvalidTransition(f"Langkah {step.label} bukan langkah keputusan.")
        self._by = by
        if kind == "approve":
            assert step.approve_seq is not None
            return self._end(visit, at, "approve", next_seq=step.approve_seq)
        required_reason(note, "Alasan pengembalian")
        assert step.return_seq is not None
        return self._end(visit, at, "return", next_seq=step.return_seq)

    def cancel(self, *, at: datetime, now: datetime, reason: str | None,
               by: Person | None) -> list[Fact]:
        """Cancel the case: by the Kadis, the Sekretaris, an admin or whoever started it
        (`by` is None only for imported history that names no one)."""
        if by is not None and by.user_id is not None and not (
                by.is_admin or by.roles & CANCELLING_ROLES or by.user_id == self.started_by_user_id):
            raise PermissionDenied("Kasus hanya dapat dibatalkan oleh Kadis, Sekretaris, admin, "
                                   "atau yang memulainya.")
        self._check_active()
        self._check_time(at, now)
        reason = required_reason(reason, "Alasan pembatalan")
        self._by = Attribution(performer=by, recorder=by)
        facts: list[Fact] = [self._event("cancel", None, at, None, note=reason)]
        if self.open_visit is not None:
            facts.append(VisitEnded(self.open_visit.ref, at, "closed", by, by))
            self.open_visit = None
        self.status = "cancelled"
        facts.append(CaseEnded("cancelled", at, reason))
        return facts

    # --- helpers ----------------------------------------------------------------------

    def _check_active(self) -> None:
        if self.status != "active":
            done = "sudah selesai" if self.status == "completed" else "sudah dibatalkan"
            raise InvalidTransition(f"Kasus ini {done}; tidak ada lagi yang dapat dicatat.")

    def _check_time(self, at: datetime, now: datetime) -> None:
        check_not_future(at, now)
        if at < self.last_event_at:
            raise InvalidTime(
                f"Waktu {format_wib(at)} lebih awal dari kejadian sebelumnya pada kasus ini "
                f"({format_wib(self.last_event_at)}).")

    def _acting_on(self, seq: int, at: datetime, now: datetime) -> OpenVisit:
        self._check_active()
        self._check_time(at, now)
        visit = self.open_visit
        assert visit is not None, "an active case always has an open visit"
        if visit.step.seq != seq:
            raise InvalidTransition(
                f"Langkah {self.plan.step(seq).label} tidak sedang berjalan; langkah yang "
                f"berjalan adalah langkah {visit.step.label} ({visit.step.role}).")
        return visit

    def _event(self, kind: EventKind, seq: int | None, at: datetime, visit_ref: int | None,
               *, unit_id: int | None = None, note: str | None = None,
               source: str | None = None) -> EventFact:
        self.last_event_no += 1
        self.last_event_at = at
        return EventFact(self.last_event_no, kind, seq, at, visit_ref, unit_id, note,
                         self._by.performer, self._by.recorder, source)

    def _submit(self, visit: OpenVisit, at: datetime, unit_id: int | None,
                note: str | None) -> list[Fact]:
        if unit_id is None:
            raise InvalidInput(f"Langkah {visit.step.label} diserahkan per unit: pilih unitnya.")
        if unit_id not in visit.units_pending:
            raise InvalidTransition("Unit ini sudah menyerahkan, atau tidak termasuk unit "
                                    f"yang wajib menyerahkan pada langkah {visit.step.label}.")
        event = self._event("complete", visit.step.seq, at, visit.ref, unit_id=unit_id, note=note)
        visit.units_pending.discard(unit_id)
        facts: list[Fact] = [event, UnitSubmitted(visit.ref, unit_id, at, event.event_no)]
        if not visit.units_pending:
            facts += self._end(visit, at, "complete", next_seq=visit.step.seq + 1)
        return facts

    def _end(self, visit: OpenVisit, at: datetime, outcome: Outcome, *, next_seq: int) -> list[Fact]:
        facts: list[Fact] = [VisitEnded(visit.ref, at, outcome, self._by.performer,
                                        self._by.recorder)]
        self.open_visit = None
        if next_seq > len(self.plan.steps):
            self.status = "completed"
            facts.append(CaseEnded("completed", at))
        else:
            facts += self._open(self.plan.step(next_seq), at)
        return facts

    def _open(self, step: StepPlan, at: datetime) -> list[Fact]:
        ref = self._next_ref
        self._next_ref -= 1
        pass_no = self.passes.get(step.seq, 0) + 1
        self.passes[step.seq] = pass_no
        units = self.multi_unit_ids if step.multi_unit else ()
        if step.multi_unit and not units:
            raise InvalidTransition(f"Langkah {step.label} diserahkan oleh setiap unit, tetapi "
                                    "belum ada unit Bidang yang aktif.")
        self.open_visit = OpenVisit(ref, step, at, units_pending=set(units))
        return [VisitOpened(
            ref=ref, step=step, pass_no=pass_no, available_at=at,
            target_minutes=step.target_minutes if step.target_kind == "minutes" else None,
            due_at=self.schedule.get(step.seq) if step.target_kind == "schedule" else None,
            unit_ids=tuple(units),
        )]



def check_not_future(at: datetime, now: datetime) -> None:
    if at.tzinfo is None:
        raise InvalidInput("Waktu kejadian harus menyebut zona waktunya.")
    if at > now + FUTURE_TOLERANCE:
        raise InvalidTime(f"Waktu {format_wib(at)} ada di masa depan; waktu kejadian boleh "
                          "di masa lalu, tetapi tidak di masa depan.")


def bounded_note(note: str | None, *, limit: int = MAX_NOTE, what: str = "Catatan") -> str | None:
    if note is None:
        return None
    note = note.strip()
    refuse_control_characters(note, what=what)
    if len(note) > limit:
        raise InvalidInput(f"{what} terlalu panjang: {len(note)} karakter, maksimal {limit}.")
    return note or None


def required_reason(reason: str | None, what: str) -> str:
    text = bounded_note(reason, what=what)
    if text is None or len(text) < MIN_REASON:
        raise InvalidInput(f"{what} wajib diisi.")
    return text
