"""What the dashboards show, selected and grouped from the metrics (docs/design.md, "Figures").

Every function takes a `metrics.Snapshot` (the state at the page's as-of, see
`metrics.period_as_of`) and a period; the definitions (duration, target, compliance, return
and revision rates, SLA state, pending items) live in services.metrics, and this module only
chooses the rows and the grouping: by SOP, month, step, role, unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.catalog.waktu import WORKDAY_MINUTES
from services.metrics import (
    FIGURE_COLUMNS,
    SLA_STATES,
    Snapshot,
    case_figures,
    completed_in,
    ended_figures,
    ended_figures_by_month,
    ended_in,
    ended_since,
    held_by,
    item_figures,
    ns,
    returned_cases,
    scope,
    totals,
    visit_figures,
)
from services.periods import PeriodChoice

AGEING = (("< 1 hari", 0, 1), ("1–3 hari", 1, 3), ("3–5 hari", 3, 5), ("> 5 hari", 5, np.inf))


# --- the Kadis's tiles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: float | None
    previous: float | None
    kind: str  # "count" | "rate"
    # Whether a rise is good news (compliance) or bad (overdue items).
    higher_is_better: bool
    help: str


def tiles(current: Snapshot, previous: Snapshot, *, period: PeriodChoice) -> list[Tile]:
    """The headline figures of `period` at its as-of, beside those of the period before it at
    that period's as-of (its end)."""
    now, before = totals(current, period.bounds()), totals(previous, period.previous().bounds())
    return [
        Tile("berjalan", "Kasus berjalan", now.cases_active, before.cases_active, "count", True,
             "Kasus yang sudah dimulai dan belum selesai atau batal pada waktu acuan."),
        Tile("selesai", "Selesai dalam periode", now.cases_completed, before.cases_completed,
             "count", True, "Kasus yang selesai di dalam periode."),
        Tile("kepatuhan", "Kepatuhan Mutu Baku", now.compliance_rate, before.compliance_rate,
             "rate", True, "Kunjungan langkah yang selesai dalam periode dan dalam Mutu Baku, "
                           "dari yang punya Mutu Baku terukur."),
        Tile("revisi", "Tingkat revisi", now.revision_rate, before.revision_rate, "rate", False,
             "Kasus selesai dalam periode yang pernah dikembalikan, dari semua kasus selesai "
             "dalam periode."),
        Tile("terlambat", "Tugas terlambat", now.overdue, before.overdue, "count", False,
             "Tugas tertunda yang melewati Mutu Baku pada waktu acuan. Langkah yang diserahkan "
             "per unit dihitung satu tugas untuk setiap unit yang belum menyerahkan."),
    ]


# --- compliance by SOP and by month -----------------------------------------------------------


def compliance_by_sop(state: Snapshot, *, period: PeriodChoice) -> pd.DataFrame:
    """One row per SOP, weakest compliance first (SOPs without measured visits last)."""
    bounds = period.bounds()
    ended = ended_figures(state, bounds, by=["sop_code"]).set_index("sop_code")
    done = case_figures(completed_in(state, bounds), returned=returned_cases(state),
                        by=["sop_code"]).set_index("sop_code")
    pending = item_figures(state.items, by=["sop_code"]).set_index("sop_code")
    codes = list(state.catalog)
    table = pd.DataFrame({
        "code": codes, "name": [state.catalog[code].name for code in codes],
        "visits": ended["visits"].reindex(codes, fill_value=0).to_numpy(),
        "with_target": ended["with_target"].reindex(codes, fill_value=0).to_numpy(),
        "within": ended["within"].reindex(codes, fill_value=0).to_numpy(),
        "compliance": ended["compliance"].reindex(codes).to_numpy(),
        "returns": ended["returns"].reindex(codes, fill_value=0).to_numpy(),
        "completed": done["completed"].reindex(codes, fill_value=0).to_numpy(),
        "revision": done["revision_rate"].reindex(codes).to_numpy(),
        "overdue": pending["overdue"].reindex(codes, fill_value=0).to_numpy(),
        "overrun_hours": ended["overrun"].reindex(codes, fill_value=0.0).to_numpy() / 60,
    })
    return table.sort_values("compliance", na_position="last", kind="stable").reset_index(drop=True)


