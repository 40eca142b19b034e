"""Replaying a whole event log through the workflow rules, stored in bulk.

Used by the CSV import and the demo data. Every event goes through the same `CaseState` as an
action in the app, with the same attribution checks (the performer holds the step's role; the
recorder is the performer or may record for others). Finished cases are written in batches of
bulk inserts as the log streams by, all inside the caller's transaction: a bad line anywhere
raises, the transaction rolls back, and the database is as it was. Memory stays bounded by the
cases still running, not by the size of the log.
"""

from __future__ import annotations

import contextlib
import gc
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.bulk_references import (
    WrittenRows,
    check_references,
    resume_reference_triggers,
    suspend_reference_triggers,
)
from db.engine import analyze_grown_tables, driver_connection, rows_where_in
from db.models import (
    Base,
    Case,
    CaseSchedule,
    Event,
    Role,
    Sop,
    SopVersion,
    Unit,
    User,
    Visit,
    VisitUnit,
)
from db.types import UTCDateTime, naive_utc
from services.accounts import Actor, actor_from_user, require_admin
from services.errors import InvalidInput, ServiceError
from services.organisation import create_unit, multi_unit_ids
from services.workflow.engine import load_plan, person_of
from services.workflow.model import (
    STEP_KINDS,
    CaseStarted,
    CaseState,
    EventFact,
    Fact,
    Performer,
    Person,
    SopPlan,
    StepKind,
    UnitSubmitted,
    VisitBegun,
    VisitEnded,
    VisitOpened,
    value_object,
)

EVENT_KINDS = ("start", *STEP_KINDS, "cancel")
# A row's kind as the rules' own literal, by one look-up per row.
_STEP_KIND: dict[str, StepKind] = {kind: kind for kind in STEP_KINDS}


@value_object
class LogEvent:
    """One row of an event log (docs/metrics.md, "Event logs"), already parsed."""

    line: int
    case_ref: str
    sop_code: str
    sop_version: int | None
    seq: int | None
    kind: str
    at: datetime
    performer_role: str | None = None
    unit: str | None = None
    performer: str | None = None
    recorded_by: str | None = None
    note: str | None = None
    # On "start" only: the case's title, period and schedule (see services.eventlog).
    title: str | None = None
    period_label: str | None = None
    schedule: dict[int, datetime] = field(default_factory=dict)


class LogRejected(ServiceError):
    """A log that cannot be imported; nothing was written."""

    def __init__(self, line: int, reason: str) -> None:
        self.line, self.reason = line, reason
        super().__init__(f"Baris {line}: {reason}")


@dataclass(frozen=True)
class ReplayResult:
    cases: int
    events: int


# The names an event gives people who have no account here: (performer, recorder).
NamesKey = tuple[str | None, str | None]


# The columns of the event and visit rows, in the order `_collect` builds them: as lists, not
# as dicts that `_table_values` took apart again into lists for the database. With the rows'
# copy in `_converted`, the replay's thread, which the import waits for, does a tenth less
# work (docs/metrics.md, seventeenth machine). `_batch` fills the id, case and visit columns.
_EVENT_COLUMNS = ("id", "case_id", "visit_id", "recorded_at", "event_no", "kind", "step_seq",
                  "unit_id", "occurred_at", "performer_role_id", "performer_user_id",
                  "recorded_by_user_id", "note", "details")
_VISIT_COLUMNS = ("id", "case_id", "step_id", "seq", "pass_no", "available_at", "begun_at",
                  "ended_at", "outcome", "target_minutes", "due_at", "role_id", "unit_id",
                  "performer_user_id", "recorded_by_user_id")
_E_ID, _E_CASE, _E_VISIT, _E_RECORDED_AT, _E_NO, _E_KIND, _E_NOTE = map(_EVENT_COLUMNS.index, (
    "id", "case_id", "visit_id", "recorded_at", "event_no", "kind", "note"))
_V_ID, _V_CASE, _V_BEGUN_AT, _V_ENDED_AT, _V_OUTCOME, _V_PERFORMER, _V_RECORDER = map(
    _VISIT_COLUMNS.index, ("id", "case_id", "begun_at", "ended_at", "outcome",
                           "performer_user_id", "recorded_by_user_id"))


@dataclass
class _CaseBuild:
    ref: str
    plan: SopPlan
    state: CaseState
    title: str
    period_label: str | None
    started_at: datetime
    unit_id: int | None
    created_by: int | None
    schedule: dict[int, datetime]
    first_line: int
    events: list[list[Any]] = field(default_factory=list)  # _EVENT_COLUMNS
    event_visit_refs: list[int | None] = field(default_factory=list)  # beside `events`
    visits: dict[int, list[Any]] = field(default_factory=dict)  # ref -> row (_VISIT_COLUMNS)
    visit_units: list[dict[str, Any]] = field(default_factory=list)


