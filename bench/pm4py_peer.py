#!/usr/bin/env python3
"""Peer benchmark: times PM4Py (the reference open-source process-mining library) on the work
Pantau SOP's metrics do, on the same event log and the same working calendar.

Usage: python pm4py_peer.py EVENTS.csv [--runs N] [--json]
EVENTS.csv is Pantau SOP's event-log export (docs/metrics.md, "Event logs"). Needs pm4py, pandas and holidays
in the running interpreter; keep them in their own virtual environment (PM4Py is AGPL-3.0):
  python3 -m venv peer-venv && peer-venv/bin/pip install pm4py holidays pandas
It prints the median wall time of each PM4Py call over N runs (default 3):
- case_durations: pm4py.get_all_case_durations with business hours and the Indonesian calendar
- performance_dfg: pm4py.discover_performance_dfg with business hours (time between consecutive
  events of a case, i.e. the duration of each visit)
- rework: pm4py.get_rework_cases_per_activity
Timings exclude reading the CSV; formatting the frame for PM4Py is timed separately.
"""
import argparse
import contextlib
import io
import json
import statistics
import sys
import time

import holidays
import pandas as pd

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import pm4py  # quiet its licence banner

H = 3600
# Monday-Thursday 07:30-12:00, 13:00-16:00; Friday 07:30-11:30, 13:00-16:30 (Perpres 21/2023 week)
SLOTS = []
for wd in range(4):
    SLOTS += [(wd * 24 * H + int(7.5 * H), wd * 24 * H + 12 * H), (wd * 24 * H + 13 * H, wd * 24 * H + 16 * H)]
SLOTS += [(4 * 24 * H + int(7.5 * H), 4 * 24 * H + int(11.5 * H)), (4 * 24 * H + 13 * H, 4 * 24 * H + int(16.5 * H))]


class IndonesianCalendar:
    def __init__(self):
        self._years = {}

    def is_working_day(self, day):
        if day.year not in self._years:
            self._years[day.year] = holidays.ID(years=day.year, categories=("public", "government"))
        return day not in self._years[day.year]


def load(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df[df["event"].isin(["start", "complete", "approve", "return"])].copy()
    ts = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601").dt.tz_convert("Asia/Pontianak").dt.tz_localize(None)
    df["time:timestamp"] = ts
    df["concept:name"] = df["sop_code"] + ":" + df["step"].where(df["event"] != "start", "start")
    df["case:concept:name"] = df["case_id"]
    return df[["case:concept:name", "concept:name", "time:timestamp"]]


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events"); ap.add_argument("--runs", type=int, default=3); ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    raw = load(a.events)
    cal = IndonesianCalendar()
    fmt = lambda: pm4py.format_dataframe(raw.copy(), case_id="case:concept:name", activity_key="concept:name", timestamp_key="time:timestamp")
    res = {"pm4py": pm4py.__version__, "events": int(len(raw)), "cases": int(raw["case:concept:name"].nunique())}
    res["format_s"] = timed(fmt, a.runs)
    df = fmt()
    # pm4py.get_all_case_durations takes no calendar argument; its statistics module does
    from pm4py.statistics.traces.generic.pandas import case_statistics
    params = {"business_hours": True, "business_hour_slots": SLOTS, "workcalendar": cal}
    res["case_durations_s"] = timed(lambda: case_statistics.get_cases_description(df, parameters=params), a.runs)
    res["performance_dfg_s"] = timed(lambda: pm4py.discover_performance_dfg(df, business_hours=True, business_hour_slots=SLOTS, workcalendar=cal), a.runs)
    res["rework_s"] = timed(lambda: pm4py.get_rework_cases_per_activity(df), a.runs)
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    sys.exit(main())
