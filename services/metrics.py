"""The figures of Pantau SOP (DESIGN section 7), defined once.

Everything starts from one frame with a row per visit (`visit_frame`): when it became
available, began and ended, its outcome and its target, all instants as int64 nanoseconds
computed in SQL, then working-time durations for every visit in one vectorised call of the
working clock. Every other figure (per step, per SOP, pending items, and the dashboards'
breakdowns) is an aggregation of that frame; `manage.py metrics --json` and the pages call
these functions, never a second calculation.

Definitions:
- duration = working minutes from available to ended (for an open visit: to the as-of time,
  its age); a visit closed by a cancelled case is not measured;
- target = the step's Mutu Baku in working minutes, or for a "Sesuai jadwal" step the working
  minutes from available to the case's due date; within target = duration <= target;
  overrun = max(0, duration - target); every ended visit counts, whatever its outcome;
- SLA state of an open visit: on_time (age < 80% of target), at_risk (80% <= age <= target),
  overdue (age > target), no_target;
- compliance rate = ended visits within target / ended visits with a target;
- revision rate = completed cases with at least one return / completed cases;
- lead time = working minutes from the case's start to its completion;
- medians and p90 use linear interpolation; empty sets give None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from db.models import Case, Role, Sop, SopVersion, Step, Unit, User, Visit, VisitUnit
from services.calendar import WorkingCalendar, load_calendar_settings
from services.clock import utcnow
from services.errors import InvalidInput
from services.formatting import format_wib

SLA_STATES = ("overdue", "at_risk", "on_time", "no_target")
AT_RISK_SHARE = 0.8
_NAT = np.iinfo(np.int64).min

Period = tuple[datetime, datetime]


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


def _ns(value: datetime) -> int:
    return int(pd.Timestamp(value).as_unit("ns").value)


# --- the visit frame ---------------------------------------------------------------------------


def last_event_at(session: Session) -> datetime | None:
    """The latest recorded work (corrections, recorded later about earlier work, excluded)."""
    return session.scalar(select(func.max(Case.last_event_at)))


def resolve_as_of(session: Session, as_of: datetime | None) -> datetime:
    """The as-of time: now by default; never before the last recorded event."""
    last = last_event_at(session)
    if as_of is None:
        now = utcnow()
        return max(now, last) if last is not None else now
    if as_of.tzinfo is None:
        raise InvalidInput("Waktu as-of harus menyebut zona waktunya.")
    if last is not None and as_of < last:
        raise InvalidInput(f"Waktu as-of {format_wib(as_of)} lebih awal dari kejadian terakhir "
                           f"({format_wib(last)}); angka pada waktu itu akan keliru.")
    return as_of


OUTCOMES = ("", "complete", "approve", "return", "closed")  # index = code in the frame query
CASE_STATUSES = ("active", "completed", "cancelled")


def _ns_or_nat(column: Any) -> Any:
    return func.coalesce(epoch_ns(column), _NAT)


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


def visit_frame(session: Session, *, as_of: datetime, calendar: WorkingCalendar,
                cases: pd.DataFrame, where: Any = None) -> pd.DataFrame:
    """One row per visit of the given cases (see case_frame), with its working-time duration
    (or age), target and SLA state. `where` narrows the visits read (e.g. open ones only)."""
    query = select(
        Visit.id, Visit.case_id, Visit.seq, Visit.pass_no, Visit.role_id,
        func.coalesce(Visit.performer_user_id, -1), _ns_or_nat(Visit.available_at),
        _ns_or_nat(Visit.begun_at), _ns_or_nat(Visit.ended_at), _code_of(Visit.outcome, OUTCOMES),
        func.coalesce(Visit.target_minutes, -1), _ns_or_nat(Visit.due_at),
    )
    if where is not None:
        query = query.where(where)
    frame = _int_matrix(session, query, [
        "visit_id", "case_id", "seq", "pass_no", "role_id", "performer_user_id", "available_ns",
        "begun_ns", "ended_ns", "outcome_code", "target_code", "due_ns"])
    # The SOP and unit of each visit come from its case (a lookup by position, no SQL join).
    order = np.argsort(cases["case_id"].to_numpy())
    sorted_ids = cases["case_id"].to_numpy()[order]
    position = np.searchsorted(sorted_ids, frame["case_id"].to_numpy())
    known = (position < len(sorted_ids)) & (
        sorted_ids[np.minimum(position, max(len(sorted_ids) - 1, 0))] == frame["case_id"].to_numpy()
        if len(sorted_ids) else np.zeros(len(frame), dtype=bool))
    frame = frame[known]
    rows = order[position[known]]
    frame = frame.assign(
        sop_code=cases["sop_code"].to_numpy()[rows],
        case_unit_id=cases["unit_id"].to_numpy()[rows],
    )
    user_units = {user_id: unit_id for user_id, unit_id in session.execute(
        select(User.id, User.unit_id).where(User.unit_id.is_not(None)))}
    performer_unit = frame["performer_user_id"].map(user_units).fillna(-1).astype(np.int64)
    frame["unit_id"] = np.where(performer_unit >= 0, performer_unit, frame["case_unit_id"])
    roles = _names(session, Role, "name")
    frame["role"] = frame["role_id"].map(roles).astype("category")
    frame["outcome"] = pd.Categorical.from_codes(frame["outcome_code"].to_numpy(),
                                                 categories=list(OUTCOMES))
    return _derive(frame, as_of=as_of, calendar=calendar)


def sla_codes(age: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Index into SLA_STATES of open work of this age against this target (NaN: none)."""
    limit = np.nan_to_num(target)
    return np.select([np.isnan(target), age < AT_RISK_SHARE * limit, age <= limit],
                     [3, 2, 1], default=0)


