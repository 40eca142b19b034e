"""The rows behind a figure (docs/design.md, "Drill-down").

Every tile, bar, box, heat-map cell and ranking row of the dashboards opens the list of the
cases, step visits or pending items it counts. A `Drill` is what such a link carries, written
into the Kasus page's URL so that a list can be shared. `rows_behind` selects with the very
selections the figure was computed with (services.metrics: `scope`, `ended_in`,
`completed_in`, `cases_counted`, the pending items), so the count of the list is the figure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, Role, Unit, User, UserRole
from services import metrics
from services.cases import OUTCOME_LABELS, STATUS_LABELS, case_titles
from services.formatting import (
    SLA_LABELS,
    format_minutes,
    format_number,
    format_percent,
    format_wib,
)
from services.metrics import Snapshot
from services.periods import Period, PeriodChoice, read_period

VIEWS = {"kasus": "Kasus", "kunjungan": "Kunjungan langkah", "tugas": "Tugas tertunda"}
NO_UNIT = "-"  # the unit code of work that belongs to no unit
STATUSES = {
    "kasus": {"berjalan": "Berjalan", "selesai": "Selesai", "batal": "Dibatalkan"},
    "kunjungan": {"bertarget": "Punya Mutu Baku", "keputusan": "Langkah keputusan",
                  "kembali": "Dikembalikan"},
    "tugas": {"terlambat": "Terlambat", "berisiko": "Berisiko", "tepat": "Tepat waktu",
              "tanpa-target": "Tanpa target"},
}
SLA_OF = {"terlambat": "overdue", "berisiko": "at_risk", "tepat": "on_time",
          "tanpa-target": "no_target"}
STATUS_OF_SLA = {sla: status for status, sla in SLA_OF.items()}
LATE_LABELS = {"kasus": "Terlambat saja (ada langkah yang melewati Mutu Baku)",
               "kunjungan": "Terlambat saja (melewati Mutu Baku)",
               "tugas": "Terlambat saja (melewati Mutu Baku)"}
_SEARCH_LIMIT = 100


@dataclass(frozen=True)
class Drill:
    """Which rows: a view (cases, visits, or pending items) and its filters. Without a period,
    everything up to now."""

    view: str = "kasus"
    period: PeriodChoice | None = None
    sop_codes: tuple[str, ...] = ()
    unit_code: str | None = None
    status: str | None = None  # one of STATUSES[view]
    late_only: bool = False
    seq: int | None = None  # a step (visits and items)
    role: str | None = None  # a Pelaksana (visits and items)
    person: str | None = None  # a username: who performed (cases, visits) or holds (items)
    search: str | None = None  # in case titles and numbers

    def params(self) -> dict[str, str]:
        """The URL's query parameters."""
        values = {
            "lihat": self.view, "periode": self.period.text if self.period else None,
            "sop": ",".join(self.sop_codes) or None, "unit": self.unit_code,
            "status": self.status, "terlambat": "1" if self.late_only else None,
            "langkah": None if self.seq is None else str(self.seq), "peran": self.role,
            "orang": self.person, "cari": self.search,
        }
        return {name: value for name, value in values.items() if value}

    @property
    def link(self) -> str:
        """The query string ("lihat=tugas&status=terlambat"): what a chart point carries."""
        return urlencode(self.params())

    def with_(self, **changes: Any) -> Drill:
        """This drill with some filters changed; a status that does not fit the view is
        dropped."""
        changed = replace(self, **changes)
        if changed.status not in STATUSES[changed.view]:
            changed = replace(changed, status=None)
        return changed


def read_drill(params: Mapping[str, str]) -> Drill:
    """The drill of a URL. What it cannot read it leaves out: a shared link never fails."""
    view = params.get("lihat", "kasus")
    view = view if view in VIEWS else "kasus"
    status = params.get("status")
    seq = params.get("langkah", "")
    search = (params.get("cari") or "").strip()[:_SEARCH_LIMIT]
    return Drill(
        view=view, period=read_period(params.get("periode") or ""),
        sop_codes=tuple(code for code in (params.get("sop") or "").split(",") if code),
        unit_code=params.get("unit") or None,
        status=status if status in STATUSES[view] else None,
        late_only=params.get("terlambat") == "1",
        seq=int(seq) if re.fullmatch(r"\d{1,4}", seq) else None,
        role=params.get("peran") or None, person=params.get("orang") or None,
        search=search or None,
    )


