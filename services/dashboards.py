"""What the dashboards show (DESIGN sections 7 and 9), aggregated from the metrics frames.

The definitions (duration, target, within target, overrun, SLA state) live in
services.metrics; this module only selects and groups them: by period, SOP, unit, step,
month, role. Every function takes prepared `Frames`, so a page can keep the expensive part
cached and still show current ages.
"""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from services.calendar import WorkingCalendar, wib_midnight
from services.catalog.waktu import WORKDAY_MINUTES
from services.formatting import MONTHS, MONTHS_SHORT, WIB
from services.metrics import SLA_STATES, Frames, Period, sla_codes

QUARTERS = ("I", "II", "III", "IV")
PERIOD_KINDS = {"bulan": "Bulan", "triwulan": "Triwulan", "semester": "Semester",
                "tahun": "Tahun", "khusus": "Rentang tanggal"}
AGEING = (("< 1 hari", 0, 1), ("1–3 hari", 1, 3), ("3–5 hari", 3, 5), ("> 5 hari", 5, np.inf))


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChoice:
    """A reporting period in WIB: a month, a quarter, a year, or a range of dates."""

    kind: str
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "bulan":
            return f"{MONTHS[self.first.month - 1]} {self.first.year}"
        if self.kind == "triwulan":
            return f"Triwulan {QUARTERS[(self.first.month - 1) // 3]} {self.first.year}"
        if self.kind == "semester":
            return f"Semester {QUARTERS[(self.first.month - 1) // 6]} {self.first.year}"
        if self.kind == "tahun":
            return f"Tahun {self.first.year}"
        return (f"{self.first.day} {MONTHS_SHORT[self.first.month - 1]} {self.first.year} – "
                f"{self.last.day} {MONTHS_SHORT[self.last.month - 1]} {self.last.year}")

    @property
    def text(self) -> str:
        """As it goes into a link (?periode=...)."""
        if self.kind == "bulan":
            return f"{self.first:%Y-%m}"
        if self.kind == "triwulan":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == "semester":
            return f"{self.first.year}-S{(self.first.month - 1) // 6 + 1}"
        if self.kind == "tahun":
            return f"{self.first.year}"
        return f"{self.first:%Y-%m-%d}_{self.last:%Y-%m-%d}"

    def bounds(self) -> Period:
        return wib_midnight(self.first), wib_midnight(self.last + timedelta(days=1))

    def previous(self) -> PeriodChoice:
        if self.kind == "bulan":
            return month(shift_months(self.first, -1))
        if self.kind == "triwulan":
            return quarter(shift_months(self.first, -3))
        if self.kind == "semester":
            return semester(shift_months(self.first, -6))
        if self.kind == "tahun":
            return year(self.first.year - 1)
        length = self.last - self.first
        return PeriodChoice("khusus", self.first - length - timedelta(days=1),
                            self.first - timedelta(days=1))

    def months(self) -> list[PeriodChoice]:
        """The months the period spans (for month-by-month charts)."""
        result, current = [], date(self.first.year, self.first.month, 1)
        while current <= self.last:
            result.append(month(current))
            current = shift_months(current, 1)
        return result


def shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month(day: date) -> PeriodChoice:
    last = month_calendar.monthrange(day.year, day.month)[1]
    return PeriodChoice("bulan", date(day.year, day.month, 1), date(day.year, day.month, last))


def quarter(day: date) -> PeriodChoice:
    start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    end = shift_months(start, 3) - timedelta(days=1)
    return PeriodChoice("triwulan", start, end)


def semester(day: date) -> PeriodChoice:
    """January-June or July-December: PermenPAN-RB 35/2012 asks for monitoring at least every
    six months."""
    start = date(day.year, 1 if day.month <= 6 else 7, 1)
    return PeriodChoice("semester", start, shift_months(start, 6) - timedelta(days=1))


def year(number: int) -> PeriodChoice:
    return PeriodChoice("tahun", date(number, 1, 1), date(number, 12, 31))