def _derive(frame: pd.DataFrame, *, as_of: datetime, calendar: WorkingCalendar) -> pd.DataFrame:
    available = frame["available_ns"].to_numpy()
    ended = frame["ended_ns"].to_numpy()
    due = frame["due_ns"].to_numpy()
    is_open = ended == _NAT
    end_or_now = np.where(is_open, _ns(as_of), ended)
    # One call of the clock for every instant that matters.
    clock = calendar.clock(np.concatenate([available, end_or_now, np.where(due == _NAT, available, due)]))
    n = len(frame)
    w_available, w_end, w_due = clock[:n], clock[n:2 * n], clock[2 * n:]
    duration = np.maximum(w_end - w_available, 0.0)
    target_code = frame["target_code"].to_numpy()
    target = np.where(target_code >= 0, target_code, np.nan).astype(np.float64)
    scheduled = due != _NAT
    target = np.where(scheduled, np.maximum(w_due - w_available, 0.0), target)
    has_target = ~np.isnan(target)
    outcome = frame["outcome_code"].to_numpy()
    measured = ~is_open & (outcome != OUTCOMES.index("closed"))
    within = measured & has_target & (duration <= np.where(has_target, target, 0) + 1e-9)
    overrun = np.where(measured & has_target, np.maximum(duration - np.nan_to_num(target), 0), 0.0)
    sla_code = np.where(is_open, sla_codes(duration, target), -1)
    sla = pd.Categorical.from_codes(sla_code, categories=list(SLA_STATES))
    return frame.assign(
        is_open=is_open, measured=measured, duration=duration, target=target,
        has_target=has_target, within_target=within, overrun=overrun, sla_state=sla,
        is_return=outcome == OUTCOMES.index("return"),
    )


def in_period(frame: pd.DataFrame, period: Period | None) -> pd.Series:
    """Visits a period selects: ended in [start, end); open visits always (as of now)."""
    if period is None:
        return pd.Series(True, index=frame.index)
    start, end = _ns(period[0]), _ns(period[1])
    ended = frame["ended_ns"]
    return frame["is_open"] | ((ended >= start) & (ended < end))


def case_frame(session: Session, *, calendar: WorkingCalendar,
               sop_codes: Sequence[str] | None = None, where: Any = None) -> pd.DataFrame:
    query = (
        select(Case.id, SopVersion.sop_id, _code_of(Case.status, CASE_STATUSES),
               func.coalesce(Case.unit_id, -1), _ns_or_nat(Case.started_at),
               _ns_or_nat(Case.ended_at))
        .join(SopVersion, Case.sop_version_id == SopVersion.id)
    )
    sops = _names(session, Sop, "code")
    if sop_codes is not None:
        query = query.where(SopVersion.sop_id.in_([i for i, c in sops.items() if c in sop_codes]))
    if where is not None:
        query = query.where(where)
    frame = _int_matrix(session, query, ["case_id", "sop_id", "status_code", "unit_id",
                                         "started_ns", "ended_ns"])
    frame["sop_code"] = pd.Categorical(frame["sop_id"].map(sops), categories=list(sops.values()))
    frame["status"] = pd.Categorical.from_codes(frame["status_code"].to_numpy(),
                                                categories=list(CASE_STATUSES))
    completed = (frame["status"] == "completed").to_numpy()
    lead = np.full(len(frame), np.nan)
    if completed.any():
        lead[completed] = calendar.working_minutes(frame["started_ns"].to_numpy()[completed],
                                                   frame["ended_ns"].to_numpy()[completed])
    return frame.assign(lead_time=lead)