def as_of(drill: Drill, *, now: datetime) -> datetime:
    """The instant the rows stand at: the figure's (the period's as-of), or now."""
    return metrics.period_as_of(drill.period, now=now) if drill.period else now


# --- the names of a drill in the database -----------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A drill's names as ids. `unknown` lists the filters naming nothing known: they select
    nothing, and the page says so."""

    unit_id: int | None
    person_id: int | None
    person_roles: tuple[str, ...]
    person_unit_id: int | None
    searched_case_ids: np.ndarray | None  # None: no search
    unknown: tuple[str, ...]

    @classmethod
    def nothing(cls) -> Resolved:
        """A drill that names no unit, person or search."""
        return cls(unit_id=None, person_id=None, person_roles=(), person_unit_id=None,
                   searched_case_ids=None, unknown=())


def resolve(session: Session, drill: Drill) -> Resolved:
    unknown: list[str] = []
    unit_id: int | None = None
    if drill.unit_code == NO_UNIT:
        unit_id = -1
    elif drill.unit_code:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == drill.unit_code))
        if unit_id is None:
            unknown.append(f"unit {drill.unit_code}")
            unit_id = -2  # no unit has it: nothing is selected
    person_id: int | None = None
    person_unit: int | None = None
    roles: tuple[str, ...] = ()
    if drill.person:
        user = session.execute(select(User.id, User.unit_id)
                               .where(User.username == drill.person)).first()
        if user is None:
            unknown.append(f"pengguna {drill.person}")
            person_id = -2
        else:
            person_id, person_unit = user[0], user[1]
            roles = tuple(session.scalars(
                select(Role.name).join(UserRole, UserRole.role_id == Role.id)
                .where(UserRole.user_id == person_id)))
    searched = None
    if drill.search:
        pattern = f"%{drill.search}%"
        searched = np.array(session.scalars(select(Case.id).where(
            Case.title.ilike(pattern) | Case.ref.ilike(pattern))).all(), dtype=np.int64)
    return Resolved(unit_id=unit_id, person_id=person_id, person_roles=roles,
                    person_unit_id=person_unit, searched_case_ids=searched,
                    unknown=tuple(unknown))


# --- the rows ---------------------------------------------------------------------------------


def rows_behind(state: Snapshot, drill: Drill, *, resolved: Resolved) -> pd.DataFrame:
    """The rows the drill selects from `state` (the snapshot at `as_of(drill)`): cases, ended
    step visits, or pending items, in the frames' own columns."""
    period = drill.period.bounds() if drill.period else None
    state = metrics.scope(state, sop_codes=drill.sop_codes or None, unit_id=resolved.unit_id)
    if drill.view == "tugas":
        rows = _items(state, drill, resolved)
    elif drill.view == "kunjungan":
        rows = _visits(state, drill, period, resolved)
    else:
        rows = _cases(state, drill, period, resolved)
    if resolved.searched_case_ids is not None:
        rows = rows[rows["case_id"].isin(resolved.searched_case_ids)]
    return rows.reset_index(drop=True)


def _cases(state: Snapshot, drill: Drill, period: Period | None,
           resolved: Resolved) -> pd.DataFrame:
    if drill.status == "berjalan":
        cases = metrics.active_at(state)
    elif drill.status == "selesai":
        cases = metrics.completed_in(state, period)
    elif drill.status == "batal":
        cases = metrics.cancelled_in(state, period)
    else:
        cases = metrics.cases_counted(state, period)
    late = np.isin(cases["case_id"].to_numpy(), metrics.late_cases(state))
    cases = cases.assign(
        revised=np.isin(cases["case_id"].to_numpy(), metrics.returned_cases(state)), late=late)
    if drill.late_only:
        cases = cases[cases["late"]]
    if resolved.person_id is not None:
        ended = state.ended
        performed = ended.loc[ended["performer_user_id"] == resolved.person_id, "case_id"]
        cases = cases[cases["case_id"].isin(performed)]
    return cases.sort_values("started_ns", ascending=False, kind="stable")


