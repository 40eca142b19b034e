"""The pages' data: the history kept per data version, and its state at any instant.

The history (every visit and case, durations of ended visits) does not depend on the time of
day, only on what is recorded, so it is kept per data version (services.metrics.data_version,
read on every run): a step recorded in any app process changes the version and the next rerun
anywhere recomputes. The state at an instant (ages, SLA states, pending items) is derived
from it on every run, so ages are always current and a past period shows its own end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from db.engine import database_url, read_session
from services.accounts import Actor
from services.clock import utcnow
from services.metrics import History, Snapshot, data_version, period_as_of, read_history, snapshot
from services.periods import PeriodChoice
from services.tasks import overdue_count
from ui.runtime import engine


@st.cache_resource(max_entries=2, show_spinner="Menghitung ulang angka dari data terbaru ...")
def _history(url: str, version: tuple[Any, ...]) -> History:
    with read_session(engine()) as session:
        return read_history(session)


def cached_history() -> History:
    """Every visit and case, as of the latest write. Shared by every session of this process:
    treat it as read-only."""
    with read_session(engine()) as session:
        return _history(database_url(), data_version(session))


def state_at(as_of: datetime) -> Snapshot:
    return snapshot(cached_history(), as_of=as_of)


def period_state(period: PeriodChoice) -> Snapshot:
    """The state a period's figures stand at: its end when it is closed, now otherwise."""
    return state_at(period_as_of(period, now=utcnow()))


@st.cache_resource(max_entries=2, show_spinner=False)
def _running(url: str, version: tuple[Any, ...]) -> History:
    with read_session(engine()) as session:
        return read_history(session, running_only=True)


@st.cache_resource(max_entries=2, show_spinner=False)
def _items_at(url: str, version: tuple[Any, ...], minute: datetime) -> pd.DataFrame:
    return snapshot(_running(url, version), as_of=minute).items


def my_overdue_count(actor: Actor) -> int:
    """The user's overdue tasks now, for the sidebar on every page run. Only what is running
    is read (once per data version, not the whole history a dashboard needs), and its state
    is computed once a minute for every session of the process: a run pays a lookup."""
    with read_session(engine()) as session:
        version = data_version(session)
    minute = utcnow().replace(second=0, microsecond=0)
    return overdue_count(_items_at(database_url(), version, minute), actor=actor)
