"""One measured task, run in its own process so its peak memory is its own.

Prints one JSON line: {"seconds": ..., "max_rss_mb": ..., ...}.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import make_engine, read_session, write_session
from db.models import Case, Visit
from services.accounts import SYSTEM
from services.bootstrap import initialise
from services.calendar import WorkingCalendar, load_calendar_settings
from services.clock import utcnow
from services.eventlog import export_event_csv, import_event_csv
from services.metrics import compute_metrics, epoch_ns, metrics_json


def _rss_mb() -> float:
    """Peak resident memory of this process, plus its largest child's (the import's first pass
    runs in one: counted whole, the pages it shares with this process too, so the figure is an
    upper bound). Not this process's ru_maxrss: Linux carries that over execve from the parent
    (the bench runner, which may have built a large database)."""
    own = next((int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:")), None)
    if own is None:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (own + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def metrics(url: str) -> dict[str, object]:
    engine = make_engine(url)
    start = time.perf_counter()
    with read_session(engine) as session:
        document = json.dumps(metrics_json(compute_metrics(session)))
    return {"seconds": time.perf_counter() - start, "bytes": len(document)}


def _pairs(session: Session, start_column: Any, end_column: Any) -> tuple[np.ndarray, np.ndarray]:
    rows = session.execute(select(epoch_ns(start_column), epoch_ns(end_column))
                           .where(end_column.is_not(None))).all()
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    return starts, ends


def durations(url: str) -> dict[str, object]:
    """The clock alone, on instants already in memory: every ended visit's working time, and
    (what the PM4Py peer computes) every visit's and every completed case's."""
    engine = make_engine(url)
    with read_session(engine) as session:
        visit_starts, visit_ends = _pairs(session, Visit.available_at, Visit.ended_at)
        case_starts, case_ends = _pairs(session, Case.started_at, Case.ended_at)
        calendar = WorkingCalendar(load_calendar_settings(session))
    calendar.working_minutes(visit_starts[:1], visit_ends[:1])  # the day table, once per process
    start = time.perf_counter()
    minutes = calendar.working_minutes(visit_starts, visit_ends)
    visits_only = time.perf_counter() - start
    calendar.working_minutes(case_starts, case_ends)
    return {"seconds": visits_only, "with_cases_seconds": time.perf_counter() - start,
            "visits": len(minutes), "cases": len(case_starts)}


def export(url: str, out: str) -> dict[str, object]:
    engine = make_engine(url)
    start = time.perf_counter()
    with read_session(engine) as session, open(out, "w", encoding="utf-8", newline="") as handle:
        count = export_event_csv(session, out=handle)
    return {"seconds": time.perf_counter() - start, "events": count}


def import_(url: str, log: str, people: str = "") -> dict[str, object]:
    """`people` "demo": the demo's accounts are created first (not timed), so the pages can be
    measured on the result."""
    engine = make_engine(url)
    initialise(engine=engine)
    if people == "demo":
        from services.demo import create_demo_people

        with write_session(engine) as session:
            create_demo_people(session, actor=SYSTEM, now=utcnow())
    data = Path(log).read_bytes()
    start = time.perf_counter()
    with write_session(engine) as session:
        result = import_event_csv(session, data=data, actor=SYSTEM, now=utcnow())
    return {"seconds": time.perf_counter() - start, "events": result.events}


def dashboard_figures(url: str, copies: str) -> dict[str, object]:
    """The Dasbor's figures (year 2026 beside 2025: tiles, compliance per SOP and per month)
    on the kept history tiled `copies` times: every case again under new ids, at the same
    instants. Not a database of ten million events (building one takes hours here); it
    measures how the page's own work and the app's memory grow with the history."""
    from dataclasses import replace

    import pandas as pd

    from services import dashboards
    from services.history_cache import HistoryCache, cache_directory
    from services.metrics import by_end, period_as_of, snapshot
    from services.periods import year

    engine = make_engine(url)
    with read_session(engine) as session:
        kept = HistoryCache(url=url, directory=cache_directory(url)).history(session)
    times = int(copies)
    shift = {"case_id": int(kept.cases["case_id"].max()) + 1,
             "visit_id": int(max(kept.ended["visit_id"].max(), kept.running["visit_id"].max())) + 1}

    def tiled(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([frame.assign(**{column: frame[column] + copy * step
                                          for column, step in shift.items()
                                          if column in frame.columns})
                          for copy in range(times)], ignore_index=True)

    history = replace(kept, ended=by_end(tiled(kept.ended)), running=tiled(kept.running),
                      cases=tiled(kept.cases), units=tiled(kept.units))
    del kept
    period = year(2026)

    def figures() -> None:
        now = utcnow()
        current = snapshot(history, as_of=period_as_of(period, now=now))
        previous = snapshot(history, as_of=period_as_of(period.previous(), now=now))
        dashboards.tiles(current, previous, period=period)
        dashboards.compliance_by_sop(current, period=period)
        dashboards.compliance_by_month(current, months=period.chart_months())

    figures()  # the calendar's day table, once per process as in the app
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        figures()
        runs.append(time.perf_counter() - start)
    return {"seconds": sorted(runs)[1], "visits": len(history.ended) + len(history.running)}


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "metrics": metrics, "durations": durations, "export": export, "import": import_,
    "dashboard-figures": dashboard_figures}

if __name__ == "__main__":
    name, *args = sys.argv[1:]
    result = TASKS[name](*args)
    result["max_rss_mb"] = round(_rss_mb(), 1)
    print(json.dumps(result))