# --- statistics ---------------------------------------------------------------------------------


def _stat(values: np.ndarray, kind: str) -> float | None:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    if kind == "mean":
        return round(float(values.mean()), 2)
    return round(float(np.percentile(values, 50 if kind == "median" else 90)), 2)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# --- the metrics of DESIGN section 7 ------------------------------------------------------------


@dataclass(frozen=True)
class StepMetrics:
    seq: int
    role: str
    target_minutes: int | None
    visits_ended: int
    visits_with_target: int
    duration_median: float | None
    duration_p90: float | None
    duration_mean: float | None
    within_target: int
    returns: int
    overrun_minutes: float
    open_visits: int


@dataclass(frozen=True)
class SopMetrics:
    code: str
    name: str
    cases_total: int
    cases_active: int
    cases_completed: int
    cases_cancelled: int
    cases_revised: int
    visits_with_target: int
    within_target: int
    compliance_rate: float | None
    returns: int
    revision_rate: float | None
    lead_time_median: float | None
    lead_time_p90: float | None
    steps: tuple[StepMetrics, ...]


@dataclass(frozen=True)
class PendingItem:
    case_id: str
    case_pk: int
    sop_code: str
    seq: int
    role: str
    available_at: datetime
    age_minutes: float
    target_minutes: float | None
    sla_state: str
    units_outstanding: tuple[str, ...]


@dataclass(frozen=True)
class Metrics:
    as_of: datetime
    sops: tuple[SopMetrics, ...]
    pending: tuple[PendingItem, ...]
    visits: pd.DataFrame
    cases: pd.DataFrame


def _catalog_steps(session: Session) -> dict[str, tuple[str, list[tuple[int, str, int | None]]]]:
    """Per SOP code: its name and, for its current version, (seq, role, target minutes)."""
    latest = (select(SopVersion.sop_id, func.max(SopVersion.version).label("version"))
              .group_by(SopVersion.sop_id).subquery())
    rows = session.execute(
        select(Sop.code, SopVersion.name, Step.seq, Role.name, Step.target_minutes)
        .join(SopVersion, SopVersion.sop_id == Sop.id)
        .join(latest, (latest.c.sop_id == SopVersion.sop_id) & (latest.c.version == SopVersion.version))
        .join(Step, Step.sop_version_id == SopVersion.id)
        .join(Role, Step.role_id == Role.id)
        .order_by(SopVersion.name, Step.seq)).all()
    catalog: dict[str, tuple[str, list[tuple[int, str, int | None]]]] = {}
    for code, name, seq, role, target in rows:
        catalog.setdefault(code, (name, []))[1].append((seq, role, target))
    return catalog


@dataclass(frozen=True)
class Frames:
    """What every figure is computed from: one row per visit and one per case."""

    visits: pd.DataFrame
    cases: pd.DataFrame
    catalog: dict[str, tuple[str, list[tuple[int, str, int | None]]]]


def history_frames(session: Session, *, calendar: WorkingCalendar) -> Frames:
    """Ended visits and all cases: nothing here depends on the as-of time, so it can be kept
    (per data version) while open visits are read fresh."""
    cases = case_frame(session, calendar=calendar)
    ended = visit_frame(session, as_of=utcnow(), calendar=calendar, cases=cases,
                        where=Visit.ended_at.is_not(None))
    return Frames(visits=ended, cases=cases, catalog=_catalog_steps(session))


def with_open_visits(session: Session, history: Frames, *, as_of: datetime,
                     calendar: WorkingCalendar) -> Frames:
    current = visit_frame(session, as_of=as_of, calendar=calendar, cases=history.cases,
                          where=Visit.ended_at.is_(None))
    visits = pd.concat([history.visits, current], ignore_index=True) if len(current) else \
        history.visits
    for column in ("sop_code", "role", "outcome", "sla_state"):
        visits[column] = visits[column].astype("category")
    return Frames(visits=visits, cases=history.cases, catalog=history.catalog)


def compute_metrics(session: Session, *, as_of: datetime | None = None,
                    period: Period | None = None, sop_codes: Sequence[str] | None = None,
                    calendar: WorkingCalendar | None = None) -> Metrics:
    as_of = resolve_as_of(session, as_of)
    calendar = calendar or WorkingCalendar(load_calendar_settings(session))
    frames = with_open_visits(session, history_frames(session, calendar=calendar), as_of=as_of,
                              calendar=calendar)
    return compute_from_frames(session, frames, as_of=as_of, period=period, sop_codes=sop_codes)


