"""The workflow engine against the database: one action, one transaction.

Every action takes the acting user; the rules (who may start, perform, record on behalf,
submit for a unit, cancel; titles, notes, times) are those of services.workflow.model, and the
engine stores the facts it returns, performer and recorder included.

Concurrency: the case row is locked (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite write
sessions hold the database lock from BEGIN) and the case's `last_event_no` is advanced with a
version check; `event (case_id, event_no)` is unique and at most one visit per case is open.
Of two users acting on the same visit, one commits and the other gets ConcurrentAction or,
having waited for the lock, a refusal that names what the first one did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import affected_rows
from db.models import (
    Case,
    CaseSchedule,
    Event,
    Role,
    Sop,
    SopVersion,
    Step,
    Unit,
    User,
    Visit,
    VisitUnit,
)
from services.accounts import Actor, actor_from_user
from services.clock import utcnow
from services.errors import ConcurrentAction, InvalidInput, NotFound, PermissionDenied
from services.organisation import multi_unit_ids
from services.settings import get_setting
from services.workflow.model import (
    Attribution,
    CaseEnded,
    CaseStarted,
    CaseState,
    DecisionRule,
    EventFact,
    Fact,
    OpenVisit,
    Performer,
    Person,
    SopPlan,
    StepKind,
    StepPlan,
    UnitSubmitted,
    VisitBegun,
    VisitEnded,
    VisitOpened,
    bounded_note,
    check_not_future,
    required_reason,
)

MAX_DETAILS_JSON = 4000


@dataclass(frozen=True)
class Recorded:
    """What an action recorded, and what comes next (for the confirmation message)."""

    case_id: int
    case_ref: str
    event_no: int
    kind: str
    seq: int | None
    label: str | None  # the step's label
    at: datetime
    status: str
    next_seq: int | None
    next_label: str | None
    next_role: str | None
    # A multi-unit step: the unit that submitted, and those still to submit (the step stays
    # open until the last one has).
    unit: str | None = None
    units_left: tuple[str, ...] = ()


# --- loading ---------------------------------------------------------------------------------


def load_plan(session: Session, *, version_id: int) -> SopPlan:
    version = session.get(SopVersion, version_id)
    if version is None:
        raise NotFound("Versi SOP tidak ditemukan.")
    rows = session.execute(
        select(Step, Role.name).join(Role, Step.role_id == Role.id)
        .where(Step.sop_version_id == version_id).order_by(Step.seq)
    ).all()
    steps = tuple(
        StepPlan(step_id=step.id, seq=step.seq, label=step.label or str(step.seq), role=role,
                 role_id=step.role_id, target_kind=step.target_kind,
                 target_minutes=step.target_minutes, approve_seq=step.approve_seq,
                 return_seq=step.return_seq, multi_unit=step.multi_unit)
        for step, role in rows
    )
    code = session.scalar(select(Sop.code).where(Sop.id == version.sop_id)) or ""
    return SopPlan(code=code, name=version.name, version=version.version,
                   version_id=version.id, steps=steps)


def current_version_id(session: Session, *, sop_code: str) -> int:
    version_id = session.scalar(
        select(SopVersion.id).join(Sop).where(Sop.code == sop_code)
        .order_by(SopVersion.version.desc()).limit(1))
    if version_id is None:
        raise NotFound(f"SOP '{sop_code}' tidak ada di katalog.")
    return version_id


def _locked_case(session: Session, case_id: int) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    return case


def _state(session: Session, case: Case, plan: SopPlan) -> CaseState:
    visit = session.scalar(select(Visit).where(Visit.case_id == case.id,
                                               Visit.ended_at.is_(None)))
    open_visit = None
    if visit is not None:
        pending = set(session.scalars(select(VisitUnit.unit_id).where(
            VisitUnit.visit_id == visit.id, VisitUnit.submitted_at.is_(None))))
        open_visit = OpenVisit(ref=visit.id, step=plan.step(visit.seq),
                               available_at=visit.available_at, begun_at=visit.begun_at,
                               units_pending=pending)
    passes = {seq: count for seq, count in session.execute(
        select(Visit.seq, func.count()).where(Visit.case_id == case.id).group_by(Visit.seq))}
    schedule = {seq: due for seq, due in session.execute(
        select(CaseSchedule.step_seq, CaseSchedule.due_at).where(CaseSchedule.case_id == case.id))}
    return CaseState(plan=plan, status=case.status, last_event_no=case.last_event_no,
                     last_event_at=case.last_event_at, open_visit=open_visit, passes=passes,
                     schedule=schedule, multi_unit_ids=multi_unit_ids(session),
                     started_by_user_id=case.created_by_user_id)


# --- people -----------------------------------------------------------------------------------


def person_of(actor: Actor) -> Person:
    return Person(name=actor.username, user_id=actor.user_id, roles=actor.roles,
                  may_record=actor.may_record_for_others, unit_id=actor.unit_id,
                  is_admin=actor.is_admin)


def _named(session: Session, username: str) -> Person:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise InvalidInput(f"Pengguna '{username}' tidak ada atau tidak aktif.")
    return person_of(actor_from_user(user))


def _role_id_of(session: Session, actor: Actor, preferred: StepPlan | None = None) -> int | None:
    """The role a start or a cancellation is recorded under: the first step's when the actor
    holds it, otherwise the first of the actor's roles."""
    if preferred is not None and actor.holds(preferred.role):
        return preferred.role_id
    if not actor.roles:
        return None
    return session.scalar(select(Role.id).where(Role.name == sorted(actor.roles)[0]))