def _visits(state: Snapshot, drill: Drill, period: Period | None,
            resolved: Resolved) -> pd.DataFrame:
    visits = metrics.ended_in(state, period)
    visits = visits.assign(over=metrics.over_target(visits))
    if drill.status == "bertarget":
        visits = visits[visits["has_target"]]
    elif drill.status == "keputusan":
        visits = visits[visits["is_decision"]]
    elif drill.status == "kembali":
        visits = visits[visits["is_return"]]
    if drill.late_only:
        visits = visits[visits["over"]]
    if drill.seq is not None:
        visits = visits[visits["seq"] == drill.seq]
    if drill.role:
        visits = visits[visits["role"].astype(str) == drill.role]
    if resolved.person_id is not None:
        visits = visits[visits["performer_user_id"] == resolved.person_id]
    return visits.sort_values("ended_ns", ascending=False, kind="stable")


def _items(state: Snapshot, drill: Drill, resolved: Resolved) -> pd.DataFrame:
    items = state.items
    if drill.status:
        items = items[items["sla_state"] == SLA_OF[drill.status]]
    if drill.late_only:
        items = items[items["sla_state"] == "overdue"]
    if drill.seq is not None:
        items = items[items["seq"] == drill.seq]
    if drill.role:
        items = items[items["role"].astype(str) == drill.role]
    if resolved.person_id is not None:
        items = items[metrics.held_by(items, roles=resolved.person_roles,
                                      unit_id=resolved.person_unit_id)]
    return items


# --- what the list says of itself -------------------------------------------------------------


def summary(drill: Drill, rows: pd.DataFrame) -> str:
    """One line: how many, and the figure the dashboards show for them."""
    count = format_number(len(rows))
    if drill.view == "tugas":
        overdue = int((rows["sla_state"] == "overdue").sum())
        return f"{count} tugas tertunda, {format_number(overdue)} di antaranya terlambat."
    if drill.view == "kunjungan":
        figures = metrics.visit_figures(rows).iloc[0]
        text = f"{count} kunjungan langkah selesai"
        if figures["with_target"]:
            text += (f"; {format_number(figures['within'])} dari "
                     f"{format_number(figures['with_target'])} yang punya Mutu Baku selesai "
                     f"dalam Mutu Baku ({format_percent(figures['compliance'])})")
        if figures["decisions"]:
            text += (f"; {format_number(figures['returns'])} dikembalikan dari "
                     f"{format_number(figures['decisions'])} keputusan")
        return text + "."
    text = f"{count} kasus"
    completed = rows[rows["status"] == "completed"]
    if len(completed):
        figures = metrics.case_figures(
            completed, returned=completed.loc[completed["revised"], "case_id"].to_numpy()).iloc[0]
        text += (f"; {format_number(figures['revised'])} dari "
                 f"{format_number(figures['completed'])} yang selesai pernah dikembalikan "
                 f"({format_percent(figures['revision_rate'])})")
    return text + "."


# --- what each figure of the dashboards opens ------------------------------------------------
# `base` carries the dashboard's own filters (period, SOPs, unit). A month of a month-by-month
# chart opens that month as the period: its visits are those that ended in it.

TILES = {
    "berjalan": {"view": "kasus", "status": "berjalan"},
    "selesai": {"view": "kasus", "status": "selesai"},
    "kepatuhan": {"view": "kunjungan", "status": "bertarget"},
    "revisi": {"view": "kasus", "status": "selesai"},
    "terlambat": {"view": "tugas", "status": "terlambat"},
}


def behind_tile(base: Drill, key: str) -> Drill:
    """A headline tile: for a rate, the rows of its denominator (the list says the
    numerator)."""
    return base.with_(**TILES[key])


def behind_sop(base: Drill, code: str) -> Drill:
    """A compliance bar of one SOP: its visits with a target."""
    return base.with_(view="kunjungan", status="bertarget", sop_codes=(code,))


def behind_month(base: Drill, code: str, month_text: str) -> Drill:
    """A point of compliance by month: the SOP's visits with a target that ended that month."""
    return behind_sop(base, code).with_(period=read_period(month_text))


def behind_step(base: Drill, code: str, seq: int) -> Drill:
    """A step's box and ranking row: its visits that ended in the period."""
    return base.with_(view="kunjungan", status=None, sop_codes=(code,), seq=seq)


def behind_cell(base: Drill, code: str, seq: int, month_text: str) -> Drill:
    """A heat-map cell: the step's visits with a target that ended that month."""
    return behind_step(base, code, seq).with_(status="bertarget", period=read_period(month_text))


def behind_returns(base: Drill, code: str, seq: int) -> Drill:
    """A Pareto bar: the returns of a decision step."""
    return behind_step(base, code, seq).with_(status="kembali")


