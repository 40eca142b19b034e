"""Entering when something happened, quickly, also when a recorder writes up a day of the
Buku Agenda: now; a date and a time that start at the last ones used in this session; or a
number of minutes after the case's previous event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import streamlit as st

from services.clock import utcnow
from services.formatting import WIB, format_wib

MODES = {"now": "Sekarang", "at": "Tanggal dan jam", "after": "Sesudah kejadian sebelumnya"}
_LAST = "pantau-waktu-terakhir"  # the last instant recorded in this session
_GAP = "pantau-selang-terakhir"  # the last "minutes after" used


@dataclass(frozen=True)
class EventTime:
    """What the time fields say: now (to the second, when saved), or a chosen minute."""

    chosen: datetime | None  # None: now

    def instant(self, *, not_before: datetime | None = None) -> datetime:
        """The instant to record. A chosen minute that is the minute of the previous event
        means that event's time, not the seconds before it."""
        instant = utcnow() if self.chosen is None else self.chosen
        if not_before is not None and instant < not_before and \
                instant >= not_before.replace(second=0, microsecond=0):
            return not_before
        return instant


def time_mode(*, key: str, after_previous: bool = True) -> str:
    """How the time will be given (outside the form, so the form shows only its fields)."""
    modes = [mode for mode in MODES if after_previous or mode != "after"]
    mode = st.segmented_control("Waktu kejadian", modes, format_func=lambda m: MODES[m],
                                default="now", key=f"{key}-cara")
    return mode or "now"


def time_fields(mode: str, *, key: str, previous: datetime | None = None) -> EventTime:
    """The fields of `mode`, inside a form."""
    if mode == "at":
        return EventTime(date_and_time(label="Waktu kejadian", key=key))
    if mode == "after" and previous is not None:
        minutes = st.number_input(
            f"Menit sesudah kejadian sebelumnya ({format_wib(previous)})", min_value=0,
            max_value=60 * 24 * 30, step=5, value=int(st.session_state.get(_GAP, 10)),
            key=f"{key}-selang")
        st.session_state[_GAP] = minutes
        return EventTime(previous + timedelta(minutes=int(minutes)))
    st.caption("Dicatat dengan waktu saat tombol ditekan.")
    return EventTime(None)


def date_and_time(*, label: str, key: str) -> datetime:
    """A date and a time in WIB, starting at the last ones used in this session (or now)."""
    last = st.session_state.get(_LAST) or datetime.now(WIB).replace(second=0, microsecond=0)
    left, right = st.columns(2)
    day: date = left.date_input(f"{label}: tanggal", value=last.date(), key=f"{key}-tanggal",
                                format="DD/MM/YYYY")
    clock: time = right.time_input(f"{label}: jam (WIB)", value=last.time(), key=f"{key}-jam",
                                   step=60)
    return datetime.combine(day, clock, tzinfo=WIB)


def remember(instant: datetime, *, key: str) -> None:
    """After a save: the next date-and-time fields start at this instant."""
    st.session_state[_LAST] = instant.astimezone(WIB).replace(second=0, microsecond=0,
                                                              tzinfo=WIB)
    for suffix in ("tanggal", "jam", "selang"):
        st.session_state.pop(f"{key}-{suffix}", None)
