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

import streamlit as st

from db.engine import database_url, read_session
from services.access import readable_state
from services.accounts import Actor
from services.clock import utcnow
from services.metrics import History, Snapshot, data_version, period_as_of, read_history, snapshot
from services.periods import PeriodChoice
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


def state_at(as_of: datetime, *, actor: Actor) -> Snapshot:
    """The state at `as_of`, of what `actor` may read (services.access)."""
    with read_session(engine()) as session:
        return readable_state(session, snapshot(cached_history(), as_of=as_of), actor=actor)


def period_state(period: PeriodChoice, *, actor: Actor) -> Snapshot:
    """The state a period's figures stand at: its end when it is closed, now otherwise."""
    return state_at(period_as_of(period, now=utcnow()), actor=actor)