class _Lookups:
    def __init__(self, session: Session, *, session_lock: threading.Lock) -> None:
        self.session, self._session_lock = session, session_lock
        self.roles = {name: id_ for id_, name in session.execute(select(Role.id, Role.name))}
        self.units: dict[str, int] = {}
        for id_, code, name in session.execute(select(Unit.id, Unit.code, Unit.name)):
            self.units[code] = id_
            self.units[name] = id_
        # The accounts by username; a name with no account joins them as a bare Person the
        # first time the log names it, so each name is one Person however often it recurs.
        self.people: dict[str, Person] = {user.username: person_of(actor_from_user(user))
                                          for user in session.scalars(select(User))}
        self.multi_unit_ids = multi_unit_ids(session)
        self.unknown_names: dict[NamesKey, dict[str, Any]] = {}
        self._plans: dict[tuple[str, int | None], SopPlan] = {}

    def plan(self, code: str, version: int | None) -> SopPlan:
        key = (code, version)
        if key not in self._plans:
            with self._session_lock:  # the writer's thread may be storing a batch
                self._plans[key] = self._load_plan(code, version)
        return self._plans[key]

    def read_plans(self, keys: Iterable[tuple[str, int | None]]) -> None:
        """The plans of these (code, version) pairs, read now; one the catalog lacks is left
        for the replay to refuse at the row naming it."""
        for code, version in sorted(keys, key=lambda key: (key[0], key[1] or 0)):
            try:
                self.plan(code, version)
            except InvalidInput:
                continue

    def _load_plan(self, code: str, version: int | None) -> SopPlan:
        query = select(SopVersion.id).join(Sop).where(Sop.code == code)
        query = (query.where(SopVersion.version == version) if version is not None
                 else query.order_by(SopVersion.version.desc()).limit(1))
        version_id = self.session.scalar(query)
        if version_id is None:
            which = f"versi {version} " if version is not None else ""
            raise InvalidInput(f"SOP '{code}' {which}tidak ada di katalog.")
        return load_plan(self.session, version_id=version_id)

    def person(self, name: str | None) -> Person | None:
        """The account of that name, or the bare name when the database has none."""
        if not name:
            return None
        person = self.people.get(name)
        if person is None:
            person = self.people[name] = Person(name=name, user_id=None)
        return person

    def unit(self, name: str | None) -> int | None:
        if not name:
            return None
        if name not in self.units:
            raise InvalidInput(f"Unit '{name}' tidak dikenal.")
        return self.units[name]


FLUSH_EVENTS = 50_000