# --- actions --------------------------------------------------------------------------------


def start_case(
    session: Session, *, actor: Actor, sop_code: str, title: str, at: datetime,
    period_label: str | None = None, schedule: Mapping[int, datetime] | None = None,
    unit_code: str | None = None, note: str | None = None, now: datetime | None = None,
) -> Recorded:
    now = now or utcnow()
    plan = load_plan(session, version_id=current_version_id(session, sop_code=sop_code))
    unit_id = actor.unit_id  # the case belongs to the starter's unit unless another is chosen
    if unit_code is not None:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        if unit_id is None:
            raise InvalidInput(f"Unit '{unit_code}' tidak ada.")
    state, facts = CaseState.start(plan=plan, at=at, now=now, title=title,
                                   starter=person_of(actor), period_label=period_label,
                                   schedule=schedule, multi_unit_ids=multi_unit_ids(session),
                                   note=note)
    started = next(fact for fact in facts if isinstance(fact, CaseStarted))
    case = _insert_case(session, code=plan.code, at=at, values=dict(
        sop_version_id=plan.version_id, unit_id=unit_id, title=started.title,
        period_label=started.period_label, status="active", started_at=at,
        created_by_user_id=actor.user_id, last_event_no=0, last_event_at=at))
    for seq, due_at in started.schedule.items():
        session.add(CaseSchedule(case_id=case.id, step_seq=seq, due_at=due_at))
    return _store(session, case=case, state=state, facts=facts, now=now,
                  role_id=_role_id_of(session, actor, plan.step(1)), expected_event_no=0,
                  details=None)


REF_ATTEMPTS = 5


def _insert_case(session: Session, *, code: str, at: datetime, values: dict[str, Any]) -> Case:
    """Insert a case under the next free reference. Two users starting cases of one SOP at
    once compute the same next number (on PostgreSQL; SQLite writers queue); the unique
    reference refuses the second insert, which then takes the following number."""
    for _ in range(REF_ATTEMPTS):
        case = Case(ref=_new_ref(session, code, at), **values)
        try:
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError:
            continue
        return case
    raise ConcurrentAction("Banyak kasus sedang dimulai bersamaan; coba lagi sebentar lagi.")