def compute_from_frames(session: Session, frames: Frames, *, as_of: datetime,
                        period: Period | None = None,
                        sop_codes: Sequence[str] | None = None) -> Metrics:
    """The metrics of DESIGN section 7 from prepared frames (the one definition)."""
    visits, cases = frames.visits, frames.cases
    if sop_codes is not None:
        visits = visits[visits["sop_code"].isin(sop_codes)]
        cases = cases[cases["sop_code"].isin(sop_codes)]
    visits = visits[in_period(visits, period)]
    codes = [code for code in frames.catalog if sop_codes is None or code in sop_codes]
    step_table = step_statistics(visits)
    sops = tuple(_sop_metrics(code, frames.catalog[code], visits, cases, period, step_table)
                 for code in codes)
    return Metrics(as_of=as_of, sops=sops, pending=pending_items(session, visits),
                   visits=visits, cases=cases)


def _cases_in_period(cases: pd.DataFrame, period: Period | None) -> pd.DataFrame:
    """Cases a period counts: started in it, or ended in it, or still active."""
    if period is None:
        return cases
    start, end = _ns(period[0]), _ns(period[1])
    started = (cases["started_ns"] >= start) & (cases["started_ns"] < end)
    ended = (cases["ended_ns"] >= start) & (cases["ended_ns"] < end)
    return cases[started | ended | (cases["status"] == "active")]


def step_statistics(visits: pd.DataFrame) -> pd.DataFrame:
    """Per (SOP, step): ended visits, those with a target, duration median/p90/mean, within target, returns,
    overrun, open visits. One grouping over all visits."""
    measured = visits[visits["measured"]]
    keys = [measured["sop_code"].astype(str), measured["seq"]]
    grouped = measured.groupby(keys, observed=True)
    table = pd.DataFrame({
        "ended": grouped.size(),
        "median": grouped["duration"].median(),
        "p90": grouped["duration"].quantile(0.9),
        "mean": grouped["duration"].mean(),
        "with_target": grouped["has_target"].sum(),
        "within": grouped["within_target"].sum(),
        "returns": grouped["is_return"].sum(),
        "overrun": grouped["overrun"].sum(),
    })
    open_visits = visits[visits["is_open"]]
    opened = open_visits.groupby([open_visits["sop_code"].astype(str), open_visits["seq"]],
                                 observed=True).size()
    table = table.join(opened.rename("open"), how="outer")
    table.index.names = ["sop_code", "seq"]
    return table


def _number(value: Any, *, digits: int = 2) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)


def _sop_metrics(code: str, catalog: tuple[str, list[tuple[int, str, int | None]]],
                 visits: pd.DataFrame, cases: pd.DataFrame, period: Period | None,
                 step_table: pd.DataFrame) -> SopMetrics:
    name, steps = catalog
    own = visits[visits["sop_code"] == code]
    own_cases = _cases_in_period(cases[cases["sop_code"] == code], period)
    measured = own[own["measured"]]
    with_target = int(measured["has_target"].sum())
    within = int(measured["within_target"].sum())
    completed = own_cases[own_cases["status"] == "completed"]
    if period is not None:
        start, end = _ns(period[0]), _ns(period[1])
        completed = completed[(completed["ended_ns"] >= start) & (completed["ended_ns"] < end)]
    revised = int(completed["case_id"].isin(own.loc[own["is_return"], "case_id"]).sum())
    lead = completed["lead_time"].to_numpy(dtype=np.float64)
    step_metrics = []
    for seq, role, target in steps:
        row = step_table.loc[(code, seq)] if (code, seq) in step_table.index else None

        def count(column: str, row: Any = row) -> int:
            return 0 if row is None or pd.isna(row[column]) else int(row[column])

        step_metrics.append(StepMetrics(
            seq=seq, role=role, target_minutes=target, visits_ended=count("ended"),
            visits_with_target=count("with_target"),
            duration_median=_number(row["median"]) if row is not None else None,
            duration_p90=_number(row["p90"]) if row is not None else None,
            duration_mean=_number(row["mean"]) if row is not None else None,
            within_target=count("within"), returns=count("returns"),
            overrun_minutes=_number(row["overrun"]) or 0.0 if row is not None else 0.0,
            open_visits=count("open"),
        ))
    return SopMetrics(
        code=code, name=name, cases_total=len(own_cases),
        cases_active=int((own_cases["status"] == "active").sum()),
        cases_completed=len(completed),
        cases_cancelled=int((own_cases["status"] == "cancelled").sum()),
        cases_revised=revised, visits_with_target=with_target, within_target=within,
        compliance_rate=_rate(within, with_target),
        returns=int(measured["is_return"].sum()),
        revision_rate=_rate(revised, len(completed)),
        lead_time_median=_stat(lead, "median"), lead_time_p90=_stat(lead, "p90"),
        steps=tuple(step_metrics),
    )


