"""The figures of Pantau SOP, defined once (docs/design.md, "Figures").

Time is owned here. `read_history` reads every visit and case of the database once (it
depends only on what is recorded, so a page keeps it per data version); `snapshot` gives the
state of every visit and case as of any instant T from that history:

- a visit exists at T when it became available at or before T; it is open at T when it had
  not ended by T (ended_at > T, or not ended at all), and ended by T otherwise;
- a case exists at T when it started at or before T; it is active at T when it was neither
  completed nor cancelled by T;
- a pending item at T is an open visit, or, for a multi-unit step, one unit that had not yet
  submitted by T. Pending, overdue and at-risk counts count items everywhere.

A period's figures are those of the snapshot at the period's as-of (`period_as_of`): its end
for a closed period, now for the current one. Ended-visit figures cover the visits that ended
within the period; pending items, ages, SLA states and active cases are those at the as-of.
So the figures at T equal those of a database that holds only the events up to T.

Definitions (every page, report and the command line select and group these):
- duration = working minutes from available to ended (for a visit open at T: to T, its age);
  a visit closed by a cancelled case is not measured;
- target = the step's Mutu Baku in working minutes, or for a "Sesuai jadwal" step the working
  minutes from available to the case's due date; within target = duration <= target;
  overrun = max(0, duration - target); over target = measured, with a target, not within it;
- a late case (at T): one of its visits ended over its target, or one is open and overdue;
- a pending item is held by those of its role (for a multi-unit step, of its unit too);
- SLA state of open work: on_time (age < 80% of target), at_risk (80% <= age <= target),
  overdue (age > target), no_target;
- compliance rate = measured visits within target / measured visits with a target;
- return rate = returns / decisions (visits of a decision step ended by approve or return);
- revision rate = cases completed in the period that had at least one return before they
  completed / cases completed in the period;
- lead time = working minutes from a case's start to its completion;
- medians and p90 use linear interpolation; empty sets give None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from db.engine import rows_where_in
from db.models import (
    Case,
    Event,
    HolidayOverride,
    RamadanPeriod,
    Role,
    Sop,
    SopVersion,
    Step,
    Unit,
    User,
    Visit,
    VisitUnit,
    WorkHours,
)
from services.calendar import (
    WorkingCalendar,
    load_calendar_settings,
    wib_month_start_ns,
    wib_months,
)
from services.clock import utcnow
from services.errors import InvalidInput
from services.formatting import WIB
from services.periods import Period, PeriodChoice

SLA_STATES = ("overdue", "at_risk", "on_time", "no_target")
AT_RISK_SHARE = 0.8
NAT = np.iinfo(np.int64).min
OUTCOMES = ("", "complete", "approve", "return", "closed")  # index = code in the frames
CASE_STATUSES = ("active", "completed", "cancelled")


# --- instants as numbers, computed by the database ------------------------------------------


class epoch_ns(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    """Nanoseconds since 1970 of a naive-UTC timestamp column (NULL stays NULL)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_ns, "sqlite")
def _epoch_ns_sqlite(element: epoch_ns, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # julianday is a double: rounding to whole milliseconds keeps it exact to the ms.
    return f"(CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER) * 1000000)"


@compiles(epoch_ns, "postgresql")
def _epoch_ns_postgresql(element: epoch_ns, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000000) AS BIGINT) * 1000)"


def ns(value: datetime) -> int:
    """An aware instant as int64 nanoseconds since 1970 (the unit of every frame here)."""
    return int(pd.Timestamp(value).as_unit("ns").value)


def _ns_or_nat(column: Any) -> Any:
    return func.coalesce(epoch_ns(column), NAT)


def _code_of(column: Any, values: Sequence[str]) -> Any:
    return case(*((column == value, code) for code, value in enumerate(values) if value), else_=0)


def _int_matrix(session: Session, query: Any, columns: Sequence[str]) -> pd.DataFrame:
    """An all-integer query read straight from the driver's cursor into one int64 array.

    Every column is an integer in SQL (NULLs as sentinels, names as ids, enumerations as
    codes), so the rows go into numpy without per-value Python work: on a million-event
    database this is the difference between seconds and a fraction of one.
    """
    result = session.connection().execute(query)
    rows = result.cursor.fetchall()
    result.close()
    array = np.array(rows, dtype=np.int64).reshape(len(rows), len(columns))
    return pd.DataFrame(array, columns=list(columns))


def _names(session: Session, model: Any, attribute: str) -> dict[int, str]:
    return {id_: name for id_, name in session.execute(select(model.id, getattr(model, attribute)))}


# --- the as-of time ---------------------------------------------------------------------------


def resolve_as_of(session: Session, as_of: datetime | None) -> datetime:
    """The as-of time: any aware instant, past ones included; now when none is given (or the
    latest recorded event, when a clock a minute ahead recorded one after now)."""
    if as_of is None:
        now = utcnow()
        last = session.scalar(select(func.max(Case.last_event_at)))
        return max(now, last) if last is not None else now
    if as_of.tzinfo is None:
        raise InvalidInput("Waktu as-of harus menyebut zona waktunya.")
    return as_of


def period_as_of(period: PeriodChoice, *, now: datetime) -> datetime:
    """The instant a period's figures stand at: its end for a closed period, now for the
    current one (a report of a closed semester shows the semester as it stood at its end)."""
    return min(now, period.bounds()[1])


def period_is_closed(period: PeriodChoice, *, now: datetime) -> bool:
    return period.bounds()[1] <= now


# --- the catalog the figures are reported against ---------------------------------------------


@dataclass(frozen=True)
class CatalogStep:
    seq: int
    label: str
    activity: str
    role: str
    target_minutes: int | None
    is_decision: bool
    multi_unit: bool


@dataclass(frozen=True)
class CatalogSop:
    code: str
    name: str
    steps: tuple[CatalogStep, ...]

    @cached_property
    def labels(self) -> dict[int, str]:
        """Made once per SOP: read for every pending item (3,375 at a million events)."""
        return {step.seq: step.label for step in self.steps}


Catalog = dict[str, CatalogSop]


def read_catalog(session: Session) -> Catalog:
    """Per SOP code, by name: the steps of its current version with their labels."""
    latest = (select(SopVersion.sop_id, func.max(SopVersion.version).label("version"))
              .group_by(SopVersion.sop_id).subquery())
    rows = session.execute(
        select(Sop.code, SopVersion.name, Step.seq, Step.label, Step.activity, Role.name,
               Step.target_minutes, Step.approve_seq, Step.multi_unit)
        .join(SopVersion, SopVersion.sop_id == Sop.id)
        .join(latest, (latest.c.sop_id == SopVersion.sop_id) & (latest.c.version == SopVersion.version))
        .join(Step, Step.sop_version_id == SopVersion.id)
        .join(Role, Step.role_id == Role.id)
        .order_by(SopVersion.name, Step.seq)).all()
    grouped: dict[str, tuple[str, list[Any]]] = {}
    for row in rows:
        grouped.setdefault(row[0], (row[1], []))[1].append(row)
    catalog: Catalog = {}
    for code, (name, steps) in sorted(grouped.items(), key=lambda item: item[1][0].casefold()):
        catalog[code] = CatalogSop(code=code, name=name, steps=tuple(
            CatalogStep(seq=r.seq, label=r.label or str(r.seq), activity=r.activity, role=r[5],
                        target_minutes=r.target_minutes, is_decision=r.approve_seq is not None,
                        multi_unit=r.multi_unit) for r in steps))
    return catalog


