"""The pages' data: the history kept per data version, and its state at any instant.

The history (every visit and case, durations of ended visits) does not depend on the time of
day, only on what is recorded, so it is kept (services.history_cache) and stamped with the
data version read on every run: a step recorded in any app process changes the version, and
the next rerun anywhere reads just the cases that changed. The state at an instant (ages, SLA
states, pending items) is derived from it on every run, so ages are always current and a past
period shows its own end.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from db.engine import database_url, read_session
from services.access import readable_state
from services.accounts import Actor
from services.clock import utcnow
from services.history_cache import HistoryCache, cache_directory
from services.metrics import (
    History,
    Snapshot,
    data_version,
    period_as_of,
    read_history,
    running_part,
    snapshot,
)
from services.periods import PeriodChoice
from services.tasks import overdue_count
from ui.runtime import engine

# Storing the disk copy costs as much CPU as splicing a write in (a million events: 0.2 s);
# done after every write, it competed with the next page on a two-core server.
STORE_DELAY_SECONDS = 30.0


@st.cache_resource(show_spinner=False)
def _cache(url: str) -> HistoryCache:
    return HistoryCache(url=url, directory=cache_directory(url), write_behind=True,
                        store_delay=STORE_DELAY_SECONDS, room_at_read=True)


@st.cache_resource(show_spinner=False)
def _warming(url: str) -> threading.Thread:
    cache, database = _cache(url), engine()

    def load() -> None:
        with read_session(database) as session:
            cache.history(session).month_sums  # noqa: B018 - made here, not by the first page

    thread = threading.Thread(target=load, name="pantau-history-warm", daemon=True)
    thread.start()
    return thread


def warm_history() -> threading.Thread:
    """Loads the history into this process in the background, once, with its month sums:
    from the disk, where `manage.py init` left it before the server started. Called by the
    first run of the process (the sign-in page), so the visitor's first dashboard does not
    wait for it; a page that asks meanwhile waits for the same load instead of starting
    another."""
    return _warming(database_url())


def cached_history() -> History:
    """Every visit and case, as of the latest write. Shared by every session of this process:
    treat it as read-only."""
    # Shown only when it takes a while (a full read after a calendar or catalog change).
    with st.spinner("Menghitung ulang angka dari data terbaru ..."), \
            read_session(engine()) as session:
        return _cache(database_url()).history(session)


def state_at(as_of: datetime, *, actor: Actor) -> Snapshot:
    """The state at `as_of`, of what `actor` may read (services.access)."""
    with read_session(engine()) as session:
        return readable_state(session, snapshot(cached_history(), as_of=as_of), actor=actor)


def period_state(period: PeriodChoice, *, actor: Actor) -> Snapshot:
    """The state a period's figures stand at: its end when it is closed, now otherwise."""
    return state_at(period_as_of(period, now=utcnow()), actor=actor)


@st.cache_resource(max_entries=2, show_spinner=False)
def _running(url: str, version: tuple[Any, ...]) -> History:
    """What is running, for the sidebar's count: from the history this process keeps, when
    it has it (a write is then read once, for the count and the dashboards alike), else read
    on its own (never waiting for the whole history)."""
    with read_session(engine()) as session:
        kept = _cache(url).history_if_kept(session)
        return running_part(kept) if kept is not None \
            else read_history(session, running_only=True)


@st.cache_resource(max_entries=2, show_spinner=False)
def _items_at(url: str, version: tuple[Any, ...], minute: datetime) -> pd.DataFrame:
    return snapshot(_running(url, version), as_of=minute).items


def running_state() -> Snapshot:
    """What is running now (the pending items, their ages and SLA states), from what this
    process keeps per data version (`_running`): Tugas Saya's page, every run."""
    with read_session(engine()) as session:
        version = data_version(session)
    return snapshot(_running(database_url(), version), as_of=utcnow())


def my_overdue_count(actor: Actor) -> int:
    """The user's overdue tasks now, for the sidebar on every page run. Only what is running
    is read (once per data version, not the whole history a dashboard needs), and its state
    is computed once a minute for every session of the process: a run pays a lookup."""
    with read_session(engine()) as session:
        version = data_version(session)
    minute = utcnow().replace(second=0, microsecond=0)
    return overdue_count(_items_at(database_url(), version, minute), actor=actor)