def open_visits(session: Session, *, as_of: datetime | None = None,
                calendar: WorkingCalendar | None = None) -> pd.DataFrame:
    """Only the open visits (of active cases), for the pages that list pending work."""
    as_of = resolve_as_of(session, as_of)
    calendar = calendar or WorkingCalendar(load_calendar_settings(session))
    cases = case_frame(session, calendar=calendar, where=Case.status == "active")
    return visit_frame(session, as_of=as_of, calendar=calendar, cases=cases,
                       where=Visit.ended_at.is_(None))


def open_unit_names(session: Session) -> dict[int, tuple[str, ...]]:
    """Per open multi-unit visit, the units that still have to submit."""
    outstanding: dict[int, list[str]] = {}
    for visit_id, unit in session.execute(
            select(VisitUnit.visit_id, Unit.name).join(Unit, VisitUnit.unit_id == Unit.id)
            .join(Visit, VisitUnit.visit_id == Visit.id)
            .where(Visit.ended_at.is_(None), VisitUnit.submitted_at.is_(None))
            .order_by(Unit.name)):
        outstanding.setdefault(visit_id, []).append(unit)
    return {visit_id: tuple(units) for visit_id, units in outstanding.items()}


def pending_items(session: Session, visits: pd.DataFrame) -> tuple[PendingItem, ...]:
    """Open visits, overdue and oldest first, with the units a multi-unit step still waits for."""
    open_visits = visits[visits["is_open"]]
    if open_visits.empty:
        return ()
    open_visits = open_visits.assign(sla_rank=open_visits["sla_state"].cat.codes).sort_values(
        ["sla_rank", "duration"], ascending=[True, False])
    case_ids = [int(i) for i in open_visits["case_id"].unique()]
    refs: dict[int, str] = {}
    for start in range(0, len(case_ids), 500):
        refs.update({id_: ref for id_, ref in session.execute(
            select(Case.id, Case.ref).where(Case.id.in_(case_ids[start:start + 500])))})
    outstanding = open_unit_names(session)
    available = pd.to_datetime(open_visits["available_ns"], utc=True)
    return tuple(
        PendingItem(
            case_id=refs[int(case_pk)], case_pk=int(case_pk), sop_code=str(code), seq=int(seq),
            role=str(role), available_at=at.to_pydatetime(), age_minutes=round(float(age), 2),
            target_minutes=None if np.isnan(target) else round(float(target), 2),
            sla_state=str(state), units_outstanding=outstanding.get(int(visit_id), ()),
        )
        for case_pk, code, seq, role, at, age, target, state, visit_id in zip(
            open_visits["case_id"], open_visits["sop_code"], open_visits["seq"],
            open_visits["role"], available, open_visits["duration"], open_visits["target"],
            open_visits["sla_state"], open_visits["visit_id"], strict=True)
    )


def metrics_json(metrics: Metrics) -> dict[str, Any]:
    """The `manage.py metrics --json` document (issue #3's contract)."""
    from services.formatting import WIB

    return {
        "as_of": metrics.as_of.astimezone(WIB).isoformat(),
        "sops": [
            {
                "code": sop.code,
                "cases": {"total": sop.cases_total, "active": sop.cases_active,
                          "completed": sop.cases_completed, "cancelled": sop.cases_cancelled},
                "compliance_rate": sop.compliance_rate,
                "returns": sop.returns,
                "revision_rate": sop.revision_rate,
                "lead_time_minutes": {"median": sop.lead_time_median, "p90": sop.lead_time_p90},
                "steps": [
                    {
                        "seq": step.seq, "role": step.role, "target_minutes": step.target_minutes,
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
        ],
        "pending": [
            {
                "case_id": item.case_id, "sop_code": item.sop_code, "seq": item.seq,
                "role": item.role, "available_at": item.available_at.astimezone(WIB).isoformat(),
                "age_minutes": item.age_minutes, "target_minutes": item.target_minutes,
                "sla_state": item.sla_state,
            }
            for item in metrics.pending
        ],
    }



def data_version(session: Session) -> tuple[Any, ...]:
    """A stamp that changes whenever a figure could: any event (every write records one), the
    catalog, the working calendar, the users' units. Cheap enough to read on every page run,
    so a step recorded in any app process shows on the next rerun everywhere."""
    from db.models import Event, HolidayOverride, RamadanPeriod, WorkHours

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
    )).one()
    return tuple(row)