# --- the history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """Every visit and case as recorded, with what does not depend on the as-of time already
    derived (targets; durations of ended visits). Shared read-only by every page run."""

    ended: pd.DataFrame  # one row per ended visit, in the order they ended (by_end)
    running: pd.DataFrame  # one row per visit not ended yet
    cases: pd.DataFrame  # one row per case
    units: pd.DataFrame  # one row per unit of a multi-unit visit: visit_id, unit_id, submitted_ns
    catalog: Catalog
    calendar: WorkingCalendar
    last_ns: int  # the latest instant any visit or case changed (NAT when nothing is recorded)

    @cached_property
    def month_sums(self) -> pd.DataFrame:
        """The counts of visit_figures over the measured ended visits, per WIB month of
        their end, SOP, step and unit (`month_sums`). Made on first use, not with the
        history: a command that never sums by month does not pay for it. A history spliced
        from this one gets them spliced too (history_cache), when they were made here."""
        return month_sums(self.ended)


def by_end(ended: pd.DataFrame) -> pd.DataFrame:
    """Ended visits in the order they ended (ties by visit): the order History.ended keeps,
    so the visits ended by an instant, or within a period, are one slice of rows, read
    without copying (snapshot, ended_in)."""
    if ended.__dict__.get(_IN_END_ORDER):
        return ended
    at, visit = ended["ended_ns"].to_numpy(), ended["visit_id"].to_numpy()
    step, tie_step = np.diff(at), np.diff(visit)
    if ((step > 0) | ((step == 0) & (tie_step > 0))).all():
        return in_end_order(ended)  # already so (the kept history always is): not sorted
    return in_end_order(ended.take(np.lexsort((visit, at))).reset_index(drop=True))


# Set on a frame found in by_end order, or cut from one (a slice or some of its rows keep
# the order), so that by_end does not check it again: the check reads two columns whole
# (0.04 s at ten million events), and a Dasbor run asked it five times of the same frames.
# Frames of the history are never changed in place, so the mark stays true.
_IN_END_ORDER = "_pantau_in_end_order"


def in_end_order(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame`, marked as in by_end order: for a caller that knows it is (history_cache,
    which appends visits that end after the last), so that by_end does not check it."""
    object.__setattr__(frame, _IN_END_ORDER, True)  # not pandas' own: no column is made
    return frame


def _rows_of(ended: pd.DataFrame, rows: Any) -> pd.DataFrame:
    """`ended.iloc[rows]` (a slice, or a mask), in by_end order when `ended` is."""
    part = ended.iloc[rows]
    return in_end_order(part) if ended.__dict__.get(_IN_END_ORDER) else part


def _ended_by(ended: pd.DataFrame, at: int, *, side: Literal["left", "right"]) -> int:
    """How many rows of `ended` (in by_end order) ended before `at` (or at it: side right)."""
    return int(np.searchsorted(ended["ended_ns"].to_numpy(), at, side=side))


def _case_frame(session: Session, *, calendar: WorkingCalendar, where: Any = None) -> pd.DataFrame:
    query = (
        select(Case.id, SopVersion.sop_id, _code_of(Case.status, CASE_STATUSES),
               func.coalesce(Case.unit_id, -1), _ns_or_nat(Case.started_at),
               _ns_or_nat(Case.ended_at))
        .join(SopVersion, Case.sop_version_id == SopVersion.id)
    )
    if where is not None:
        query = query.where(where)
    frame = _int_matrix(session, query, ["case_id", "sop_id", "status_code", "unit_id",
                                         "started_ns", "ended_ns"])
    sops = _names(session, Sop, "code")
    frame["sop_code"] = pd.Categorical(frame["sop_id"].map(sops), categories=sorted(sops.values()))
    completed = frame["status_code"].to_numpy() == CASE_STATUSES.index("completed")
    lead = np.full(len(frame), np.nan)
    if completed.any():
        lead[completed] = calendar.working_minutes(frame["started_ns"].to_numpy()[completed],
                                                   frame["ended_ns"].to_numpy()[completed])
    return frame.assign(lead_time=lead)


def _visit_frame(session: Session, *, calendar: WorkingCalendar, cases: pd.DataFrame,
                 where: Any) -> pd.DataFrame:
    """Visits with their SOP, unit, role, target, and (when ended) duration and verdicts."""
    query = select(
        Visit.id, Visit.case_id, Visit.seq, Visit.pass_no, Visit.role_id,
        func.coalesce(Visit.performer_user_id, -1), _ns_or_nat(Visit.available_at),
        _ns_or_nat(Visit.ended_at), _code_of(Visit.outcome, OUTCOMES),
        func.coalesce(Visit.target_minutes, -1), _ns_or_nat(Visit.due_at),
    ).where(where)
    frame = _int_matrix(session, query, [
        "visit_id", "case_id", "seq", "pass_no", "role_id", "performer_user_id", "available_ns",
        "ended_ns", "outcome_code", "target_code", "due_ns"])
    # The SOP and unit of each visit come from its case (a lookup by position, no SQL join).
    case_ids = cases["case_id"].to_numpy()
    order = np.argsort(case_ids)
    sorted_ids = case_ids[order]
    position = np.searchsorted(sorted_ids, frame["case_id"].to_numpy())
    clipped = np.minimum(position, max(len(sorted_ids) - 1, 0))
    known = (position < len(sorted_ids)) & (
        sorted_ids[clipped] == frame["case_id"].to_numpy() if len(sorted_ids)
        else np.zeros(len(frame), dtype=bool))
    frame = frame[known]
    rows = order[position[known]]
    user_units = {user_id: unit_id for user_id, unit_id in session.execute(
        select(User.id, User.unit_id).where(User.unit_id.is_not(None)))}
    performer_unit = frame["performer_user_id"].map(user_units).fillna(-1).astype(np.int64)
    case_unit = cases["unit_id"].to_numpy()[rows]
    roles = _names(session, Role, "name")
    frame = frame.assign(
        sop_code=pd.Categorical.from_codes(cases["sop_code"].cat.codes.to_numpy()[rows],
                                           categories=cases["sop_code"].cat.categories),
        # Work is the performer's unit's; before anyone performed it, the case's.
        unit_id=np.where(performer_unit >= 0, performer_unit, case_unit),
        case_unit_id=case_unit,
        role=pd.Categorical(frame["role_id"].map(roles), categories=sorted(roles.values())),
    )
    available = frame["available_ns"].to_numpy()
    due = frame["due_ns"].to_numpy()
    target_code = frame["target_code"].to_numpy()
    target = np.where(target_code >= 0, target_code, np.nan).astype(np.float64)
    scheduled = due != NAT
    if scheduled.any():
        target[scheduled] = np.maximum(calendar.working_minutes(available[scheduled],
                                                                due[scheduled]), 0.0)
    frame = frame.assign(target=target, has_target=~np.isnan(target))
    return _with_outcome(frame, calendar=calendar)