def compliance_by_month(state: Snapshot, *, months: list[PeriodChoice]) -> pd.DataFrame:
    """Compliance per SOP and month (visits by the month they ended in); `visits` counts
    those with a measurable target."""
    columns = ["month", "label", "code", "name", "compliance", "visits"]
    if not months:
        return pd.DataFrame(columns=columns)
    table = ended_figures_by_month(state, months, by=["sop_code"])
    table = table[table["with_target"] > 0]
    labels = {m.text: m.short_label for m in months}
    month, code = table["month"].astype(str), table["sop_code"].astype(str)
    return pd.DataFrame({
        "month": month, "label": month.map(labels), "code": code,
        "name": code.map({key: sop.name for key, sop in state.catalog.items()}),
        "compliance": table["compliance"], "visits": table["with_target"],
    }).sort_values(["month", "code"]).reset_index(drop=True)


# --- the Sekretaris's bottlenecks ----------------------------------------------------------------


def bottleneck_state(state: Snapshot, *, code: str, period: PeriodChoice,
                     unit_id: int | None = None) -> Snapshot:
    """The state the Hambatan's figures read: one SOP (and unit), and of the ended visits
    those that ended since the period began, or its chart months did, whichever is earlier:
    every figure below reads visits ended within those (and the open ones). Narrowed to that
    window first, which copies nothing, the SOP's visits of the window are copied, not every
    visit of the SOP since the first (0.4 GB per page run at ten million events). With a
    unit, its cases are those it took part in within the window; no figure here reads them."""
    since = min(period.bounds()[0], period.chart_months()[0].bounds()[0])
    return scope(ended_since(state, since), sop_codes=(code,), unit_id=unit_id)


def _steps_of(state: Snapshot, code: str) -> pd.DataFrame:
    return pd.DataFrame([(step.seq, step.label, step.activity, step.role, step.target_minutes)
                         for step in state.catalog[code].steps],
                        columns=["seq", "label", "activity", "role", "target_minutes"])


def _own_ended(state: Snapshot, code: str, period: PeriodChoice) -> pd.DataFrame:
    ended = ended_in(state, period.bounds(),
                     columns=(*FIGURE_COLUMNS, "sop_code", "seq", "target"))
    return ended[ended["sop_code"] == code]