def read_period(text: str) -> PeriodChoice | None:
    """A period written as 2026-07, 2026-Q3, 2026-S2, 2026 or 2026-07-01_2026-09-30; None when
    the text is none of these."""
    text = text.strip()
    try:
        if "_" in text:
            first, last = (date.fromisoformat(part) for part in text.split("_", 1))
            return PeriodChoice("khusus", first, last) if first <= last else None
        for marker, build, length in (("-Q", quarter, 3), ("-S", semester, 6)):
            if marker in text:
                year_text, number = text.split(marker)
                count = 12 // length
                if not 1 <= int(number) <= count:
                    return None
                return build(date(int(year_text), (int(number) - 1) * length + 1, 1))
        if len(text) == 7:
            return month(date.fromisoformat(f"{text}-01"))
        if len(text) == 4 and text.isdigit():
            return year(int(text))
    except ValueError:
        pass
    return None


def parse_period(text: str | None, *, today: date) -> PeriodChoice:
    """A period from a link; anything unreadable gives the current quarter."""
    return read_period(text or "") or quarter(today)


def today_wib(now: datetime) -> date:
    return now.astimezone(WIB).date()


# --- scoping ------------------------------------------------------------------------------------


def scope(frames: Frames, *, sop_codes: tuple[str, ...] | None, unit_id: int | None) -> Frames:
    """The frames narrowed to some SOPs and to a unit (the visits its people performed, or of
    its cases; the cases it took part in)."""
    visits, cases = frames.visits, frames.cases
    if sop_codes:
        visits = visits[visits["sop_code"].isin(sop_codes)]
        cases = cases[cases["sop_code"].isin(sop_codes)]
    if unit_id is not None:
        visits = visits[visits["unit_id"] == unit_id]
        cases = cases[cases["case_id"].isin(visits["case_id"]) | (cases["unit_id"] == unit_id)]
    catalog = {c: v for c, v in frames.catalog.items() if not sop_codes or c in sop_codes}
    return Frames(visits=visits, cases=cases, catalog=catalog)


def _ns(value: datetime) -> int:
    return int(pd.Timestamp(value).as_unit("ns").value)


def _ended_in(visits: pd.DataFrame, period: Period) -> pd.DataFrame:
    start, end = _ns(period[0]), _ns(period[1])
    measured = visits[visits["measured"]]
    return measured[(measured["ended_ns"] >= start) & (measured["ended_ns"] < end)]


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


# --- the Kadis's tiles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    label: str
    value: float | None
    previous: float | None
    kind: str  # "count" | "rate"
    # Whether a rise is good news (compliance) or bad (overdue items).
    higher_is_better: bool


def active_at(cases: pd.DataFrame, instant: datetime) -> int:
    at = _ns(instant)
    started = cases["started_ns"] < at
    running = (cases["ended_ns"] == np.iinfo(np.int64).min) | (cases["ended_ns"] > at)
    return int((started & running).sum())


def overdue_at(visits: pd.DataFrame, instant: datetime, calendar: WorkingCalendar) -> int:
    """Visits open at that instant whose age then exceeded their target."""
    at = _ns(instant)
    nat = np.iinfo(np.int64).min
    open_then = visits[(visits["available_ns"] < at)
                       & ((visits["ended_ns"] == nat) | (visits["ended_ns"] > at))
                       & visits["has_target"]]
    if open_then.empty:
        return 0
    age = calendar.clock(np.full(1, at, dtype=np.int64))[0] - calendar.clock(
        open_then["available_ns"].to_numpy())
    return int((sla_codes(age, open_then["target"].to_numpy()) == 0).sum())


def _completed_in(cases: pd.DataFrame, period: Period) -> pd.DataFrame:
    start, end = _ns(period[0]), _ns(period[1])
    done = cases[cases["status"] == "completed"]
    return done[(done["ended_ns"] >= start) & (done["ended_ns"] < end)]


