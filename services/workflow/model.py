"""The state machine of one case (DESIGN section 5), free of the database.

`CaseState.apply` checks an action against the case as it stands and returns the facts it
produces (an event, visits opened or ended, the case ended). The engine and the bulk replay
both feed these facts to storage, so the rules live here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from services.errors import InvalidInput, InvalidTime, InvalidTransition
from services.formatting import format_wib

StepKind = Literal["begin", "complete", "approve", "return"]
EventKind = Literal["start", "begin", "complete", "approve", "return", "cancel"]
Outcome = Literal["complete", "approve", "return", "closed"]

# Recording from paper is normal, but a time ahead of the server's clock is a typo; a little
# slack absorbs clocks that disagree by a minute or two.
FUTURE_TOLERANCE = timedelta(minutes=2)
MAX_NOTE = 2000
MIN_REASON = 3


@dataclass(frozen=True)
class StepPlan:
    step_id: int
    seq: int
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


# --- facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFact:
    event_no: int
    kind: EventKind
    seq: int | None
    at: datetime
    visit_ref: int | None
    unit_id: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class VisitOpened:
    ref: int
    step: StepPlan
    pass_no: int
    available_at: datetime
    target_minutes: int | None
    due_at: datetime | None
    unit_ids: tuple[int, ...]


@dataclass(frozen=True)
class VisitBegun:
    ref: int
    at: datetime


@dataclass(frozen=True)
class UnitSubmitted:
    ref: int
    unit_id: int
    at: datetime
    event_no: int


@dataclass(frozen=True)
class VisitEnded:
    ref: int
    at: datetime
    outcome: Outcome


@dataclass(frozen=True)
class CaseEnded:
    status: Literal["completed", "cancelled"]
    at: datetime
    reason: str | None = None


Fact = EventFact | VisitOpened | VisitBegun | UnitSubmitted | VisitEnded | CaseEnded


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
    # Refs for visits opened here, before storage gives them ids: -1, -2, ...
    _next_ref: int = -1

    @classmethod
    def start(
        cls, *, plan: SopPlan, at: datetime, now: datetime, schedule: Mapping[int, datetime],
        multi_unit_ids: Sequence[int] = (), note: str | None = None,
    ) -> tuple[CaseState, list[Fact]]:
        check_not_future(at, now)
        for seq in schedule:
            if plan.step(seq).target_kind != "schedule":
                raise InvalidInput(f"Langkah {seq} tidak dijadwalkan (Waktu-nya bukan "
                                   "'Sesuai jadwal'); tanggalnya tidak dapat diisi.")
        state = cls(plan=plan, status="active", last_event_no=0, last_event_at=at,
                    open_visit=None, passes={}, schedule=dict(schedule),
                    multi_unit_ids=tuple(multi_unit_ids))
        facts: list[Fact] = [state._event("start", None, at, None, note=bounded_note(note))]
        facts += state._open(plan.step(1), at)
        return state, facts

    # --- actions ----------------------------------------------------------------------

    def apply(
        self, *, kind: StepKind, seq: int, at: datetime, now: datetime,
        unit_id: int | None = None, note: str | None = None,
    ) -> list[Fact]:
        """Begin, complete, approve or return the open visit of step `seq`."""
        if kind not in ("begin", "complete", "approve", "return"):
            raise InvalidInput(f"Jenis kejadian '{kind}' tidak dikenal.")
        visit = self._acting_on(seq, at, now)
        step = visit.step
        note = bounded_note(note)
        if kind == "begin":
            if visit.begun_at is not None:
                raise InvalidTransition(
                    f"Langkah {seq} sudah ditandai mulai pada {format_wib(visit.begun_at)}.")
            visit.begun_at = at
            return [self._event("begin", seq, at, visit.ref, note=note), VisitBegun(visit.ref, at)]
        if kind == "complete":
            if step.is_decision:
                raise InvalidTransition(f"Langkah {seq} adalah langkah keputusan: catat "
                                        "'setujui' atau 'kembalikan', bukan 'selesai'.")
            if step.multi_unit:
                return self._submit(visit, at, unit_id, note)
            return [self._event("complete", seq, at, visit.ref, note=note),
                    *self._end(visit, at, "complete", next_seq=seq + 1)]
        if not step.is_decision:
            raise InvalidTransition(f"Langkah {seq} bukan langkah keputusan: catat 'selesai'.")
        if kind == "approve":
            assert step.approve_seq is not None
            return [self._event("approve", seq, at, visit.ref, note=note),
                    *self._end(visit, at, "approve", next_seq=step.approve_seq)]
        reason = required_reason(note, "Alasan pengembalian")
        assert step.return_seq is not None
        return [self._event("return", seq, at, visit.ref, note=reason),
                *self._end(visit, at, "return", next_seq=step.return_seq)]

    def cancel(self, *, at: datetime, now: datetime, reason: str | None) -> list[Fact]:
        self._check_active()
        self._check_time(at, now)
        reason = required_reason(reason, "Alasan pembatalan")
        facts: list[Fact] = [self._event("cancel", None, at, None, note=reason)]
        if self.open_visit is not None:
            facts.append(VisitEnded(self.open_visit.ref, at, "closed"))
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
                f"Langkah {seq} tidak sedang berjalan; langkah yang berjalan adalah langkah "
                f"{visit.step.seq} ({visit.step.role}).")
        return visit

    def _event(self, kind: EventKind, seq: int | None, at: datetime, visit_ref: int | None,
               *, unit_id: int | None = None, note: str | None = None) -> EventFact:
        self.last_event_no += 1
        self.last_event_at = at
        return EventFact(self.last_event_no, kind, seq, at, visit_ref, unit_id, note)

    def _submit(self, visit: OpenVisit, at: datetime, unit_id: int | None,
                note: str | None) -> list[Fact]:
        if unit_id is None:
            raise InvalidInput(f"Langkah {visit.step.seq} diserahkan per unit: pilih unitnya.")
        if unit_id not in visit.units_pending:
            raise InvalidTransition("Unit ini sudah menyerahkan, atau tidak termasuk unit "
                                    f"yang wajib menyerahkan pada langkah {visit.step.seq}.")
        event = self._event("complete", visit.step.seq, at, visit.ref, unit_id=unit_id, note=note)
        visit.units_pending.discard(unit_id)
        facts: list[Fact] = [event, UnitSubmitted(visit.ref, unit_id, at, event.event_no)]
        if not visit.units_pending:
            facts += self._end(visit, at, "complete", next_seq=visit.step.seq + 1)
        return facts

    def _end(self, visit: OpenVisit, at: datetime, outcome: Outcome, *, next_seq: int) -> list[Fact]:
        facts: list[Fact] = [VisitEnded(visit.ref, at, outcome)]
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
            raise InvalidTransition(f"Langkah {step.seq} diserahkan oleh setiap unit, tetapi "
                                    "belum ada unit Bidang yang aktif.")
        self.open_visit = OpenVisit(ref, step, at, units_pending=set(units))
        return [VisitOpened(
            ref=ref, step=step, pass_no=pass_no, available_at=at,
            target_minutes=step.target_minutes if step.target_kind == "minutes" else None,
            due_at=self.schedule.get(step.seq) if step.target_kind == "schedule" else None,
            unit_ids=tuple(units),
        )]

    def assign_refs(self, ids: Mapping[int, int]) -> None:
        """After storage: the open visit's provisional ref becomes its database id."""
        if self.open_visit is not None and self.open_visit.ref in ids:
            self.open_visit.ref = ids[self.open_visit.ref]


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
    if len(note) > limit:
        raise InvalidInput(f"{what} terlalu panjang: {len(note)} karakter, maksimal {limit}.")
    return note or None


def required_reason(reason: str | None, what: str) -> str:
    text = bounded_note(reason, what=what)
    if text is None or len(text) < MIN_REASON:
        raise InvalidInput(f"{what} wajib diisi.")
    return text