def step_durations(state: Snapshot, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Per step: the spread of working time (p5, quartiles, p95, mean) against the target,
    and its compliance."""
    own = _own_ended(state, code, period)
    grouped = own.groupby("seq")["duration"]
    spread = pd.DataFrame({
        "p5": grouped.quantile(0.05), "q1": grouped.quantile(0.25),
        "q3": grouped.quantile(0.75), "p95": grouped.quantile(0.95),
        "target": own.groupby("seq")["target"].median(),
    })
    figures = visit_figures(own, by=["seq"]).set_index("seq")
    table = _steps_of(state, code).set_index("seq").join(spread, how="left").join(
        figures[["visits", "median", "mean", "compliance"]], how="left")
    return table.rename(columns={"visits": "n"}).reset_index()


def overrun_heatmap(state: Snapshot, *, code: str, months: list[PeriodChoice]) -> pd.DataFrame:
    """Step x month: share of visits over their target, and overrun in working hours."""
    columns = ["seq", "month", "share_over", "overrun_hours", "visits"]
    if not months:
        return pd.DataFrame(columns=columns)
    table = ended_figures_by_month(state, months, by=["sop_code", "seq"])
    table = table[(table["sop_code"] == code).to_numpy() & (table["with_target"] > 0).to_numpy()]
    table = table.sort_values(["seq", "month"], kind="stable")
    return pd.DataFrame({"seq": table["seq"], "month": table["month"].astype(str),
                         "share_over": 1 - table["compliance"],
                         "overrun_hours": table["overrun"] / 60,
                         "visits": table["with_target"]}).reset_index(drop=True)


def returns_pareto(state: Snapshot, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Returns per decision step, most first, with the cumulative share."""
    figures = ended_figures(state, period.bounds(), by=["sop_code", "seq"])
    figures = figures[(figures["sop_code"] == code).to_numpy() & (figures["returns"] > 0).to_numpy()]
    table = figures[["seq", "returns", "decisions", "return_rate"]]
    table = table.sort_values("returns", ascending=False, kind="stable").reset_index(drop=True)
    total = table["returns"].sum()
    table["cumulative"] = table["returns"].cumsum() / total if total else 0.0
    return table


def bottlenecks(state: Snapshot, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Steps ranked by total delay (sum of overrun), with count x median for comparison."""
    figures = visit_figures(_own_ended(state, code, period), by=["seq"])
    table = pd.DataFrame({
        "seq": figures["seq"], "visits": figures["visits"], "median": figures["median"],
        "overrun_hours": figures["overrun"] / 60, "over": figures["over"],
        "compliance": figures["compliance"],
    })
    table["load_hours"] = table["visits"] * table["median"] / 60
    total = table["overrun_hours"].sum()
    table["share"] = table["overrun_hours"] / total if total else 0.0
    table = table.merge(_steps_of(state, code), on="seq", how="left")
    return table.sort_values("overrun_hours", ascending=False, kind="stable").reset_index(drop=True)


def backlog(state: Snapshot, *, unit_names: dict[int, str]) -> pd.DataFrame:
    """Pending items per Pelaksana (role and unit), by SLA state and ageing bucket (working
    days). A multi-unit step is one item for each unit that has not submitted. `unit_id` is
    -1 for work of no unit."""
    labels = [label for label, _, _ in AGEING]
    columns = ["role", "unit_id", "unit", *SLA_STATES, *labels, "total"]
    if state.items.empty:  # nothing was pending at the as-of (a quiet past period)
        return pd.DataFrame(columns=columns)
    items = state.items.assign(role=state.items["role"].astype(str))
    items["bucket"] = pd.cut(items["duration"] / WORKDAY_MINUTES,
                             bins=[low for _, low, _ in AGEING] + [np.inf], right=False,
                             labels=labels)
    table = item_figures(items, by=["role", "unit_id"]).set_index(["role", "unit_id"])
    buckets = pd.crosstab([items["role"], items["unit_id"]], items["bucket"], dropna=False)
    table = table.join(buckets.reindex(columns=labels, fill_value=0), how="left")
    table = table.reindex(columns=[*SLA_STATES, *labels, "total"], fill_value=0)
    table = table[table["total"] > 0].fillna(0).astype(np.int64)
    table.columns = [str(c) for c in table.columns]
    table = table.reset_index()
    table.insert(2, "unit", table["unit_id"].map(unit_names).astype("object").fillna("–"))
    return table.sort_values(["overdue", "total"], ascending=False,
                             kind="stable").reset_index(drop=True)[columns]


def backlog_per_person(state: Snapshot, *, holders: pd.DataFrame) -> pd.DataFrame:
    """Pending items per person who holds them (`holders`: services.accounts.role_holders),
    by SLA state. An item several people hold counts for each of them."""
    items = state.items[["visit_id", "unit_id", "multi_unit", "sla_state"]].assign(
        role=state.items["role"].astype(str))
    pairs = items.merge(holders.rename(columns={"unit_id": "person_unit_id"}), on="role")
    pairs = pairs[held_by(pairs, roles=pairs["role"].unique().tolist(),
                          unit_id=pairs["person_unit_id"])]
    table = item_figures(pairs, by=["username", "full_name"])
    roles = holders.groupby("username")["role"].agg(lambda names: ", ".join(sorted(names)))
    table["roles"] = table["username"].map(roles)
    return table.sort_values(["overdue", "total", "full_name"], ascending=[False, False, True],
                             kind="stable").reset_index(drop=True)


# What the process map reads of a visit. The SOP's visits of the period are narrowed to these
# first: joined, sorted and shifted whole, each step copied every column of them (half a
# gigabyte more for the page at ten million events).
_MAP_COLUMNS = ["case_id", "visit_id", "seq", "duration", "measured", "has_target",
                "within_target", "is_return", "is_decision", "overrun"]


def transitions(state: Snapshot, *, code: str,
                period: PeriodChoice) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The process as it ran: per step, visits and median working time; per arrow (from one
    visit to the next in a case), how often and the median working time of the visit it led
    to. Return loops are the arrows going back."""
    start, end = (ns(bound) for bound in period.bounds())

    def own_visits(frame: pd.DataFrame, *, is_open: bool) -> pd.DataFrame:
        keep = (frame["sop_code"] == code) & (frame["available_ns"] < end)
        if not is_open:
            keep &= frame["ended_ns"] >= start
        return frame.loc[keep.to_numpy(), _MAP_COLUMNS].assign(is_open=is_open)

    own = pd.concat([own_visits(state.ended, is_open=False), own_visits(state.open, is_open=True)],
                    ignore_index=True).sort_values(["case_id", "visit_id"])
    previous = own.groupby("case_id")["seq"].shift(1)
    edges = own.assign(source=previous.fillna(0).astype(int))
    measured = visit_figures(own[own["measured"]], by=["seq"]).set_index("seq")
    nodes = pd.DataFrame({
        "visits": measured["visits"], "median": measured["median"],
        "open": own[own["is_open"]].groupby("seq").size(),
    })  # every step seen: ended, open, or both
    nodes = nodes.fillna({"visits": 0, "open": 0}).astype({"visits": int, "open": int})
    arrows = edges.groupby(["source", "seq"]).agg(count=("visit_id", "size"),
                                                  median=("duration", "median")).reset_index()
    arrows = arrows.rename(columns={"seq": "target"})
    return nodes.rename_axis("seq").reset_index(), arrows


# --- progress ------------------------------------------------------------------------------------


def active_cases(state: Snapshot, *, code: str) -> pd.DataFrame:
    """Cases of an SOP running at the as-of: current step, its role and unit, age, SLA state,
    progress (steps before the current one / all steps)."""
    steps_total = len(state.catalog[code].steps)
    own = state.open[state.open["sop_code"] == code]
    return pd.DataFrame({
        "case_id": own["case_id"].to_numpy(), "seq": own["seq"].to_numpy(),
        "role": own["role"].astype(str).to_numpy(),
        "unit_id": own["unit_id"].to_numpy(), "age": own["duration"].to_numpy(),
        "target": own["target"].to_numpy(),
        "sla_state": own["sla_state"].astype(str).to_numpy(),
        "progress": (own["seq"].to_numpy() - 1) / steps_total,
        "available_ns": own["available_ns"].to_numpy(),
    }).sort_values("progress", ascending=False, kind="stable").reset_index(drop=True)


def completed_count(state: Snapshot, *, code: str, period: PeriodChoice) -> int:
    """How many cases of the SOP completed in the period: the rows of `completed_cases`,
    without its per-case figures (which read every ended visit: 0.1-0.2 s an SOP at ten
    million events)."""
    done = completed_in(state, period.bounds())
    return int((done["sop_code"] == code).sum())


def completed_cases(state: Snapshot, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Cases completed in the period: lead time against the sum of the targets on their path
    without returns (the first pass of every step)."""
    done = completed_in(state, period.bounds())
    done = done[done["sop_code"] == code]
    own = state.ended[state.ended["case_id"].isin(done["case_id"])]
    planned = own[own["pass_no"] == 1].groupby("case_id")["target"].sum(min_count=1)
    returns = own[own["is_return"]].groupby("case_id").size()
    table = done[["case_id", "lead_time", "ended_ns"]].copy()
    table["planned"] = table["case_id"].map(planned)
    table["returns"] = table["case_id"].map(returns).fillna(0).astype(int)
    table["ratio"] = table["lead_time"] / table["planned"]
    return table.sort_values("ended_ns", ascending=False).reset_index(drop=True)