def tiles(frames: Frames, *, period: PeriodChoice, as_of: datetime,
          calendar: WorkingCalendar) -> list[Tile]:
    now_bounds, before = period.bounds(), period.previous().bounds()
    visits, cases = frames.visits, frames.cases
    returned = set(visits.loc[visits["is_return"], "case_id"])

    def compliance(bounds: Period) -> float | None:
        ended = _ended_in(visits, bounds)
        return _rate(ended["within_target"].sum(), ended["has_target"].sum())

    def revision(bounds: Period) -> float | None:
        done = _completed_in(cases, bounds)
        return _rate(done["case_id"].isin(returned).sum(), len(done))

    open_now = visits[visits["is_open"]]
    return [
        Tile("Kasus berjalan", active_at(cases, as_of), active_at(cases, before[1]), "count",
             True),
        Tile("Selesai dalam periode", len(_completed_in(cases, now_bounds)),
             len(_completed_in(cases, before)), "count", True),
        Tile("Kepatuhan Mutu Baku", compliance(now_bounds), compliance(before), "rate", True),
        Tile("Tingkat revisi", revision(now_bounds), revision(before), "rate", False),
        Tile("Langkah terlambat", int((open_now["sla_state"] == "overdue").sum()),
             overdue_at(visits, before[1], calendar), "count", False),
    ]


# --- compliance by SOP and by month -----------------------------------------------------------


def compliance_by_sop(frames: Frames, *, period: PeriodChoice) -> pd.DataFrame:
    """One row per SOP, weakest compliance first (SOPs without measured visits last)."""
    ended = _ended_in(frames.visits, period.bounds())
    done = _completed_in(frames.cases, period.bounds())
    returned = set(frames.visits.loc[frames.visits["is_return"], "case_id"])
    open_now = frames.visits[frames.visits["is_open"]]
    rows = []
    for code, (name, _steps) in frames.catalog.items():
        own = ended[ended["sop_code"] == code]
        own_done = done[done["sop_code"] == code]
        with_target = int(own["has_target"].sum())
        rows.append({
            "code": code, "name": name, "visits": len(own), "with_target": with_target,
            "within": int(own["within_target"].sum()),
            "compliance": _rate(own["within_target"].sum(), with_target),
            "returns": int(own["is_return"].sum()), "completed": len(own_done),
            "revision": _rate(own_done["case_id"].isin(returned).sum(), len(own_done)),
            "overdue": int(((open_now["sop_code"] == code)
                            & (open_now["sla_state"] == "overdue")).sum()),
            "overrun_hours": float(own["overrun"].sum()) / 60,
        })
    table = pd.DataFrame(rows, columns=["code", "name", "visits", "with_target", "within",
                                        "compliance", "returns", "completed", "revision",
                                        "overdue", "overrun_hours"])
    return table.sort_values("compliance", na_position="last", kind="stable").reset_index(drop=True)


def compliance_by_month(frames: Frames, *, months: list[PeriodChoice]) -> pd.DataFrame:
    """Compliance per SOP and month (visits by the month they ended in)."""
    if not months:
        return pd.DataFrame(columns=["month", "label", "code", "name", "compliance", "visits"])
    start, end = _ns(months[0].bounds()[0]), _ns(months[-1].bounds()[1])
    measured = frames.visits[frames.visits["measured"] & frames.visits["has_target"]]
    measured = measured[(measured["ended_ns"] >= start) & (measured["ended_ns"] < end)]
    local = pd.to_datetime(measured["ended_ns"], utc=True).dt.tz_convert(WIB)
    key = local.dt.strftime("%Y-%m")
    grouped = measured.groupby([key, measured["sop_code"].astype(str)], observed=True)
    table = pd.DataFrame({"within": grouped["within_target"].sum(), "visits": grouped.size()})
    table = table.reset_index()
    table.columns = ["month", "code", "within", "visits"]
    table["compliance"] = table["within"] / table["visits"]
    labels = {m.text: f"{MONTHS_SHORT[m.first.month - 1]} {m.first.year}" for m in months}
    names = {code: name for code, (name, _) in frames.catalog.items()}
    table["label"] = table["month"].map(labels)
    table["name"] = table["code"].map(names)
    return table.sort_values(["month", "code"]).reset_index(drop=True)


# --- the Sekretaris's bottlenecks ----------------------------------------------------------------


def _steps_of(frames: Frames, code: str) -> pd.DataFrame:
    name, steps = frames.catalog[code]
    return pd.DataFrame(steps, columns=["seq", "role", "target_minutes"])