def _with_outcome(frame: pd.DataFrame, *, calendar: WorkingCalendar) -> pd.DataFrame:
    """Duration and verdicts of ended visits (NaN duration and no verdict for open ones)."""
    ended = frame["ended_ns"].to_numpy()
    is_ended = ended != NAT
    duration = np.full(len(frame), np.nan)
    if is_ended.any():
        duration[is_ended] = np.maximum(calendar.working_minutes(
            frame["available_ns"].to_numpy()[is_ended], ended[is_ended]), 0.0)
    outcome = frame["outcome_code"].to_numpy()
    target = frame["target"].to_numpy()
    has_target = frame["has_target"].to_numpy()
    measured = is_ended & (outcome != OUTCOMES.index("closed"))
    limit = np.where(has_target, target, 0.0)
    within = measured & has_target & (np.nan_to_num(duration) <= limit + 1e-9)
    overrun = np.where(measured & has_target, np.maximum(np.nan_to_num(duration) - limit, 0.0),
                       0.0)
    is_return = outcome == OUTCOMES.index("return")
    return frame.assign(
        outcome=pd.Categorical.from_codes(outcome, categories=list(OUTCOMES)),
        duration=duration, measured=measured, within_target=within, overrun=overrun,
        is_return=is_return,
        is_decision=is_return | (outcome == OUTCOMES.index("approve")),
    )


def _unit_frame(session: Session, *, visit_ids: Any) -> pd.DataFrame:
    query = select(VisitUnit.visit_id, VisitUnit.unit_id, _ns_or_nat(VisitUnit.submitted_at))
    if visit_ids is not None:
        query = query.where(VisitUnit.visit_id.in_(visit_ids))
    return _int_matrix(session, query, ["visit_id", "unit_id", "submitted_ns"])


def read_history(session: Session, *, calendar: WorkingCalendar | None = None,
                 cases_where: ColumnElement[bool] | None = None,
                 running_only: bool = False) -> History:
    """Every visit and case (or the cases `cases_where` selects). `running_only` reads only
    the visits not ended yet and the active cases: all that a snapshot at now needs for its
    pending items (Tugas Saya), without the history."""
    calendar = calendar or WorkingCalendar(load_calendar_settings(session))
    if running_only:
        active = Case.status == "active"
        cases_where = active if cases_where is None else cases_where & active
    cases = _case_frame(session, calendar=calendar, where=cases_where)
    visits_of = Visit.case_id.in_(select(Case.id).where(cases_where)) \
        if cases_where is not None else None

    def visits(where: ColumnElement[bool]) -> pd.DataFrame:
        return _visit_frame(session, calendar=calendar, cases=cases,
                            where=where if visits_of is None else where & visits_of)

    running = visits(Visit.ended_at.is_(None))
    ended = running.iloc[:0] if running_only else by_end(visits(Visit.ended_at.is_not(None)))
    units_of: Any = None
    if running_only or visits_of is not None:
        units_of = select(Visit.id)
        if running_only:
            units_of = units_of.where(Visit.ended_at.is_(None))
        if visits_of is not None:
            units_of = units_of.where(visits_of)
    return History(ended=ended, running=running, cases=cases,
                   units=_unit_frame(session, visit_ids=units_of),
                   catalog=read_catalog(session), calendar=calendar,
                   last_ns=_last_ns(ended, running, cases))


def _last_ns(ended: pd.DataFrame, running: pd.DataFrame, cases: pd.DataFrame) -> int:
    """History.last_ns of these frames: the latest end, opening or start (NAT: none)."""
    instants = [ended["ended_ns"].to_numpy(), running["available_ns"].to_numpy(),
                cases["started_ns"].to_numpy()]
    return max((int(values.max()) for values in instants if len(values)), default=NAT)


def running_part(history: History) -> History:
    """What `read_history(session, running_only=True)` reads, taken from a history read in
    full: the visits not ended, the active cases and the units of those visits."""
    running = history.running
    cases = history.cases[history.cases["status_code"].to_numpy()
                          == CASE_STATUSES.index("active")]
    units = history.units[history.units["visit_id"].isin(running["visit_id"]).to_numpy()]
    ended = history.ended.iloc[:0]
    return replace(history, ended=ended, cases=cases, units=units,
                   last_ns=_last_ns(ended, running, cases))


# --- the state at an instant -------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The state of every visit and case as of `as_of`."""

    as_of: datetime
    ended: pd.DataFrame  # visits ended by as_of
    open: pd.DataFrame  # visits open at as_of, with their age as `duration` and `sla_state`
    items: pd.DataFrame  # pending items at as_of (see the module docstring)
    cases: pd.DataFrame  # cases started by as_of, `status` and `lead_time` as of as_of
    catalog: Catalog
    calendar: WorkingCalendar
    # The history's month sums, as far as they hold this state's ended visits (MonthSums).
    sums: MonthSums | None = field(default=None, compare=False)

    @property
    def visits(self) -> pd.DataFrame:
        """Every visit that existed at as_of, ended and open (`is_open` tells which)."""
        return pd.concat([self.ended.assign(is_open=False), self.open.assign(is_open=True)],
                         ignore_index=True)