class _CyclicGcPause:
    """Python's cycle collector paused while a replay runs. A replay keeps hundreds of
    thousands of small rows alive until their batch is written, and every burst of allocations
    made the collector walk all of them again, for nothing: the rows hold no reference cycles
    (200,000 events 27.7 -> 23.0 s, a million 147 -> 134 s, on the 2-core bench machine). The
    pause is process-wide, so it is counted: in the app two imports may overlap, and only the
    last to end switches the collector back on, and only if it was on before the first began;
    meanwhile the app's other sessions leave their cycles for the collector to find after."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


cyclic_gc_paused = _CyclicGcPause()


def replay(session: Session, *, events: Iterable[LogEvent], actor: Actor, now: datetime,
           named_units: Mapping[str, int] | None = None,
           named_sops: Iterable[tuple[str, int | None]] = (),
           progress: Callable[[int], None] | None = None) -> ReplayResult:
    """Check and store every event; raise LogRejected on the first bad line (the caller's
    transaction then rolls back everything stored so far). `named_units` are the units the
    log names, each with the first line naming it (they must exist before the first
    multi-unit step opens); `named_sops` the (code, version) pairs it names, whose plans are
    read first, so that reading on never waits for a batch being stored."""
    require_admin(actor)
    with cyclic_gc_paused():
        return _replay(session, events=events, actor=actor, now=now,
                       named_units=named_units or {}, named_sops=named_sops,
                       progress=progress)


class _BatchWriter:
    """Stores the batches of finished cases on a thread of its own while the replay reads on.
    The databases do most of a write (constraints, indexes, pages) without holding Python's
    lock, so on a second core the rules of the next batch run meanwhile. One batch at a time,
    in the log's order: `submit` first waits for the batch before it and raises its error.
    The session is used by one thread at a time (`session_lock`).

    A batch's rows are converted to the databases' values on the replay's thread (`_batch`),
    and only their ids and the statements are left to this one: its Python work (the
    conversion) held Python's lock while the replay waited for it, 3.5 s of a 1M-event
    import on SQLite. Converted before it is handed over, the replay waits 0.1 s in all, and
    the import took 21.1-21.2 s against 23.1-24.0 s (twelfth-class machine, interleaved)."""

    def __init__(self, session: Session, now: datetime, *, checks_references: bool) -> None:
        self.session, self.now = session, now
        self.dialect = session.get_bind().dialect
        self.checks_references = checks_references
        self.found_references: dict[str, set[Any]] = {}  # db.bulk_references
        self.session_lock = threading.Lock()
        self.stored_cases = 0
        self.written: dict[str, int] = {}  # rows by table
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pantau-replay")
        self._pending: Future[int] | None = None

    def submit(self, builds: list[_CaseBuild]) -> None:
        batch = _batch(builds, self.now, self.dialect)
        self.wait()
        self._pending = self._thread.submit(self._flush, batch)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.stored_cases += pending.result()

    def close(self) -> None:
        """Wait for the last batch (never leave the thread using a session that the caller is
        about to roll back), then end the thread."""
        try:
            if self._pending is not None:
                self._pending.exception()
        finally:
            self._thread.shutdown(wait=True)

    def _flush(self, batch: _Batch) -> int:
        with self.session_lock:
            ids = _flush(self.session, batch)
            if self.checks_references:
                # Each batch's rows as they are written, on this thread: the server checks
                # them while the replay reads on, where one check of the whole load at its
                # end kept the replay waiting (2.25 s of a 1M-event import).
                check_references(self.session, _written_rows(ids),
                                 found_before=self.found_references)
        for values in batch.tables:
            name = values.table.__tablename__
            self.written[name] = self.written.get(name, 0) + len(values.rows)
        return len(batch.refs)


def _written_rows(ids: Mapping[type[Base], Sequence[int]]) -> dict[Table, WrittenRows]:
    """Where a batch's rows lie, table by table (db.bulk_references), from the ids it was
    given."""
    return {cast(Table, table.__table__): WrittenRows(key, min(ids[source]), max(ids[source]))
            for table, (key, source) in _ROWS_BY_RESERVED_IDS.items() if ids.get(source)}


# The tables a batch writes, each with the column that places its rows among the ids the
# import reserved: the row's own id, or its case's or visit's.
_ROWS_BY_RESERVED_IDS: dict[type[Base], tuple[str, type[Base]]] = {
    Case: ("id", Case), CaseSchedule: ("case_id", Case), Visit: ("id", Visit),
    Event: ("id", Event), VisitUnit: ("visit_id", Visit)}


def _replay(session: Session, *, events: Iterable[LogEvent], actor: Actor, now: datetime,
            named_units: Mapping[str, int], named_sops: Iterable[tuple[str, int | None]],
            progress: Callable[[int], None] | None) -> ReplayResult:
    _create_named_units(session, named_units, actor=actor, now=now)
    checked_in_bulk = suspend_reference_triggers(session)
    writer = _BatchWriter(session, now, checks_references=checked_in_bulk)
    try:
        try:
            lookups = _Lookups(session, session_lock=writer.session_lock)
            lookups.read_plans(named_sops)
            count = _replay_into(writer, events=events, now=now, progress=progress,
                                 lookups=lookups)
        except BaseException:
            # The batch being stored comes from earlier lines: its error is the one a replay
            # storing each batch before reading on would have raised, so it is raised first.
            writer.wait()
            raise
        finally:
            writer.close()
    except BaseException:
        if checked_in_bulk:
            _resume_reference_triggers(session)
        raise
    if checked_in_bulk:
        resume_reference_triggers(session)
    analyze_grown_tables(session, writer.written)
    return ReplayResult(cases=writer.stored_cases, events=count)


def _resume_reference_triggers(session: Session) -> None:
    """After a failed replay, should its caller go on in the transaction instead of
    rolling it back as it must; an aborted transaction refuses this, and its rollback
    resets the setting anyway."""
    with contextlib.suppress(DBAPIError):
        resume_reference_triggers(session)


def _replay_into(writer: _BatchWriter, *, events: Iterable[LogEvent], now: datetime,
                 lookups: _Lookups, progress: Callable[[int], None] | None) -> int:
    """Every event through the rules, the finished cases handed to `writer` in batches;
    returns the number of events."""
    cases: dict[str, _CaseBuild] = {}
    finished: dict[str, str] = {}  # ref -> status, for the cases already written
    ready: list[_CaseBuild] = []
    count = ready_events = 0
    for event in events:
        try:
            if event.case_ref in finished:
                done = "sudah selesai" if finished[event.case_ref] == "completed" else \
                    "sudah dibatalkan"
                raise InvalidInput(f"kasus '{event.case_ref}' {done} pada baris sebelumnya; "
                                   "tidak ada lagi yang dapat dicatat.")
            _apply(event, cases, lookups, now)
        except ServiceError as error:
            if isinstance(error, LogRejected):
                raise
            raise LogRejected(event.line, str(error)) from None
        count += 1
        build = cases[event.case_ref]
        if build.state.status != "active":
            ready.append(cases.pop(event.case_ref))
            finished[event.case_ref] = build.state.status
            # A running count: summing the ready cases' events after every finished case
            # was quadratic in the cases per batch (about a tenth of a 1M-event import).
            ready_events += len(build.events)
            if ready_events >= FLUSH_EVENTS:
                writer.submit(ready)
                ready, ready_events = [], 0
        if progress is not None and count % 10_000 == 0:
            progress(count)
    writer.submit([*ready, *cases.values()])
    writer.wait()
    return count


def _flush(session: Session, batch: _Batch) -> dict[type[Base], Sequence[int]]:
    existing = _existing_refs(session, batch.refs)
    if existing:
        line = batch.first_lines[batch.refs.index(existing[0])]
        raise LogRejected(line, f"kasus '{existing[0]}' sudah ada di basis data.")
    return _store(session, batch)


def _create_named_units(session: Session, named: Mapping[str, int], *, actor: Actor,
                        now: datetime) -> None:
    """Units a log names that the database lacks become Bidang units before the replay (the
    units of a multi-unit step are every active Bidang when it opens). A unit is matched by
    its whole name (at most 120 characters, the column's length, checked by create_unit);
    the code is only derived from it, so two names alike in their first 40 characters (the
    code's length) are two units, and the second code gets a number."""
    known = {value for row in session.execute(select(Unit.code, Unit.name)) for value in row}
    codes = set(session.scalars(select(Unit.code)))
    for name in sorted(set(named) - known - {""}):
        code = _free_code(name, codes)
        try:
            create_unit(session, actor=actor, code=code, name=name, kind="bidang", now=now)
        except ServiceError as error:
            shown = name if len(name) <= 60 else f"{name[:60]}…"
            raise LogRejected(named[name], f"unit '{shown}' tidak dapat dibuat: {error}") from None
        codes.add(code)


def _free_code(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40].strip("-") or "unit"
    code, number = base, 1
    while code in taken:
        number += 1
        suffix = f"-{number}"
        code = base[:40 - len(suffix)].rstrip("-") + suffix
    return code


def _existing_refs(session: Session, refs: list[str]) -> list[str]:
    return sorted(ref for ref, in rows_where_in(session, select(Case.ref), Case.ref, refs))


def _role_id(role: str | None, lookups: _Lookups) -> int | None:
    if role is None:
        return None
    if role not in lookups.roles:
        raise InvalidInput(f"peran '{role}' tidak dikenal.")
    return lookups.roles[role]


def _apply(event: LogEvent, cases: dict[str, _CaseBuild], lookups: _Lookups, now: datetime) -> None:
    """One row through the rules of services.workflow.model, as the live engine applies them."""
    performer, recorder = lookups.person(event.performer), lookups.person(event.recorded_by)
    if event.kind == "start":
        if event.case_ref in cases:
            raise InvalidInput(f"kasus '{event.case_ref}' sudah dimulai di baris sebelumnya.")
        plan = lookups.plan(event.sop_code, event.sop_version)
        role_id = _role_id(event.performer_role, lookups)
        starter = recorder or performer
        state, facts = CaseState.start(
            plan=plan, at=event.at, now=now, title=event.title, starter=starter,
            period_label=event.period_label, schedule=event.schedule,
            multi_unit_ids=lookups.multi_unit_ids, note=event.note)
        started = next(fact for fact in facts if isinstance(fact, CaseStarted))
        build = _CaseBuild(ref=event.case_ref, plan=plan, state=state, title=started.title,
                           period_label=started.period_label, started_at=event.at,
                           # the case belongs to the starter's unit, as in the start form
                           unit_id=starter.unit_id if starter is not None else None,
                           created_by=starter.user_id if starter is not None else None,
                           schedule=dict(started.schedule), first_line=event.line)
        cases[event.case_ref] = build
        _collect(build, facts, event, role_id, lookups)
        return
    if event.case_ref not in cases:
        raise InvalidInput(f"kasus '{event.case_ref}' belum dimulai: baris 'start'-nya harus "
                           "ada sebelum kejadian lain.")
    build = cases[event.case_ref]
    if event.sop_code != build.plan.code:
        raise InvalidInput(f"kasus '{event.case_ref}' memakai SOP '{build.plan.code}', bukan "
                           f"'{event.sop_code}'.")
    if event.kind == "cancel":
        role_id = _role_id(event.performer_role, lookups)
        facts = build.state.cancel(at=event.at, now=now, reason=event.note,
                                   by=recorder or performer)
        _collect(build, facts, event, role_id, lookups)
        return
    kind = _STEP_KIND.get(event.kind)
    if kind is None:
        raise InvalidInput(f"jenis kejadian '{event.kind}' tidak dikenal.")
    if event.seq is None:
        raise InvalidInput("kolom step wajib diisi untuk kejadian langkah.")
    step = build.plan.step(event.seq)
    if event.performer_role and event.performer_role != step.role:
        raise InvalidInput(f"langkah {step.label} dilaksanakan oleh {step.role}, bukan "
                           f"{event.performer_role}.")
    facts = build.state.apply(
        kind=kind, seq=event.seq, at=event.at, now=now,
        recorder=recorder, performer=performer or Performer.UNKNOWN,
        unit_id=lookups.unit(event.unit), note=event.note)
    _collect(build, facts, event, step.role_id, lookups)


def _user_id(person: Person | None) -> int | None:
    return person.user_id if person is not None else None


def _bare_name(person: Person | None) -> str | None:
    return person.name if person is not None and person.user_id is None else None


def _unknown_names(fact: EventFact, shared: dict[NamesKey, dict[str, Any]]) -> dict[str, Any] | None:
    """Names the database has no account for, kept as the log wrote them (history imported
    into a new database names people who have no account yet). One value per pair of names,
    `shared` by the events naming it, so the value is turned into JSON once (`_converter`)."""
    performer, recorder = fact.performer, fact.recorder
    if ((performer is None or performer.user_id is not None)
            and (recorder is None or recorder.user_id is not None)):
        return None  # both have accounts (or are not named): the common case, checked first
    key = (_bare_name(performer), _bare_name(recorder))
    if key not in shared:
        shared[key] = {"names": {column: name for column, name
                                 in zip(("performer", "recorded_by"), key, strict=True)
                                 if name is not None}}
    return shared[key]


def _collect(build: _CaseBuild, facts: list[Fact], event: LogEvent, role_id: int | None,
             lookups: _Lookups) -> None:
    """Turn facts into rows (kept in memory until the case is written)."""
    for fact in facts:
        if isinstance(fact, EventFact):
            build.events.append([
                None, None, None, None, fact.event_no, fact.kind, fact.seq, fact.unit_id,
                fact.at, role_id, _user_id(fact.performer), _user_id(fact.recorder), fact.note,
                _unknown_names(fact, lookups.unknown_names)])
            build.event_visit_refs.append(fact.visit_ref)
        elif isinstance(fact, VisitOpened):
            build.visits[fact.ref] = [
                None, None, fact.step.step_id, fact.step.seq, fact.pass_no, fact.available_at,
                None, None, None, fact.target_minutes, fact.due_at, fact.step.role_id,
                build.unit_id, None, None]
            build.visit_units += [{"_visit_ref": fact.ref, "unit_id": unit_id,
                                   "submitted_at": None, "_event_no": None}
                                  for unit_id in fact.unit_ids]
        elif isinstance(fact, VisitEnded):
            visit = build.visits[fact.ref]
            visit[_V_ENDED_AT], visit[_V_OUTCOME] = fact.at, fact.outcome
            visit[_V_PERFORMER] = _user_id(fact.performer)
            visit[_V_RECORDER] = _user_id(fact.recorder)
        elif isinstance(fact, VisitBegun):
            build.visits[fact.ref][_V_BEGUN_AT] = fact.at
        elif isinstance(fact, UnitSubmitted):
            for row in build.visit_units:
                if row["_visit_ref"] == fact.ref and row["unit_id"] == fact.unit_id:
                    row["submitted_at"], row["_event_no"] = fact.at, fact.event_no
        # CaseStarted and CaseEnded: read from the build when the case row is written.


def reserve_ids(session: Session, table: type[Case | Visit | Event], count: int) -> Sequence[int]:
    """`count` fresh primary keys for a bulk insert without RETURNING, in increasing order.

    PostgreSQL hands them out from the table's sequence (safe beside concurrent writers);
    SQLite write sessions hold the database lock from BEGIN, so MAX(id) + 1 onwards is free.
    """
    if count == 0:
        return []
    name = table.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        return _reserve_from_sequence(session, name, count)
    first = (session.scalar(select(func.max(table.id))) or 0) + 1
    return range(first, first + count)


def _reserve_from_sequence(session: Session, table: str, count: int) -> Sequence[int]:
    """The sequence's name is looked up once: `nextval(pg_get_serial_sequence(...))` looked
    it up again for every id, three times the cost of nextval itself. When no other writer
    took a value meanwhile, as in most batches, the ids are one run, sent as its two ends
    rather than as a million rows (12.6 s of the writer's 35 s in a 1M-event import on the
    fourteenth machine, before both changes)."""
    sequence = session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"),
                              {"table": table})
    first, last, scattered = session.execute(text(
        "SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL "
        "ELSE array_agg(id ORDER BY id) END "
        "FROM (SELECT nextval(CAST(:sequence AS regclass)) AS id "
        "FROM generate_series(1, :count)) AS reserved"),
        {"sequence": sequence, "count": count}).one()
    return range(first, last + 1) if scattered is None else scattered


def _insert(session: Session, table: type[Base], rows: list[dict[str, Any]],
            instants: dict[datetime, Any]) -> None:
    """The rows written by few statements (`_table_values`, then `_write_values`)."""
    connection = session.connection()
    values = _table_values(table, rows, connection.dialect, instants)
    if values is not None:
        _write_values(connection, values)


@dataclass
class _TableValues:
    """A table's rows as its columns' values for the database, in the columns' order."""
    table: type[Base]
    columns: list[str]  # the columns' keys
    rows: list[list[Any]]


def _table_values(table: type[Base], rows: list[dict[str, Any]], dialect: Any,
                  instants: dict[datetime, Any]) -> _TableValues | None:
    """Each value converted by its column's own type for this database: what Core does row
    by row, whose per-row parameter handling was a quarter of a 1M-event import. Every row
    has the keys of the first; keys starting with "_" are the replay's own bookkeeping, not
    columns."""
    if not rows:
        return None
    keys = [key for key in rows[0] if not key.startswith("_")]
    take = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    return _converted(table, keys, list(map(take, rows)), dialect, instants)


def _converted(table: type[Base], keys: list[str], rows: Sequence[Sequence[Any]], dialect: Any,
               instants: dict[datetime, Any]) -> _TableValues | None:
    """Rows of the values of `keys`, converted into new lists (`_table_values`)."""
    if not rows:
        return None
    columns = table.__table__.c
    missing = [c.key for c in columns if c.default is not None and c.key not in keys]
    if missing:  # Core would fill Python-side defaults in; this path does not
        raise ValueError(f"{table.__tablename__}: no value for {', '.join(missing)}")
    converting = [(index, convert) for index, key in enumerate(keys)
                  if (convert := _converter(columns[key].type, dialect, instants)) is not None]
    # Fresh lists, side by side in memory: a row built while its case ran lies among that
    # case's other objects, and the passes that follow (this one, the ids and the writing) each
    # missed the cache on every row. Copied, the writer's thread took 1.5 s less CPU of a
    # 1M-event import on PostgreSQL, and this thread less too.
    values: list[list[Any]] = list(map(list, rows))
    for row in values:  # only the columns whose type converts (instants, JSON)
        for index, convert in converting:
            row[index] = convert(row[index])
    return _TableValues(table=table, columns=keys, rows=values)


def _write_values(connection: Connection, values: _TableValues) -> None:
    """Few statements for all the rows: SQLite `_insert_values`, PostgreSQL one COPY
    (`_copy`)."""
    columns = values.table.__table__.c
    names = [columns[key].name for key in values.columns]
    if connection.dialect.name == "postgresql":
        _copy(connection, values.table.__tablename__, names, values.rows)
    else:
        _insert_values(connection, values.table.__tablename__, names, values.rows)


# Rows per INSERT statement on SQLite, fewer where the library's limit on parameters per
# statement asks it (32,766 by default since SQLite 3.32, 999 before); 500 to 2,000 rows per
# statement all timed alike.
SQLITE_ROWS_PER_STATEMENT = 2_000


def _insert_values(connection: Connection, table: str, columns: list[str],
                   rows: list[list[Any]]) -> None:
    """SQLite: the rows as multi-row `INSERT ... VALUES (...), (...)` statements of up to
    2,000 rows each, through the driver's cursor. The driver binds a statement's parameters in
    one pass in C and runs the statement without Python's lock, so beside the replay's thread
    (`_BatchWriter`) the lock changes hands once per statement. An executemany took it back
    after every row, waiting up to 5 ms for it each time beside a busy thread (300,000 events:
    1.8 s alone, 5.8 s beside the replay). One JSON document taken apart by `json_each` held
    the lock once, but SQLite parsed each row's JSON again for every column: 200,000 rows of
    15 columns took 3.1 s, against 0.6 s as VALUES (ninth machine; 1.3 s as executemany)."""
    quoted = ", ".join(f'"{column}"' for column in columns)
    driver = driver_connection(connection)
    parameters = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, parameters // len(columns)))
    one_row = f"({', '.join('?' * len(columns))})"
    cursor = driver.cursor()
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            # The full-size statement's text is the same every time: sqlite3 caches its plan.
            cursor.execute(f'INSERT INTO "{table}" ({quoted}) VALUES '
                           f"{', '.join([one_row] * len(chunk))}",
                           list(chain.from_iterable(chunk)))
    finally:
        cursor.close()


def _copy(connection: Connection, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    """PostgreSQL's COPY: the rows as one stream in the transaction, where an executemany
    sends one statement per row (the inserts were six tenths of an import on PostgreSQL).
    The table's constraints, foreign keys and the all-or-nothing transaction hold as for
    INSERT. In COPY's binary format (`_binary_copy_types`) psycopg writes each instant from
    the datetime itself in C, where the text format needed a text made in Python first."""
    from psycopg import sql

    driver = driver_connection(connection)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with driver.cursor() as cursor:
        types = _binary_copy_types(cursor, table, columns)
        with cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


# PostgreSQL's type oids, for COPY's binary format.
_TIMESTAMP, _TIMESTAMPTZ, _JSON, _TEXT = 1114, 1184, 114, 25


def _binary_copy_types(cursor: Any, table: str, columns: list[str]) -> list[int]:
    """The columns' types as the server has them, each the type whose binary form psycopg is
    to write: the server reads binary values by the column's type, and the stream names no
    type. Two stand in for the column's own, by a binary form that is the same: an instant
    (a naive UTC `timestamp`, db.types.UTCDateTime) is written as the `timestamptz` of the
    aware datetime, its microseconds since 2000 in UTC; a JSON value, already its text
    (`_postgres_json_text`), as `text`, the binary form of `json`."""
    cursor.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = "
                   "CAST(%s AS regclass) AND attnum > 0 AND NOT attisdropped",
                   (f'"{table}"',))
    oids: dict[str, int] = dict(cursor.fetchall())
    standing_in = {_TIMESTAMP: _TIMESTAMPTZ, _JSON: _TEXT}
    return [standing_in.get(oid, oid) for oid in map(oids.__getitem__, columns)]


def _converter(column_type: Any, dialect: Any,
               instants: dict[datetime, Any]) -> Callable[[Any], Any] | None:
    """The column type's own conversion of a value for `dialect`. An instant's is remembered
    in `instants`, shared by the tables of a batch: a visit's times are its events' times,
    and every event has the same recorded_at. A JSON value's is remembered by identity for
    the statement: the rows share one value per distinct content (`_unknown_names`)."""
    convert = column_type.dialect_impl(dialect).bind_processor(dialect)
    if convert is None:
        return None
    if isinstance(column_type, JSON):
        if dialect.name == "postgresql":
            convert = _postgres_json_text(convert)
        # Each entry keeps its value alive, so no other value can take its id meanwhile.
        by_identity: dict[int, tuple[Any, Any]] = {}

        def remembered_json(value: Any) -> Any:
            entry = by_identity.get(id(value))
            if entry is None:
                entry = by_identity[id(value)] = (value, convert(value))
            return entry[1]

        return remembered_json
    if not isinstance(column_type, UTCDateTime):
        return convert
    if dialect.name == "postgresql":
        return _aware  # written as the instant itself (`_binary_copy_types`)
    convert = _utc_text(convert)

    def remembered(value: Any) -> Any:
        if value is None:
            return None
        text = instants.get(value)
        if text is None:
            text = instants[value] = convert(value)
        return text

    return remembered


def _aware(value: datetime | None) -> datetime | None:
    """An instant for COPY as it is; a naive one is refused, as UTCDateTime refuses it."""
    if value is not None and value.tzinfo is None:
        naive_utc(value)  # raises
    return value


# SQLAlchemy's text for a naive datetime on SQLite (its DATETIME's default storage format).
_DATETIME_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
_PROBE = datetime(2024, 1, 8, 3, 26, 31, 5, tzinfo=UTC)


def _utc_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """UTCDateTime's conversion on SQLite in one step, as text: the instant in UTC.
    SQLAlchemy's own goes through two wrappers and a dict of seven fields per value (5 µs
    against 1 µs), holding Python's lock beside the replay: about 4 s of a 1M-event import.
    Used only while the probe's text is what SQLAlchemy writes; the test of the bulk insert
    compares every stored value with Core's."""

    def utc_text(value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is UTC:  # as the log's rows are read: C's formatting, 0.8 µs against 1.5
            return value.isoformat(" ", "microseconds")[:26]
        at = naive_utc(value)
        return _DATETIME_TEXT % (at.year, at.month, at.day, at.hour, at.minute, at.second,
                                 at.microsecond)

    return utc_text if utc_text(_PROBE) == convert(_PROBE) else convert


def _postgres_json_text(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON value as the text psycopg would send for SQLAlchemy's wrapper of it: dumped once
    per distinct value (`remembered_json`), where COPY dumped the wrapper again for every row
    (3.6 s of a 1M-event import whose people have no accounts)."""
    from psycopg.types.json import Json, JsonDumper

    dumper = JsonDumper(Json)

    def json_text(value: Any) -> Any:
        wrapped = convert(value)
        if not isinstance(wrapped, Json):
            return wrapped
        dumped = dumper.dump(wrapped)
        return bytes(dumped).decode() if dumped is not None else None

    return json_text


@dataclass
class _Batch:
    """Finished cases as the values their rows will store. A row's own id and the ids it
    refers to within the batch are counted from 0 (the first case, visit, event of the
    batch), until `_store` has the database hand out the real ones."""
    refs: list[str]
    first_lines: list[int]
    counts: dict[type[Case | Visit | Event], int]
    tables: list[_TableValues]


# The columns that refer to a row of the same batch, by the table they refer to ("id": the
# row's own table).
_BATCH_REFERENCES: dict[str, type[Case | Visit | Event]] = {
    "case_id": Case, "visit_id": Visit, "submitted_event_id": Event}


def _batch(builds: list[_CaseBuild], now: datetime, dialect: Any) -> _Batch:
    """The rows of these cases, converted for `dialect`: on the replay's thread, while the
    writer's thread stores the batch before (its Python work is what holds the other back)."""
    instants: dict[datetime, Any] = {}
    case_rows = [{**_case_row(build), "id": index} for index, build in enumerate(builds)]
    schedules = [{"case_id": index, "step_seq": seq, "due_at": due}
                 for index, build in enumerate(builds) for seq, due in build.schedule.items()]
    visit_rows: list[list[Any]] = []
    event_rows: list[list[Any]] = []
    unit_rows: list[dict[str, Any]] = []
    # The collected rows are completed in place: a batch is converted once, then dropped.
    for case_id, build in enumerate(builds):
        visit_id: dict[int, int] = {}  # the case's visit ref -> the row's id in the batch
        for ref, row in build.visits.items():
            visit_id[ref] = row[_V_ID] = len(visit_rows)
            row[_V_CASE] = case_id
            visit_rows.append(row)
        for row, event_visit in zip(build.events, build.event_visit_refs, strict=True):
            row[_E_ID], row[_E_CASE], row[_E_RECORDED_AT] = len(event_rows), case_id, now
            row[_E_VISIT] = visit_id[event_visit] if event_visit is not None else None
            event_rows.append(row)
        if build.visit_units:
            event_id = {row[_E_NO]: row[_E_ID] for row in build.events}
            unit_rows += [
                {"visit_id": visit_id[row["_visit_ref"]], "unit_id": row["unit_id"],
                 "submitted_at": row["submitted_at"],
                 "submitted_event_id": event_id[row["_event_no"]]
                 if row["_event_no"] is not None else None}
                for row in build.visit_units]
    tables = [_table_values(Case, case_rows, dialect, instants),
              _table_values(CaseSchedule, schedules, dialect, instants),
              _converted(Visit, list(_VISIT_COLUMNS), visit_rows, dialect, instants),
              _converted(Event, list(_EVENT_COLUMNS), event_rows, dialect, instants),
              _table_values(VisitUnit, unit_rows, dialect, instants)]
    return _Batch(refs=[build.ref for build in builds],
                  first_lines=[build.first_line for build in builds],
                  counts={Case: len(case_rows), Visit: len(visit_rows), Event: len(event_rows)},
                  tables=[values for values in tables if values is not None])


def _store(session: Session, batch: _Batch) -> dict[type[Base], Sequence[int]]:
    """The batch's rows given their ids from the database (`reserve_ids`), then written;
    returns the ids, by table."""
    ids: dict[type[Base], Sequence[int]] = {table: reserve_ids(session, table, count)
                                        for table, count in batch.counts.items()}
    connection = session.connection()
    for values in batch.tables:
        for index, key in enumerate(values.columns):
            table = values.table if key == "id" else _BATCH_REFERENCES.get(key)
            if table is None:
                continue
            real = ids[table]
            for row in values.rows:
                if row[index] is not None:
                    row[index] = real[row[index]]
        _write_values(connection, values)
    return ids


def _case_row(build: _CaseBuild) -> dict[str, Any]:
    state = build.state
    ended_at = state.last_event_at if state.status != "active" else None
    cancel_reason = next((row[_E_NOTE] for row in reversed(build.events)
                          if row[_E_KIND] == "cancel"), None) if state.status == "cancelled" \
        else None
    return {
        "ref": build.ref, "sop_version_id": build.plan.version_id, "unit_id": build.unit_id,
        "title": build.title, "period_label": build.period_label,
        "status": state.status, "started_at": build.started_at, "ended_at": ended_at,
        "cancel_reason": cancel_reason, "created_by_user_id": build.created_by,
        "last_event_no": state.last_event_no, "last_event_at": state.last_event_at,
    }