def step_durations(frames: Frames, *, code: str, period: PeriodChoice,
                   labels: dict[int, str]) -> pd.DataFrame:
    """Per step: the spread of working time (p5, quartiles, p95, mean) against the target."""
    ended = _ended_in(frames.visits, period.bounds())
    own = ended[ended["sop_code"] == code]
    grouped = own.groupby("seq")["duration"]
    stats = pd.DataFrame({
        "n": grouped.size(), "p5": grouped.quantile(0.05), "q1": grouped.quantile(0.25),
        "median": grouped.median(), "q3": grouped.quantile(0.75), "p95": grouped.quantile(0.95),
        "mean": grouped.mean(),
        "target": own.groupby("seq")["target"].median(),
        "within": own.groupby("seq")["within_target"].mean(),
    })
    steps = _steps_of(frames, code).set_index("seq")
    table = steps.join(stats, how="left").reset_index()
    table["label"] = table["seq"].map(labels)
    return table


def overrun_heatmap(frames: Frames, *, code: str, months: list[PeriodChoice]) -> pd.DataFrame:
    """Step x month: share of visits over their target, and overrun in working hours."""
    if not months:
        return pd.DataFrame(columns=["seq", "month", "share_over", "overrun_hours", "visits"])
    start, end = _ns(months[0].bounds()[0]), _ns(months[-1].bounds()[1])
    own = frames.visits[(frames.visits["sop_code"] == code) & frames.visits["measured"]
                        & frames.visits["has_target"]]
    own = own[(own["ended_ns"] >= start) & (own["ended_ns"] < end)]
    key = pd.to_datetime(own["ended_ns"], utc=True).dt.tz_convert(WIB).dt.strftime("%Y-%m")
    grouped = own.groupby([own["seq"], key])
    table = pd.DataFrame({
        "share_over": 1 - grouped["within_target"].mean(),
        "overrun_hours": grouped["overrun"].sum() / 60,
        "visits": grouped.size(),
    }).reset_index()
    table.columns = ["seq", "month", "share_over", "overrun_hours", "visits"]
    return table