def sla_codes(age: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Index into SLA_STATES of open work of this age against this target (NaN: none)."""
    limit = np.nan_to_num(target)
    return np.select([np.isnan(target), age < AT_RISK_SHARE * limit, age <= limit],
                     [3, 2, 1], default=0)


def snapshot(history: History, *, as_of: datetime) -> Snapshot:
    """The state at `as_of`, from the history alone (no database)."""
    at = ns(as_of)
    ended, running, cases = history.ended, history.running, history.cases
    if at < history.last_ns:  # a past instant: undo what happened after it
        ended = by_end(ended)  # as kept: no copy
        ended_by_then = _ended_by(ended, at, side="right")
        later = ended.iloc[ended_by_then:]
        reopened = later[later["available_ns"].to_numpy() <= at]
        ended = _rows_of(ended, slice(None, ended_by_then))
        running = pd.concat([reopened, running[running["available_ns"].to_numpy() <= at]],
                            ignore_index=True)
        cases = cases[cases["started_ns"].to_numpy() <= at]
    open_visits = _aged(running, at=at, calendar=history.calendar)
    return Snapshot(as_of=as_of, ended=ended, open=open_visits,
                    items=_items(open_visits, history.units, at=at),
                    cases=_cases_at(cases, at=at), catalog=history.catalog,
                    calendar=history.calendar,
                    # A past instant keeps the visits ended by it: the months wholly before it.
                    sums=MonthSums(history, until_ns=at if at < history.last_ns else _LAST))


def _aged(visits: pd.DataFrame, *, at: int, calendar: WorkingCalendar) -> pd.DataFrame:
    """Visits open at `at`: their age there, SLA state, and nothing of how they ended."""
    age = np.maximum(calendar.clock(np.full(1, at, dtype=np.int64))[0]
                     - calendar.clock(visits["available_ns"].to_numpy()), 0.0)
    empty = np.zeros(len(visits), dtype=bool)
    return visits.assign(
        ended_ns=NAT, outcome_code=0, performer_user_id=-1, unit_id=visits["case_unit_id"],
        outcome=pd.Categorical.from_codes(np.zeros(len(visits), dtype=np.int64),
                                          categories=list(OUTCOMES)),
        duration=age, measured=empty, within_target=empty, overrun=0.0, is_return=empty,
        is_decision=empty,
        sla_state=pd.Categorical.from_codes(sla_codes(age, visits["target"].to_numpy()),
                                            categories=list(SLA_STATES)),
    ).reset_index(drop=True)


def _items(open_visits: pd.DataFrame, units: pd.DataFrame, *, at: int) -> pd.DataFrame:
    """One row per pending item: an open visit, or each unit of an open multi-unit visit that
    had not submitted by `at`. `unit_id` is the item's unit (the outstanding one, or the
    visit's)."""
    columns = ["visit_id", "case_id", "sop_code", "seq", "role", "available_ns", "duration",
               "target", "sla_state"]
    multi = units[units["visit_id"].isin(open_visits["visit_id"])]
    outstanding = multi[(multi["submitted_ns"] == NAT) | (multi["submitted_ns"] > at)]
    single = open_visits[~open_visits["visit_id"].isin(multi["visit_id"])]
    per_unit = open_visits[columns].merge(outstanding[["visit_id", "unit_id"]], on="visit_id")
    items = pd.concat([single[[*columns, "unit_id"]].assign(multi_unit=False),
                       per_unit.assign(multi_unit=True)], ignore_index=True)
    for column in ("sop_code", "role", "sla_state"):
        items[column] = items[column].astype(open_visits[column].dtype)
    order = np.lexsort((items["unit_id"].to_numpy(), -items["duration"].to_numpy(),
                        items["sla_state"].cat.codes.to_numpy()))
    return items.iloc[order].reset_index(drop=True)


def _cases_at(cases: pd.DataFrame, *, at: int) -> pd.DataFrame:
    ended = cases["ended_ns"].to_numpy()
    running = (ended == NAT) | (ended > at)
    status = np.where(running, CASE_STATUSES.index("active"), cases["status_code"].to_numpy())
    return cases.assign(
        ended_ns=np.where(running, NAT, ended), status_code=status,
        status=pd.Categorical.from_codes(status, categories=list(CASE_STATUSES)),
        lead_time=np.where(running, np.nan, cases["lead_time"].to_numpy()),
    )


# --- selections: what a period counts --------------------------------------------------------


def _between(values: pd.Series, period: Period) -> np.ndarray:
    instants = values.to_numpy()
    return (instants >= ns(period[0])) & (instants < ns(period[1]))


def _with_status(cases: pd.DataFrame, status: str) -> np.ndarray:
    # The codes, not the category: a comparison of numbers, where the category's went through
    # pandas for every case (a million at ten million events, several times a page run).
    return cases["status_code"].to_numpy() == CASE_STATUSES.index(status)


def ended_in(state: Snapshot, period: Period | None, *,
             columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Measured visits (ended, not closed by a cancellation) that ended within the period
    (every one ended by the as-of when there is no period); with `columns`, only those. A
    figure that reads a few of a visit's two dozen columns copies only them: at ten million
    events a year's visits are 0.3 GB whole, and a page asks for them several times."""
    ended = state.ended
    if period is not None:
        ended = by_end(ended)  # as kept (and as scope keeps it): no copy
        ended = ended.iloc[_ended_by(ended, ns(period[0]), side="left"):
                           _ended_by(ended, ns(period[1]), side="left")]
    keep = ended["measured"].to_numpy(dtype=bool)
    if columns is not None:
        return ended[list(columns)] if keep.all() else ended.loc[keep, list(columns)]
    return ended if keep.all() else ended[keep]


def completed_in(state: Snapshot, period: Period | None) -> pd.DataFrame:
    return _cases_ended_in(state.cases, period, status="completed")


def cancelled_in(state: Snapshot, period: Period | None) -> pd.DataFrame:
    return _cases_ended_in(state.cases, period, status="cancelled")


def _cases_ended_in(cases: pd.DataFrame, period: Period | None, *, status: str) -> pd.DataFrame:
    """The cases that ended with `status` within the period: one mask, one copy."""
    keep = _with_status(cases, status)
    if period is not None:
        keep &= _between(cases["ended_ns"], period)
    return cases[keep]


def active_at(state: Snapshot) -> pd.DataFrame:
    """The cases running at the as-of (started, neither completed nor cancelled by it)."""
    return state.cases[_with_status(state.cases, "active")]


def cases_counted(state: Snapshot, period: Period | None) -> pd.DataFrame:
    """The cases a period counts: started or ended in it, or active at the as-of."""
    cases = state.cases
    if period is None:
        return cases
    return cases[_between(cases["started_ns"], period) | _between(cases["ended_ns"], period)
                 | _with_status(cases, "active")]


def over_target(visits: pd.DataFrame) -> pd.Series:
    """Measured visits that went over their target (the complement of within, among those
    with a target)."""
    return visits["measured"] & visits["has_target"] & ~visits["within_target"]


def late_cases(state: Snapshot) -> np.ndarray:
    """Ids of the cases late at the as-of: a visit ended over its target, or one open past
    it (an overdue item)."""
    ended_over = state.ended.loc[over_target(state.ended), "case_id"]
    overdue = state.items.loc[state.items["sla_state"] == "overdue", "case_id"]
    return pd.concat([ended_over, overdue]).unique()


def held_by(items: pd.DataFrame, *, roles: Sequence[str],
            unit_id: int | None | pd.Series) -> pd.Series:
    """The pending items a person of these roles and this unit holds: those of the roles,
    and of a multi-unit step only the person's unit's. `unit_id` may be a column aligned with
    `items` (one person per row)."""
    own_unit = -1 if unit_id is None else unit_id
    return items["role"].astype(str).isin(list(roles)) & (
        ~items["multi_unit"] | (items["unit_id"] == own_unit))


def returned_cases(state: Snapshot) -> np.ndarray:
    """Ids of the cases with at least one return by the as-of."""
    return state.ended.loc[state.ended["is_return"], "case_id"].unique()


# --- the rates, each defined here once ---------------------------------------------------------


def rate(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


# What visit_figures reads of a visit, besides the columns it groups by.
FIGURE_COLUMNS = ("has_target", "within_target", "is_return", "is_decision", "measured",
                  "overrun", "duration")


def visit_figures(visits: pd.DataFrame, *, by: Sequence[str] = (),
                  durations: bool = True) -> pd.DataFrame:
    """Per group of measured visits: how many, how many with a target and within it,
    compliance, returns and decisions and the return rate, overrun, and (unless `durations`
    is false: the counts alone are what most figures need, and the quantiles cost most)
    median, p90 and mean durations. Without `by`, one row for all."""
    flags = pd.DataFrame({
        "with_target": visits["has_target"].to_numpy(),
        "within": visits["within_target"].to_numpy(),
        "returns": visits["is_return"].to_numpy(), "decisions": visits["is_decision"].to_numpy(),
        "over": over_target(visits).to_numpy(), "overrun": visits["overrun"].to_numpy(),
    }, index=visits.index)
    keys: Any = [visits[key] for key in by] if by else np.zeros(len(visits), dtype=np.int8)
    grouped = flags.groupby(keys, observed=True, sort=True)
    table = grouped.sum()  # every column in one pass
    table.insert(0, "visits", grouped.size())
    if durations:
        duration = visits["duration"].groupby(keys, observed=True, sort=True)
        table["median"] = duration.median()
        table["p90"] = duration.quantile(0.9)
        table["mean"] = duration.mean()
    return _with_rates(table, by=by, durations=durations)


def _with_rates(table: pd.DataFrame, *, by: Sequence[str], durations: bool) -> pd.DataFrame:
    """visit_figures' table from its counts per group (indexed by the groups): the rates."""
    if not by and table.empty:
        table = pd.DataFrame({"visits": [0], "with_target": [0], "within": [0], "returns": [0],
                              "decisions": [0], "over": [0], "overrun": [0.0],
                              **({"median": [np.nan], "p90": [np.nan], "mean": [np.nan]}
                                 if durations else {})})
    count_columns = ["visits", "with_target", "within", "returns", "decisions", "over"]
    table[count_columns] = table[count_columns].astype(np.int64)
    table["overrun"] = table["overrun"].astype(np.float64)
    table["compliance"] = _rates(table["within"], table["with_target"])
    table["return_rate"] = _rates(table["returns"], table["decisions"])
    return table.reset_index(drop=not by)


def _rates(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).astype("float64")


# --- the same counts, summed per month -----------------------------------------------------------

# What the month sums are kept by, and what they keep: visit_figures' counts, which add up.
SUM_KEYS = ("month", "sop_code", "seq", "unit_id")
_SUMMED = ["visits", "with_target", "within", "returns", "decisions", "over", "overrun"]
_LAST = np.iinfo(np.int64).max
# Rows grouped at a time: the measured visits' columns copied whole would add 0.4 GB to the
# app's peak at ten million events, a million rows at a time 157 MB, this many 40 MB (the
# same 2 s in all), while a page may run beside it on the app's warming thread.
_SUM_CHUNK_ROWS = 1 << 18


def month_sums(ended: pd.DataFrame) -> pd.DataFrame:
    """visit_figures' counts (no rates) of the measured visits among `ended`, per WIB month of
    their end (calendar.wib_months), SOP, step and unit, ordered by those."""
    columns = [*FIGURE_COLUMNS, "ended_ns", "sop_code", "seq", "unit_id"]
    parts = []
    for first in range(0, max(len(ended), 1), _SUM_CHUNK_ROWS):
        chunk = ended.iloc[first:first + _SUM_CHUNK_ROWS]
        chunk = chunk.loc[chunk["measured"].to_numpy(dtype=bool), columns]
        chunk = chunk.assign(month=wib_months(chunk["ended_ns"].to_numpy()))
        parts.append(visit_figures(chunk, by=SUM_KEYS, durations=False)[[*SUM_KEYS, *_SUMMED]])
    if len(parts) == 1:
        return parts[0]
    joined = pd.concat(parts, ignore_index=True)  # a month across two chunks: added up
    return joined.groupby(list(SUM_KEYS), observed=True, sort=True)[_SUMMED].sum().reset_index()


def carry_month_sums(before: History, after: History, *, gone: pd.DataFrame,
                     came: pd.DataFrame) -> None:
    """Gives `after`, a history spliced from `before`, its month sums from `before`'s when
    `before` has made them. `gone` and `came` are the ended visits of the cases that changed,
    as they were and as they are: the months in which one of them that differs ended, before
    the change or after it, are summed again from `after`, the others kept. A step recorded
    now ends one visit, in this month: 0.03 s at ten million events, where a full sum takes
    2 s (eleventh machine)."""
    kept = before.__dict__.get("month_sums")
    if kept is None or kept["sop_code"].dtype != after.ended["sop_code"].dtype:
        return  # not made, or a new SOP's categories: made afresh when first asked for
    months = np.unique(wib_months(_ends_of_changed(gone, came)))
    ended = by_end(after.ended)
    rows = [np.arange(_ended_by(ended, wib_month_start_ns(month), side="left"),
                      _ended_by(ended, wib_month_start_ns(month + 1), side="left"))
            for month in months]
    fresh = month_sums(ended.iloc[np.concatenate([np.zeros(0, dtype=np.int64), *rows])])
    parts = [part for part in (kept[~kept["month"].isin(months)], fresh) if len(part)]
    sums = pd.concat(parts, ignore_index=True) if parts else fresh
    after.__dict__["month_sums"] = sums.sort_values(list(SUM_KEYS), kind="stable",
                                                    ignore_index=True)


# What a visit's place in the month sums depends on (its id: each visit counted once).
_SUM_SOURCE = ["visit_id", "ended_ns", "sop_code", "seq", "unit_id", "measured", "has_target",
               "within_target", "is_return", "is_decision", "overrun"]


def _ends_of_changed(gone: pd.DataFrame, came: pd.DataFrame) -> np.ndarray:
    """When the visits of `gone` not in `came`, and those of `came` not in `gone`, ended:
    compared by a hash of what the sums read of them."""
    old = pd.util.hash_pandas_object(gone[_SUM_SOURCE], index=False).to_numpy()
    new = pd.util.hash_pandas_object(came[_SUM_SOURCE], index=False).to_numpy()
    return np.concatenate([gone["ended_ns"].to_numpy()[~np.isin(old, new)],
                           came["ended_ns"].to_numpy()[~np.isin(new, old)]])


@dataclass(frozen=True)
class MonthSums:
    """What a state's history's month sums hold of the state's ended visits. Those that ended
    in [since_ns, until_ns) are the history's own (a past snapshot leaves out the visits
    ended after its instant, ended_since those before its start), narrowed as the state is
    (scope: some SOPs, then a unit). So the figures of a period of whole WIB months in that
    window are the sums of its months' rows: a few thousand rows, where grouping the visits
    read every visit of the period on every page run (two million in a year at ten million
    events)."""

    history: History
    since_ns: int = NAT
    until_ns: int = _LAST
    sop_codes: tuple[tuple[str, ...], ...] = ()
    unit_ids: tuple[int, ...] = ()

    def within(self, period: Period | None) -> pd.DataFrame | None:
        """The rows of the period's months (every month without a period), narrowed as the
        state is; None when the sums do not hold the period whole."""
        months = self._months(period)
        if months is None:
            return None
        table = self.history.month_sums
        keep = np.ones(len(table), dtype=bool)
        if period is not None:
            month = table["month"].to_numpy()
            keep &= (month >= months[0]) & (month < months[1])
        for codes in self.sop_codes:
            keep &= table["sop_code"].isin(codes).to_numpy()
        for unit_id in self.unit_ids:
            keep &= table["unit_id"].to_numpy() == unit_id
        return table[keep]

    def _months(self, period: Period | None) -> tuple[int, int] | None:
        """The period's first month and the month after it (both: every month), when it is
        whole months within [since_ns, until_ns); None otherwise."""
        if period is None:
            whole = (self.since_ns, self.until_ns) == (NAT, _LAST)
            return (NAT, _LAST) if whole else None
        start, end = ns(period[0]), ns(period[1])
        first, last = (int(month) for month in wib_months(np.array([start, end], dtype=np.int64)))
        whole = wib_month_start_ns(first) == start and wib_month_start_ns(last) == end
        return (first, last) if whole and self.since_ns <= start and end <= self.until_ns \
            else None


def _summed(rows: pd.DataFrame, *, by: Sequence[str]) -> pd.DataFrame:
    keys: Any = [rows[key] for key in by] if by else np.zeros(len(rows), dtype=np.int8)
    return _with_rates(rows[_SUMMED].groupby(keys, observed=True, sort=True).sum(), by=by,
                       durations=False)


def _sums_of(state: Snapshot, period: Period | None, by: Sequence[str]) -> pd.DataFrame | None:
    """The state's month sums of the period, when they hold it whole and `by` is among their
    keys (not the month, which the caller groups by itself)."""
    if state.sums is None or not set(by) <= set(SUM_KEYS) - {"month"}:
        return None
    return state.sums.within(period)


def ended_figures(state: Snapshot, period: Period | None, *,
                  by: Sequence[str] = ()) -> pd.DataFrame:
    """`visit_figures(ended_in(state, period), by=by, durations=False)`: from the state's month
    sums when they hold the period whole (MonthSums), from the visits otherwise (a range of
    days, a window cut by ended_since)."""
    rows = _sums_of(state, period, by)
    if rows is None:
        return visit_figures(ended_in(state, period, columns=(*FIGURE_COLUMNS, *by)), by=by,
                             durations=False)
    return _summed(rows, by=by)


def ended_figures_by_month(state: Snapshot, months: Sequence[PeriodChoice], *,
                           by: Sequence[str] = ()) -> pd.DataFrame:
    """ended_figures of these consecutive months at once, by `month` (a category of the
    months' texts, "2026-07") and then `by`: a visit counts in the month it ended in."""
    bounds = (months[0].bounds()[0], months[-1].bounds()[1])
    texts = [choice.text for choice in months]
    rows = _sums_of(state, bounds, by)
    if rows is not None:
        first = wib_months(np.array([ns(bounds[0])], dtype=np.int64))[0]
        return _summed(rows.assign(month=pd.Categorical.from_codes(
            rows["month"].to_numpy() - first, categories=texts)), by=["month", *by])
    # Found by where each falls among the months' starts, as a number, with no date or text
    # per row.
    ended = ended_in(state, bounds, columns=(*FIGURE_COLUMNS, "ended_ns", *by))
    starts = np.array([ns(choice.bounds()[0]) for choice in months], dtype=np.int64)
    which = np.searchsorted(starts, ended["ended_ns"].to_numpy(), side="right") - 1
    return visit_figures(ended.assign(month=pd.Categorical.from_codes(which, categories=texts)),
                         by=["month", *by], durations=False)


def case_figures(cases: pd.DataFrame, *, returned: np.ndarray,
                 by: Sequence[str] = ()) -> pd.DataFrame:
    """Per group of completed cases: how many, how many revised (a return before they
    completed) and the revision rate, lead time median and p90."""
    frame = cases.assign(_revised=cases["case_id"].isin(returned))
    keys: Any = list(by) if by else np.zeros(len(frame), dtype=np.int8)
    grouped = frame.groupby(keys, observed=True, sort=True)
    table = pd.DataFrame({
        "completed": grouped.size(), "revised": grouped["_revised"].sum(),
        "lead_median": grouped["lead_time"].median(),
        "lead_p90": grouped["lead_time"].quantile(0.9),
    })
    if not by and table.empty:
        table = pd.DataFrame({"completed": [0], "revised": [0], "lead_median": [np.nan],
                              "lead_p90": [np.nan]})
    table[["completed", "revised"]] = table[["completed", "revised"]].astype(np.int64)
    table["revision_rate"] = _rates(table["revised"], table["completed"])
    return table.reset_index(drop=not by)


def item_figures(items: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per group of pending items: how many in each SLA state, and in all."""
    counts = pd.DataFrame({state: (items["sla_state"] == state).to_numpy()
                           for state in SLA_STATES}, index=items.index).astype(np.int64)
    if by:
        table = counts.groupby([items[key] for key in by], observed=True, sort=True).sum()
    else:
        table = counts.sum().to_frame().T
    table["total"] = table[list(SLA_STATES)].sum(axis=1)
    return table.reset_index(drop=not by)


# --- the metrics of a period --------------------------------------------------------------------


@dataclass(frozen=True)
class StepMetrics:
    seq: int
    label: str
    role: str
    target_minutes: int | None
    is_decision: bool
    visits_ended: int
    visits_with_target: int
    duration_median: float | None
    duration_p90: float | None
    duration_mean: float | None
    within_target: int
    compliance_rate: float | None
    returns: int
    decisions: int
    return_rate: float | None
    overrun_minutes: float
    open_visits: int


@dataclass(frozen=True)
class Totals:
    """The figures of a set of SOPs together (the dashboard's tiles, a report's summary)."""

    cases_total: int
    cases_active: int
    cases_completed: int
    cases_cancelled: int
    cases_revised: int
    visits_ended: int
    visits_with_target: int
    within_target: int
    compliance_rate: float | None
    returns: int
    decisions: int
    return_rate: float | None
    revision_rate: float | None
    lead_time_median: float | None
    lead_time_p90: float | None
    pending: int
    overdue: int
    at_risk: int


@dataclass(frozen=True)
class SopMetrics:
    code: str
    name: str
    totals: Totals
    steps: tuple[StepMetrics, ...]


@dataclass(frozen=True)
class PendingItem:
    case_id: str
    case_pk: int
    visit_id: int
    sop_code: str
    seq: int
    label: str
    role: str
    unit: str | None  # the outstanding unit of a multi-unit step
    available_at: datetime
    age_minutes: float
    target_minutes: float | None
    sla_state: str


@dataclass(frozen=True)
class Metrics:
    as_of: datetime
    period: Period | None
    totals: Totals
    sops: tuple[SopMetrics, ...]
    pending: tuple[PendingItem, ...]
    state: Snapshot


def _number(value: Any, *, digits: int = 2) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)


def _rounded_rate(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)


def totals(state: Snapshot, period: Period | None, *,
           measured: pd.DataFrame | None = None) -> Totals:
    """The figures of everything in `state` (narrow it first with `scope`) for a period.
    `measured`: `ended_in(state, period)`, when the caller has it already (it copies the
    650,000 visits of a million events)."""
    return _totals_of(_totals_table(state, period, by=(), measured=measured).iloc[0])


def totals_per_sop(state: Snapshot, period: Period | None, *,
                   measured: pd.DataFrame | None = None) -> dict[str, Totals]:
    """`totals(scope(state, sop_codes=(code,)), period)` for every SOP of the catalog, from
    one grouped pass over each frame: narrowing to each SOP first copied the 650,000 visits
    of a million events once per SOP. `measured` as in `totals`."""
    table = _totals_table(state, period, by=("sop_code",), measured=measured)
    return {code: _totals_of(table.loc[code]) for code in state.catalog}


def _totals_table(state: Snapshot, period: Period | None, *, by: tuple[str, ...],
                  measured: pd.DataFrame | None) -> pd.DataFrame:
    """The columns of `Totals` (unrounded) per group of `by` (one row, index 0, without it);
    with `by`, a row for every group of the catalog's SOPs, empty groups as zeros."""
    def indexed(table: pd.DataFrame) -> pd.DataFrame:
        if not by:
            return table
        table = table.set_index(list(by))
        table.index = table.index.astype(str)  # each frame's categories may differ
        return table

    def count(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        if not by:
            return pd.DataFrame({name: [len(frame)]})
        return indexed(frame.groupby(list(by), observed=True).size().rename(name).reset_index())

    ended = indexed(ended_figures(state, period, by=by) if measured is None
                    else visit_figures(measured, by=by, durations=False))
    done = indexed(case_figures(completed_in(state, period), returned=returned_cases(state),
                                by=by))
    pending = indexed(item_figures(state.items, by=by))
    table = pd.concat([
        count(cases_counted(state, period), "cases_total"),
        count(active_at(state), "cases_active"),
        count(cancelled_in(state, period), "cases_cancelled"),
        ended[["visits", "with_target", "within", "compliance", "returns", "decisions",
               "return_rate"]],
        done[["completed", "revised", "revision_rate", "lead_median", "lead_p90"]],
        pending[["total", "overdue", "at_risk"]],
    ], axis=1)
    if by:
        table = table.reindex(list(state.catalog))
    counts = ["cases_total", "cases_active", "cases_cancelled", "visits", "with_target",
              "within", "returns", "decisions", "completed", "revised", "total", "overdue",
              "at_risk"]
    table[counts] = table[counts].fillna(0).astype(np.int64)
    return table


def _totals_of(row: pd.Series) -> Totals:
    return Totals(
        cases_total=int(row["cases_total"]), cases_active=int(row["cases_active"]),
        cases_completed=int(row["completed"]), cases_cancelled=int(row["cases_cancelled"]),
        cases_revised=int(row["revised"]), visits_ended=int(row["visits"]),
        visits_with_target=int(row["with_target"]), within_target=int(row["within"]),
        compliance_rate=_rounded_rate(row["compliance"]), returns=int(row["returns"]),
        decisions=int(row["decisions"]), return_rate=_rounded_rate(row["return_rate"]),
        revision_rate=_rounded_rate(row["revision_rate"]),
        lead_time_median=_number(row["lead_median"]), lead_time_p90=_number(row["lead_p90"]),
        pending=int(row["total"]), overdue=int(row["overdue"]), at_risk=int(row["at_risk"]),
    )


def scope(state: Snapshot, *, sop_codes: Sequence[str] | None = None,
          unit_id: int | None = None) -> Snapshot:
    """The state narrowed to some SOPs, and to a unit: the visits its people performed (or of
    its cases), its pending items, and the cases it took part in."""
    ended, open_visits, items, cases = state.ended, state.open, state.items, state.cases
    catalog = state.catalog
    if sop_codes:
        ended = _rows_of(ended, ended["sop_code"].isin(sop_codes).to_numpy())
        open_visits = open_visits[open_visits["sop_code"].isin(sop_codes)]
        items = items[items["sop_code"].isin(sop_codes)]
        cases = cases[cases["sop_code"].isin(sop_codes)]
        catalog = {code: sop for code, sop in catalog.items() if code in sop_codes}
    if unit_id is not None:
        ended = _rows_of(ended, (ended["unit_id"] == unit_id).to_numpy())
        items = items[items["unit_id"] == unit_id]
        open_visits = open_visits[open_visits["visit_id"].isin(items["visit_id"])]
        took_part = pd.concat([ended["case_id"], open_visits["case_id"]]).unique()
        cases = cases[cases["case_id"].isin(took_part) | (cases["unit_id"] == unit_id)]
    sums = state.sums
    if sums is not None:
        sums = replace(sums, sop_codes=(*sums.sop_codes, tuple(sop_codes)) if sop_codes
                       else sums.sop_codes,
                       unit_ids=sums.unit_ids if unit_id is None else (*sums.unit_ids, unit_id))
    return replace(state, ended=ended, open=open_visits, items=items, cases=cases,
                   catalog=catalog, sums=sums)


def ended_since(state: Snapshot, since: datetime) -> Snapshot:
    """The state with only the visits that ended at `since` or later (the open visits, items
    and cases as they are): for a page whose figures read only visits ended within a window.
    A slice of the rows as kept, so no copy: narrowing it further (scope) then copies the
    window's visits, not every visit since the first."""
    ended = by_end(state.ended)  # as kept (and as scope keeps it): no copy
    sums = state.sums
    if sums is not None:
        sums = replace(sums, since_ns=max(sums.since_ns, ns(since)))
    return replace(state, ended=_rows_of(ended, slice(_ended_by(ended, ns(since),
                                                                side="left"), None)),
                   sums=sums)


def metrics_of(state: Snapshot, *, period: Period | None = None,
               case_refs: dict[int, str] | None = None,
               unit_names: dict[int, str] | None = None) -> Metrics:
    """The metrics of a period from the state at its as-of (the one definition)."""
    ended = ended_in(state, period)
    per_step = visit_figures(ended, by=["sop_code", "seq"]).set_index(["sop_code", "seq"])
    open_per_step = state.open.groupby([state.open["sop_code"].astype(str), "seq"]).size()
    sops = []
    sop_totals = totals_per_sop(state, period, measured=ended)
    for code, sop in state.catalog.items():
        steps = []
        for step in sop.steps:
            row = per_step.loc[(code, step.seq)] if (code, step.seq) in per_step.index else None

            def count(column: str, row: Any = row) -> int:
                return 0 if row is None else int(row[column])

            def value(column: str, row: Any = row) -> float | None:
                return None if row is None else _number(row[column])

            steps.append(StepMetrics(
                seq=step.seq, label=step.label, role=step.role,
                target_minutes=step.target_minutes, is_decision=step.is_decision,
                visits_ended=count("visits"), visits_with_target=count("with_target"),
                duration_median=value("median"), duration_p90=value("p90"),
                duration_mean=value("mean"), within_target=count("within"),
                compliance_rate=None if row is None else _rounded_rate(row["compliance"]),
                returns=count("returns"), decisions=count("decisions"),
                return_rate=None if row is None else _rounded_rate(row["return_rate"]),
                overrun_minutes=value("overrun") or 0.0,
                open_visits=int(open_per_step.get((code, step.seq), 0)),
            ))
        sops.append(SopMetrics(code=code, name=sop.name, totals=sop_totals[code],
                               steps=tuple(steps)))
    pending = pending_items(state.items, catalog=state.catalog, case_refs=case_refs or {},
                            unit_names=unit_names or {})
    return Metrics(as_of=state.as_of, period=period, totals=totals(state, period, measured=ended),
                   sops=tuple(sops), pending=pending, state=state)


def pending_items(items: pd.DataFrame, *, catalog: Catalog, case_refs: Mapping[int, str],
                  unit_names: Mapping[int, str]) -> tuple[PendingItem, ...]:
    """These rows of Snapshot.items as PendingItems, in their order."""
    available = pd.to_datetime(items["available_ns"], utc=True)
    return tuple(
        PendingItem(
            case_id=case_refs.get(int(case_pk), str(int(case_pk))), case_pk=int(case_pk),
            visit_id=int(visit_id), sop_code=str(code), seq=int(seq),
            label=catalog[str(code)].labels.get(int(seq), str(seq))
            if str(code) in catalog else str(seq),
            role=str(role), unit=unit_names.get(int(unit_id)) if multi else None,
            available_at=at.to_pydatetime(), age_minutes=round(float(age), 2),
            target_minutes=None if np.isnan(target) else round(float(target), 2),
            sla_state=str(sla),
        )
        for case_pk, visit_id, code, seq, role, unit_id, multi, at, age, target, sla in zip(
            items["case_id"], items["visit_id"], items["sop_code"], items["seq"], items["role"],
            items["unit_id"], items["multi_unit"], available, items["duration"],
            items["target"], items["sla_state"], strict=True)
    )


def case_refs(session: Session, case_ids: Sequence[int]) -> dict[int, str]:
    return {case_id: ref for case_id, ref in rows_where_in(
        session, select(Case.id, Case.ref), Case.id, [int(i) for i in case_ids])}


def unit_names(session: Session) -> dict[int, str]:
    return _names(session, Unit, "name")


def compute_metrics(session: Session, *, as_of: datetime | None = None,
                    period: Period | None = None, sop_codes: Sequence[str] | None = None,
                    history: History | None = None) -> Metrics:
    """The metrics at `as_of` (default now) for a period (default: everything by as_of)."""
    as_of = resolve_as_of(session, as_of)
    history = history or read_history(session)
    state = scope(snapshot(history, as_of=as_of), sop_codes=sop_codes)
    return metrics_of(state, period=period,
                      case_refs=case_refs(session, state.items["case_id"].unique()),
                      unit_names=unit_names(session))


def period_metrics(session: Session, *, period: PeriodChoice, now: datetime,
                   history: History | None = None) -> Metrics:
    """The metrics of a reporting period, at its as-of: the same for the pages, the report
    files and the command line."""
    return compute_metrics(session, as_of=period_as_of(period, now=now), period=period.bounds(),
                           history=history)


def pending_state(session: Session, *, as_of: datetime | None = None) -> Snapshot:
    """The state at as_of (default now) of what is running (its pending items), reading
    only that."""
    return snapshot(read_history(session, running_only=True),
                    as_of=resolve_as_of(session, as_of))


# --- the JSON document ---------------------------------------------------------------------------


def _totals_json(figures: Totals) -> dict[str, Any]:
    return {
        "cases": {"total": figures.cases_total, "active": figures.cases_active,
                  "completed": figures.cases_completed, "cancelled": figures.cases_cancelled},
        "compliance_rate": figures.compliance_rate,
        "returns": figures.returns,
        "return_rate": figures.return_rate,
        "revision_rate": figures.revision_rate,
        "lead_time_minutes": {"median": figures.lead_time_median, "p90": figures.lead_time_p90},
        "pending": {"total": figures.pending, "overdue": figures.overdue,
                    "at_risk": figures.at_risk},
    }


def metrics_json(metrics: Metrics, *, period: PeriodChoice | None = None) -> dict[str, Any]:
    """The `manage.py metrics --json` document."""
    document: dict[str, Any] = {"as_of": metrics.as_of.astimezone(WIB).isoformat()}
    if period is not None:
        document["period"] = {"text": period.text, "label": period.label,
                              "start": period.bounds()[0].astimezone(WIB).isoformat(),
                              "end": period.bounds()[1].astimezone(WIB).isoformat()}
    document["totals"] = _totals_json(metrics.totals)
    document["sops"] = [
        {
            "code": sop.code,
            **_totals_json(sop.totals),
            "steps": [
                {
                    "seq": step.seq, "label": step.label, "role": step.role,
                    "target_minutes": step.target_minutes,
                    "visits_ended": step.visits_ended,
                    "duration_minutes": {"median": step.duration_median,
                                         "p90": step.duration_p90, "mean": step.duration_mean},
                    "within_target": step.within_target, "returns": step.returns,
                    "overrun_minutes": step.overrun_minutes, "open_visits": step.open_visits,
                }
                for step in sop.steps
            ],
        }
        for sop in metrics.sops
    ]
    document["pending"] = [
        {
            "case_id": item.case_id, "sop_code": item.sop_code, "seq": item.seq,
            "label": item.label, "role": item.role, "unit": item.unit,
            "available_at": item.available_at.astimezone(WIB).isoformat(),
            "age_minutes": item.age_minutes, "target_minutes": item.target_minutes,
            "sla_state": item.sla_state,
        }
        for item in metrics.pending
    ]
    return document


# --- the data version ----------------------------------------------------------------------------


def data_version(session: Session) -> tuple[Any, ...]:
    """A stamp that changes whenever a figure could: any event (every write records one), the
    catalog, the working calendar, the users' units. Cheap enough to read on every page run,
    so a step recorded in any app process shows on the next rerun everywhere."""
    row = session.execute(select(
        select(func.max(Event.id)).scalar_subquery(),
        select(func.max(SopVersion.id)).scalar_subquery(),
        select(func.count()).select_from(HolidayOverride).scalar_subquery(),
        select(func.max(HolidayOverride.created_at)).scalar_subquery(),
        select(func.count()).select_from(RamadanPeriod).scalar_subquery(),
        select(func.max(RamadanPeriod.id)).scalar_subquery(),
        select(func.sum(WorkHours.start_minute + 3 * WorkHours.break_start_minute
                        + 5 * WorkHours.break_end_minute + 7 * WorkHours.end_minute
                        + 11 * WorkHours.weekday)).scalar_subquery(),
        select(func.count()).select_from(WorkHours).scalar_subquery(),
        select(func.max(User.id)).scalar_subquery(),
        select(func.sum(func.coalesce(User.unit_id, 0) * User.id)).scalar_subquery(),
        select(func.count()).select_from(Unit).scalar_subquery(),
    )).one()
    return tuple(row)