def _new_ref(session: Session, code: str, at: datetime) -> str:
    prefix = f"{code}-{at.year}-"
    taken = session.scalars(select(Case.ref).where(Case.ref.like(f"{prefix}%"))).all()
    numbers = [int(ref[len(prefix):]) for ref in taken if ref[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def record_step(
    session: Session, *, actor: Actor, case_id: int, kind: StepKind, seq: int, at: datetime,
    visit_id: int | None = None, performer: Performer | str = Performer.RECORDER,
    unit_code: str | None = None, note: str | None = None,
    details: dict[str, Any] | None = None, now: datetime | None = None,
    decision_source: str | None = None,
) -> Recorded:
    """Begin, complete, approve or return step `seq` of a case, performed by `performer`: the
    actor (Performer.RECORDER), a user named by username, or an unknown person of the step's
    role (Performer.UNKNOWN); recording for someone else needs the recorder permission, and
    a decision recorded for someone else names them and `decision_source` (a Nota Dinas or
    disposition number), unless the admin forbade it (model.decision_source).

    `visit_id`, when given, is the visit the user was looking at: if someone else has acted
    on it meanwhile, the action is refused instead of landing on the next visit.
    """
    now = now or utcnow()
    case = _locked_case(session, case_id)
    plan = load_plan(session, version_id=case.sop_version_id)
    state = _state(session, case, plan)
    if visit_id is not None and (state.open_visit is None or state.open_visit.ref != visit_id):
        raise ConcurrentAction("Langkah ini baru saja dicatat oleh pengguna lain. Muat ulang "
                               "untuk melihat keadaan kasus terbaru.")
    unit_id = None
    if unit_code is not None:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
        if unit_id is None:
            raise InvalidInput(f"Unit '{unit_code}' tidak ada.")
    facts = state.apply(
        kind=kind, seq=seq, at=at, now=now, recorder=person_of(actor),
        performer=_named(session, performer) if isinstance(performer, str) else performer,
        unit_id=unit_id, note=note,
        decision=DecisionRule(allowed=bool(get_setting(session, "decisions_on_behalf")),
                              source=decision_source))
    return _store(session, case=case, state=state, facts=facts, now=now,
                  role_id=plan.step(seq).role_id, expected_event_no=case.last_event_no,
                  details=_checked_details(details))


def cancel_case(session: Session, *, actor: Actor, case_id: int, at: datetime, reason: str,
                now: datetime | None = None) -> Recorded:
    now = now or utcnow()
    case = _locked_case(session, case_id)
    plan = load_plan(session, version_id=case.sop_version_id)
    state = _state(session, case, plan)
    facts = state.cancel(at=at, now=now, reason=reason, by=person_of(actor))
    return _store(session, case=case, state=state, facts=facts, now=now,
                  role_id=_role_id_of(session, actor), expected_event_no=case.last_event_no,
                  details=None)


MAX_OUTPUT = 200


def _checked_details(details: dict[str, Any] | None) -> dict[str, Any] | None:
    if not details:
        return None
    bounded_note(details.get("output"), limit=MAX_OUTPUT, what="Output")
    if len(json.dumps(details, ensure_ascii=False)) > MAX_DETAILS_JSON:
        raise InvalidInput("Kelengkapan dan Output terlalu panjang untuk dicatat.")
    return details


# --- storing facts --------------------------------------------------------------------------


def _store(session: Session, *, case: Case, state: CaseState, facts: list[Fact], now: datetime,
           role_id: int | None, expected_event_no: int,
           details: dict[str, Any] | None) -> Recorded:
    try:
        return _write(session, case=case, state=state, facts=facts, now=now, role_id=role_id,
                      expected_event_no=expected_event_no, details=details)
    except IntegrityError as error:
        raise ConcurrentAction("Kasus ini baru saja diubah oleh pengguna lain; tindakan Anda "
                               "tidak dicatat. Muat ulang lalu coba lagi.") from error


def _with_source(details: dict[str, Any] | None, fact: EventFact) -> dict[str, Any] | None:
    """The event's details, with what a decision recorded for someone else rests on."""
    if fact.source is None:
        return details
    return {**(details or {}), "dasar": fact.source}


def _user_id(person: Person | None) -> int | None:
    return person.user_id if person is not None else None


def _write(session: Session, *, case: Case, state: CaseState, facts: list[Fact], now: datetime,
           role_id: int | None, expected_event_no: int,
           details: dict[str, Any] | None) -> Recorded:
    # The version check: only the writer that saw the case's current event number advances it.
    ended = next((f for f in facts if isinstance(f, CaseEnded)), None)
    values: dict[str, Any] = {"last_event_no": state.last_event_no,
                              "last_event_at": state.last_event_at}
    if ended is not None:
        values.update(status=ended.status, ended_at=ended.at, cancel_reason=ended.reason)
    moved = affected_rows(session,
        update(Case).where(Case.id == case.id, Case.last_event_no == expected_event_no)
        .values(**values).execution_options(synchronize_session=False))
    if moved != 1:
        raise ConcurrentAction("Kasus ini baru saja diubah oleh pengguna lain; tindakan Anda "
                               "tidak dicatat. Muat ulang lalu coba lagi.")
    # Facts come in the order they happened: the current visit ends before the next opens.
    visit_ids: dict[int, int] = {}  # provisional (negative) ref -> database id
    event_ids: dict[int, int] = {}  # event_no -> database id
    last: EventFact | None = None
    for fact in facts:
        if isinstance(fact, EventFact):
            last = fact
            event_ids[fact.event_no] = session.execute(insert(Event).values(
                case_id=case.id, event_no=fact.event_no, kind=fact.kind, step_seq=fact.seq,
                visit_id=None if fact.visit_ref is None else visit_ids.get(fact.visit_ref,
                                                                            fact.visit_ref),
                unit_id=fact.unit_id,
                occurred_at=fact.at, recorded_at=now, performer_role_id=role_id,
                performer_user_id=_user_id(fact.performer),
                recorded_by_user_id=_user_id(fact.recorder), note=fact.note,
                details=_with_source(details, fact) if fact.kind != "start" else None,
            ).returning(Event.id)).scalar_one()
        elif isinstance(fact, VisitOpened):
            visit_ids[fact.ref] = session.execute(insert(Visit).values(
                case_id=case.id, step_id=fact.step.step_id, seq=fact.step.seq,
                pass_no=fact.pass_no, available_at=fact.available_at,
                target_minutes=fact.target_minutes, due_at=fact.due_at,
                role_id=fact.step.role_id, unit_id=case.unit_id,
            ).returning(Visit.id)).scalar_one()
            if fact.unit_ids:
                session.execute(insert(VisitUnit), [
                    {"visit_id": visit_ids[fact.ref], "unit_id": unit_id}
                    for unit_id in fact.unit_ids])
        elif isinstance(fact, VisitBegun):
            _update_open_visit(session, fact.ref, begun_at=fact.at)
        elif isinstance(fact, UnitSubmitted):
            session.execute(update(VisitUnit).where(
                VisitUnit.visit_id == fact.ref, VisitUnit.unit_id == fact.unit_id,
                VisitUnit.submitted_at.is_(None),
            ).values(submitted_at=fact.at, submitted_event_id=event_ids[fact.event_no]))
        elif isinstance(fact, VisitEnded):
            _update_open_visit(session, fact.ref, ended_at=fact.at, outcome=fact.outcome,
                               performer_user_id=_user_id(fact.performer),
                               recorded_by_user_id=_user_id(fact.recorder))
    session.flush()
    assert last is not None
    return _recorded(session, case=case, state=state, event=last)


def _recorded(session: Session, *, case: Case, state: CaseState, event: EventFact) -> Recorded:
    following = state.open_visit
    unit_names: dict[int, str] = {unit_id: name for unit_id, name in
                                  session.execute(select(Unit.id, Unit.name))}
    left: tuple[str, ...] = ()
    if following is not None and event.unit_id is not None and following.step.seq == event.seq:
        left = tuple(sorted(unit_names[unit] for unit in following.units_pending))
    return Recorded(
        case_id=case.id, case_ref=case.ref, event_no=event.event_no, kind=event.kind,
        seq=event.seq, label=state.plan.step(event.seq).label if event.seq else None,
        at=event.at, status=state.status,
        next_seq=following.step.seq if following else None,
        next_label=following.step.label if following else None,
        next_role=following.step.role if following else None,
        unit=unit_names[event.unit_id] if event.unit_id is not None else None,
        units_left=left)


def _update_open_visit(session: Session, visit_id: int, **values: Any) -> None:
    changed = affected_rows(session,
        update(Visit).where(Visit.id == visit_id, Visit.ended_at.is_(None)).values(**values)
        .execution_options(synchronize_session=False))
    if changed != 1:
        raise ConcurrentAction("Langkah ini baru saja dicatat oleh pengguna lain; tindakan Anda "
                               "tidak dicatat.")


# --- corrections ----------------------------------------------------------------------------


def correct_event(
    session: Session, *, actor: Actor, case_id: int, event_no: int, reason: str,
    note: str | None = None, occurred_at: datetime | None = None,
    outcome: Literal["approve", "return"] | None = None, now: datetime | None = None,
) -> Recorded:
    """Correct a recorded event by a new `correction` event that references it.

    The original stays as it was (events are append-only). A note may be corrected on any
    event; the time, and the outcome of a decision (Setujui <-> Kembalikan), only on the
    case's latest event (a later event would otherwise follow from what changed). The
    visits, the case and so every figure follow the correction; the exported log carries the
    corrected event.
    """
    now = now or utcnow()
    original = session.scalar(select(Event).where(Event.case_id == case_id,
                                                  Event.event_no == event_no))
    if original is None or original.kind == "correction":
        raise NotFound("Kejadian yang akan dikoreksi tidak ditemukan.")
    case = _locked_case(session, original.case_id)
    if not (actor.is_admin or (actor.user_id is not None
                               and actor.user_id == original.recorded_by_user_id)):
        raise PermissionDenied("Koreksi hanya oleh admin atau oleh yang mencatat kejadian itu.")
    reason = required_reason(reason, "Alasan koreksi")
    if note is None and occurred_at is None and outcome is None:
        raise InvalidInput("Tidak ada yang dikoreksi: isi catatan baru, waktu baru, atau "
                           "keputusan yang benar.")
    details: dict[str, Any] = {"reason": reason}
    if note is not None:
        details["note"] = bounded_note(note) or ""
    if occurred_at is not None:
        _move_latest_event(session, case=case, original=original, at=occurred_at, now=now)
        details["occurred_at"] = occurred_at.isoformat()
    if outcome is not None:
        # A decision turned into a return needs its reason: the new note, or the correction's.
        if outcome == "return" and not details.get("note"):
            details["note"] = reason
        _redecide(session, case=case, original=original, outcome=outcome,
                  note=details.get("note"))
        details["outcome"] = outcome
    expected = case.last_event_no
    moved = affected_rows(session,
        update(Case).where(Case.id == case.id, Case.last_event_no == expected)
        .values(last_event_no=expected + 1).execution_options(synchronize_session=False))
    if moved != 1:
        raise ConcurrentAction("Kasus ini baru saja diubah oleh pengguna lain; koreksi tidak "
                               "dicatat. Muat ulang lalu coba lagi.")
    try:
        session.execute(insert(Event).values(
            case_id=case.id, event_no=expected + 1, kind="correction",
            step_seq=original.step_seq, visit_id=original.visit_id, occurred_at=now,
            recorded_at=now, performer_user_id=actor.user_id, recorded_by_user_id=actor.user_id,
            note=reason, details=details, corrects_event_id=original.id))
        session.flush()
    except IntegrityError as error:
        raise ConcurrentAction("Kasus ini baru saja diubah oleh pengguna lain; koreksi tidak "
                               "dicatat.") from error
    session.refresh(case)
    return Recorded(case_id=case.id, case_ref=case.ref, event_no=expected + 1,
                    kind="correction", seq=original.step_seq, label=None, at=now,
                    status=case.status, next_seq=None, next_label=None, next_role=None)


def _effective(session: Session, event: Event, key: str) -> Any:
    """The latest corrected value of `key` for an event (None when never corrected)."""
    for details in session.scalars(
            select(Event.details).where(Event.corrects_event_id == event.id)
            .order_by(Event.event_no.desc())):
        if details and key in details:
            return details[key]
    return None


def _redecide(session: Session, *, case: Case, original: Event,
              outcome: Literal["approve", "return"], note: str | None) -> None:
    """Take the case's latest decision the other way: its visit ends with the other outcome,
    and the visit it had opened (still untouched) gives way to the one the outcome leads to."""
    latest = session.scalar(select(func.max(Event.event_no)).where(
        Event.case_id == case.id, Event.kind != "correction"))
    current = _effective(session, original, "outcome") or original.kind
    if current not in ("approve", "return"):
        raise InvalidInput("Hanya keputusan (Setujui atau Kembalikan) yang dapat diubah hasilnya.")
    if latest != original.event_no:
        raise InvalidInput("Keputusan hanya dapat diubah bila belum ada kejadian sesudahnya pada "
                           "kasus ini.")
    if current == outcome:
        raise InvalidInput("Keputusan itu sudah tercatat demikian; tidak ada yang diubah.")
    decision = session.get(Visit, original.visit_id)
    opened = session.scalar(select(Visit).where(Visit.case_id == case.id,
                                                Visit.ended_at.is_(None)))
    assert decision is not None and decision.ended_at is not None
    assert opened is not None and opened.id > decision.id
    plan = load_plan(session, version_id=case.sop_version_id)
    passes = {seq: count for seq, count in session.execute(
        select(Visit.seq, func.count()).where(Visit.case_id == case.id, Visit.id != opened.id)
        .group_by(Visit.seq))}
    schedule = {seq: due for seq, due in session.execute(
        select(CaseSchedule.step_seq, CaseSchedule.due_at).where(CaseSchedule.case_id == case.id))}
    state = CaseState(plan=plan, status="active", last_event_no=case.last_event_no,
                      last_event_at=case.last_event_at,
                      open_visit=OpenVisit(ref=decision.id, step=plan.step(decision.seq),
                                           available_at=decision.available_at,
                                           begun_at=decision.begun_at),
                      passes=passes, schedule=schedule, multi_unit_ids=multi_unit_ids(session))
    performer = session.get(User, decision.performer_user_id) if decision.performer_user_id \
        else None
    recorder = session.get(User, decision.recorded_by_user_id) \
        if decision.recorded_by_user_id else None
    facts = state.redecide(kind=outcome, at=decision.ended_at, note=note, by=Attribution(
        performer=person_of(actor_from_user(performer)) if performer else None,
        recorder=person_of(actor_from_user(recorder)) if recorder else None))
    session.execute(delete(VisitUnit).where(VisitUnit.visit_id == opened.id))
    session.execute(delete(Visit).where(Visit.id == opened.id))
    for fact in facts:
        if isinstance(fact, VisitEnded):
            session.execute(update(Visit).where(Visit.id == decision.id)
                            .values(outcome=fact.outcome)
                            .execution_options(synchronize_session=False))
        elif isinstance(fact, VisitOpened):
            visit_id = session.execute(insert(Visit).values(
                case_id=case.id, step_id=fact.step.step_id, seq=fact.step.seq,
                pass_no=fact.pass_no, available_at=fact.available_at,
                target_minutes=fact.target_minutes, due_at=fact.due_at,
                role_id=fact.step.role_id, unit_id=case.unit_id,
            ).returning(Visit.id)).scalar_one()
            if fact.unit_ids:
                session.execute(insert(VisitUnit), [{"visit_id": visit_id, "unit_id": unit_id}
                                                    for unit_id in fact.unit_ids])


def _effective_time(session: Session, event: Event) -> datetime:
    corrected = _effective(session, event, "occurred_at")
    return datetime.fromisoformat(corrected) if corrected else event.occurred_at


def _move_latest_event(session: Session, *, case: Case, original: Event, at: datetime,
                       now: datetime) -> None:
    later = session.scalar(select(func.max(Event.event_no)).where(
        Event.case_id == case.id, Event.kind != "correction"))
    if later != original.event_no:
        raise InvalidInput("Waktu hanya dapat dikoreksi pada kejadian terakhir kasus ini; untuk "
                           "kejadian yang lebih awal, koreksi catatannya.")
    check_not_future(at, now)
    previous = session.scalar(select(Event).where(
        Event.case_id == case.id, Event.kind != "correction",
        Event.event_no < original.event_no).order_by(Event.event_no.desc()).limit(1))
    if previous is not None and at < _effective_time(session, previous):
        raise InvalidInput("Waktu baru lebih awal dari kejadian sebelumnya pada kasus ini.")
    old = _effective_time(session, original)
    visit_values: dict[str, Any] = {}
    if original.kind == "begin":
        visit_values = {"begun_at": at}
    elif original.kind in ("complete", "approve", "return"):
        visit = session.get(Visit, original.visit_id)
        if visit is not None and visit.ended_at == old:
            visit_values = {"ended_at": at}
        if original.unit_id is not None:
            session.execute(update(VisitUnit).where(
                VisitUnit.visit_id == original.visit_id, VisitUnit.unit_id == original.unit_id,
            ).values(submitted_at=at))
    if visit_values:
        session.execute(update(Visit).where(Visit.id == original.visit_id).values(**visit_values)
                        .execution_options(synchronize_session=False))
    # The visit this event opened (created after the one it ended) moves with it.
    if original.kind in ("start", "complete", "approve", "return"):
        session.execute(update(Visit).where(
            Visit.case_id == case.id, Visit.available_at == old,
            Visit.id > (original.visit_id or 0),
        ).values(available_at=at).execution_options(synchronize_session=False))
    if original.kind == "cancel":
        session.execute(update(Visit).where(Visit.case_id == case.id, Visit.ended_at == old,
                                            Visit.outcome == "closed")
                        .values(ended_at=at).execution_options(synchronize_session=False))
    case_values: dict[str, Any] = {"last_event_at": at}
    if original.kind == "start":
        case_values["started_at"] = at
    if case.ended_at == old:
        case_values["ended_at"] = at
    session.execute(update(Case).where(Case.id == case.id).values(**case_values)
                    .execution_options(synchronize_session=False))