def returns_pareto(frames: Frames, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Returns per decision step, most first, with the cumulative share."""
    ended = _ended_in(frames.visits, period.bounds())
    own = ended[(ended["sop_code"] == code) & ended["is_return"]]
    counts = own.groupby("seq").size().sort_values(ascending=False, kind="stable")
    table = counts.rename("returns").reset_index()
    total = table["returns"].sum()
    table["cumulative"] = table["returns"].cumsum() / total if total else 0.0
    return table


def bottlenecks(frames: Frames, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Steps ranked by total delay (sum of overrun), with count x median for comparison."""
    ended = _ended_in(frames.visits, period.bounds())
    own = ended[ended["sop_code"] == code]
    grouped = own.groupby("seq")
    table = pd.DataFrame({
        "visits": grouped.size(), "median": grouped["duration"].median(),
        "overrun_hours": grouped["overrun"].sum() / 60,
        "over": (own["overrun"] > 0).groupby(own["seq"]).sum(),
    })
    table["load_hours"] = table["visits"] * table["median"] / 60
    total = table["overrun_hours"].sum()
    table["share"] = table["overrun_hours"] / total if total else 0.0
    table = table.reset_index().merge(_steps_of(frames, code), on="seq", how="left")
    return table.sort_values("overrun_hours", ascending=False, kind="stable").reset_index(drop=True)


def backlog(frames: Frames, *, unit_names: dict[int, str],
            outstanding: dict[int, tuple[str, ...]]) -> pd.DataFrame:
    """Open visits per Pelaksana (role and unit; a multi-unit step counts once for every
    unit still to submit), by ageing bucket (working days) and SLA state."""
    open_now = frames.visits.loc[frames.visits["is_open"],
                                 ["visit_id", "role", "unit_id", "duration", "sla_state"]]
    rows = open_now.assign(role=open_now["role"].astype(str),
                           sla_state=open_now["sla_state"].astype(str),
                           unit=open_now["unit_id"].map(unit_names).astype("object")
                           .fillna("–"))
    per_unit = pd.DataFrame([(visit, unit) for visit, units in outstanding.items()
                             for unit in units], columns=["visit_id", "outstanding"])
    rows = rows.merge(per_unit, on="visit_id", how="left")
    rows["unit"] = rows["outstanding"].fillna(rows["unit"])
    labels = [label for label, _, _ in AGEING]
    rows["bucket"] = pd.cut(rows["duration"] / WORKDAY_MINUTES,
                            bins=[low for _, low, _ in AGEING] + [np.inf], right=False,
                            labels=labels)
    counts = pd.crosstab([rows["role"], rows["unit"]],
                         pd.Categorical(rows["sla_state"], categories=list(SLA_STATES)),
                         dropna=False)
    buckets = pd.crosstab([rows["role"], rows["unit"]], rows["bucket"], dropna=False)
    table = counts.join(buckets).reindex(columns=[*SLA_STATES, *labels], fill_value=0)
    table = table[table.sum(axis=1) > 0]
    table["total"] = table[list(SLA_STATES)].sum(axis=1)
    table.columns = [str(c) for c in table.columns]
    return table.reset_index().sort_values(["overdue", "total"], ascending=False,
                                           kind="stable").reset_index(drop=True)


def transitions(frames: Frames, *, code: str, period: PeriodChoice) -> tuple[pd.DataFrame,
                                                                              pd.DataFrame]:
    """The process as it ran: per step, visits and median working time; per arrow (from one
    visit to the next in a case), how often and the median working time of the visit it led
    to. Return loops are the arrows going back."""
    start, end = _ns(period.bounds()[0]), _ns(period.bounds()[1])
    own = frames.visits[frames.visits["sop_code"] == code]
    own = own[(own["available_ns"] < end) & ((own["ended_ns"] >= start) | own["is_open"])]
    own = own.sort_values(["case_id", "visit_id"])
    previous = own.groupby("case_id")["seq"].shift(1)
    edges = own.assign(source=previous.fillna(0).astype(int))
    measured = own[own["measured"]].groupby("seq")
    nodes = pd.DataFrame({
        "visits": measured.size(), "median": measured["duration"].median(),
        "open": own[own["is_open"]].groupby("seq").size(),
    })  # every step seen: ended, open, or both
    nodes = nodes.fillna({"visits": 0, "open": 0}).astype({"visits": int, "open": int})
    arrows = edges.groupby(["source", "seq"]).agg(count=("visit_id", "size"),
                                                  median=("duration", "median")).reset_index()
    arrows = arrows.rename(columns={"seq": "target"})
    return nodes.rename_axis("seq").reset_index(), arrows


# --- progress ------------------------------------------------------------------------------------


def active_cases(frames: Frames, *, code: str, steps_total: int) -> pd.DataFrame:
    """Running cases of an SOP: current step, its role and unit, age, SLA state, progress."""
    open_now = frames.visits[frames.visits["is_open"] & (frames.visits["sop_code"] == code)]
    return pd.DataFrame({
        "case_id": open_now["case_id"].to_numpy(), "seq": open_now["seq"].to_numpy(),
        "role": open_now["role"].astype(str).to_numpy(),
        "unit_id": open_now["unit_id"].to_numpy(), "age": open_now["duration"].to_numpy(),
        "target": open_now["target"].to_numpy(),
        "sla_state": open_now["sla_state"].astype(str).to_numpy(),
        "progress": (open_now["seq"].to_numpy() - 1) / steps_total,
        "available_ns": open_now["available_ns"].to_numpy(),
    }).sort_values("progress", ascending=False, kind="stable").reset_index(drop=True)


def completed_cases(frames: Frames, *, code: str, period: PeriodChoice) -> pd.DataFrame:
    """Cases completed in the period: lead time against the sum of the targets on their path
    without returns (the first pass of every step)."""
    done = _completed_in(frames.cases, period.bounds())
    done = done[done["sop_code"] == code]
    first_pass = frames.visits[(frames.visits["pass_no"] == 1)
                               & frames.visits["case_id"].isin(done["case_id"])]
    planned = first_pass.groupby("case_id")["target"].sum(min_count=1)
    returns = frames.visits[frames.visits["is_return"]].groupby("case_id").size()
    table = done[["case_id", "lead_time", "ended_ns"]].copy()
    table["planned"] = table["case_id"].map(planned)
    table["returns"] = table["case_id"].map(returns).fillna(0).astype(int)
    table["ratio"] = table["lead_time"] / table["planned"]
    return table.sort_values("ended_ns", ascending=False).reset_index(drop=True)