def behind_queue(base: Drill, role: str, unit_code: str | None,
                 sla: str | None = None) -> Drill:
    """A Pelaksana's queue (a backlog bar or row), or one SLA state of it."""
    return base.with_(view="tugas", role=role, unit_code=unit_code or NO_UNIT,
                      status=STATUS_OF_SLA.get(sla or ""))


def behind_person(base: Drill, username: str, sla: str | None = None) -> Drill:
    """A person's queue: the pending items they hold."""
    return base.with_(view="tugas", person=username, status=STATUS_OF_SLA.get(sla or ""))


# --- the list as the Kasus page shows it -------------------------------------------------------

LIST_LIMIT = 1000  # rows a page lists; the summary counts them all


def _instants(values: pd.Series) -> pd.Series:
    """Epoch nanoseconds as "20 Nov 2026 14.05 WIB" ("–" for none)."""
    return values.map(lambda ns: "–" if ns == metrics.NAT else format_wib(
        pd.Timestamp(ns, tz="UTC").to_pydatetime()))


def listing(session: Session, drill: Drill, rows: pd.DataFrame, *,
            catalog: metrics.Catalog) -> pd.DataFrame:
    """The first LIST_LIMIT rows, in Indonesian columns; `case_id` (not shown) opens a case.
    A case's number begins with its SOP's code, so the SOP needs no column of its own."""
    shown = rows.head(LIST_LIMIT)
    titles = case_titles(session, case_ids=[int(i) for i in shown["case_id"].unique()])
    head = {
        "case_id": shown["case_id"].to_numpy(),
        "Nomor": [titles.get(int(i), ("–", ""))[0] for i in shown["case_id"]],
        "Judul": [titles.get(int(i), ("", "–"))[1] for i in shown["case_id"]],
    }
    if drill.view == "kasus":
        return pd.DataFrame({
            **head, "Status": shown["status"].astype(str).map(STATUS_LABELS).to_numpy(),
            "Mulai": _instants(shown["started_ns"]).to_numpy(),
            "Selesai": _instants(shown["ended_ns"]).to_numpy(),
            "Waktu tempuh": shown["lead_time"].map(format_minutes).to_numpy(),
            "Dikembalikan": np.where(shown["revised"], "Ya", "–"),
            "Terlambat": np.where(shown["late"], "Ya", "–"),
        })
    step_texts = {(code, step.seq): f"{step.label}. {step.activity}"
                  for code, sop in catalog.items() for step in sop.steps}
    steps = pd.Series(list(zip(shown["sop_code"].astype(str), shown["seq"], strict=True)),
                      dtype=object).map(step_texts).fillna("–").to_numpy()
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    if drill.view == "tugas":
        return pd.DataFrame({
            **head, "Langkah": steps,
            "Dipegang": _joined(shown["role"].astype(str), shown["unit_id"].map(units)),
            "Sejak": _instants(shown["available_ns"]).to_numpy(),
            "Umur (waktu kerja)": shown["duration"].map(format_minutes).to_numpy(),
            "Mutu Baku": shown["target"].map(format_minutes).to_numpy(),
            "Keadaan": shown["sla_state"].astype(str).map(SLA_LABELS).to_numpy(),
        })
    people = dict(session.execute(select(User.id, User.full_name).where(
        User.id.in_([int(i) for i in shown["performer_user_id"].unique()]))).all())
    verdict = np.select([~shown["has_target"], shown["within_target"]],
                        ["Tanpa Mutu Baku", "Dalam Mutu Baku"], default="Melewati Mutu Baku")
    return pd.DataFrame({
        **head, "Langkah": steps,
        "Dikerjakan": _joined(shown["role"].astype(str),
                              shown["performer_user_id"].map(people)),
        "Selesai": _instants(shown["ended_ns"]).to_numpy(),
        "Waktu kerja": shown["duration"].map(format_minutes).to_numpy(),
        "Mutu Baku": shown["target"].map(format_minutes).to_numpy(),
        "Hasil": verdict,
        "Keputusan": shown["outcome"].astype(str).map(OUTCOME_LABELS).to_numpy(),
    })


def _joined(first: pd.Series, second: pd.Series) -> np.ndarray:
    """"Fungsional · Sekretariat", or the first alone when the second is missing."""
    return np.where(second.isna().to_numpy(), first.to_numpy(),
                    (first + " · " + second.fillna("").astype(str)).to_numpy())
