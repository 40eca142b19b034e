"""The dashboards' data: the history (ended visits, cases) kept per data version, open
visits read fresh on every run.

The expensive part does not depend on the time of day, only on what is recorded, so it is
kept per data version (services.metrics.data_version, read on every run): a step recorded in
any app process changes the version and the next rerun anywhere recomputes. Open visits are
few and are read each run, so ages and SLA states are always current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import streamlit as st

from db.engine import database_url, read_session
from services.calendar import WorkingCalendar, load_calendar_settings
from services.metrics import Frames, data_version, history_frames, resolve_as_of, with_open_visits
from ui.runtime import engine


@dataclass(frozen=True)
class DashboardData:
    frames: Frames
    as_of: datetime
    calendar: WorkingCalendar


@st.cache_resource(max_entries=2, show_spinner="Menghitung ulang angka dari data terbaru ...")
def _history(url: str, version: tuple) -> tuple[Frames, WorkingCalendar]:  # type: ignore[type-arg]
    with read_session(engine()) as session:
        calendar = WorkingCalendar(load_calendar_settings(session))
        return history_frames(session, calendar=calendar), calendar


def dashboard_data() -> DashboardData:
    """Frames with every visit (cached history + fresh open visits). Treat them as read-only:
    they are shared by every session of this process."""
    with read_session(engine()) as session:
        history, calendar = _history(database_url(), data_version(session))
        as_of = resolve_as_of(session, None)
        frames = with_open_visits(session, history, as_of=as_of, calendar=calendar)
    return DashboardData(frames=frames, as_of=as_of, calendar=calendar)


def cached_history() -> Frames:
    """The cached history frames alone (the reports add open visits for their own as-of)."""
    with read_session(engine()) as session:
        return _history(database_url(), data_version(session))[0]
