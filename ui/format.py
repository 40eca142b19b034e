"""Display conventions shared by every page: one meaning per SLA state, WIB date inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from services.accounts import Actor
from services.clock import utcnow
from services.formatting import SLA_LABELS, WIB, format_minutes

# One colour per state everywhere (Okabe-Ito: readable with colour-blindness), always with a
# symbol and a word as well, never colour alone.
SLA = {
    "on_time": (SLA_LABELS["on_time"], "●", "#009E73"),
    "at_risk": (SLA_LABELS["at_risk"], "▲", "#E69F00"),
    "overdue": (SLA_LABELS["overdue"], "■", "#D55E00"),
    "no_target": (SLA_LABELS["no_target"], "○", "#8C8C8C"),
}
WITHIN = ("Dalam Mutu Baku", "#0072B2")
OVER = ("Melewati Mutu Baku", "#D55E00")


def sla_label(state: str) -> str:
    label, symbol, _ = SLA[state]
    return f"{symbol} {label}"


def sla_color(state: str) -> str:
    return SLA[state][2]


def age_against_target(age: float, target: float | None) -> str:
    if target is None:
        return f"{format_minutes(age)} (tanpa target)"
    return f"{format_minutes(age)} dari target {format_minutes(target)}"


@dataclass(frozen=True)
class EventTime:
    """What a date-and-time field says: the chosen minute, and whether it was left at its
    default ("now" when the form appeared)."""

    chosen: datetime
    untouched: bool

    def instant(self, *, not_before: datetime | None = None) -> datetime:
        """The instant to record. Left untouched, the field means now, to the second (the
        field itself only holds minutes). A chosen minute that is the minute of the previous
        event means that event's time, not the seconds before it."""
        instant = utcnow() if self.untouched else self.chosen
        if not_before is not None and instant < not_before and \
                instant >= not_before.replace(second=0, microsecond=0):
            return not_before
        return instant


def wib_datetime_input(label: str, *, key: str) -> EventTime:
    """A date and a time in WIB, defaulting to the minute the form first appeared."""
    default = st.session_state.setdefault(
        f"{key}-bawaan", datetime.now(WIB).replace(second=0, microsecond=0))
    left, right = st.columns(2)
    day: date = left.date_input(f"{label}: tanggal", value=default.date(), key=f"{key}-tanggal",
                                format="DD/MM/YYYY")
    clock: time = right.time_input(f"{label}: jam (WIB)", value=default.time(),
                                   key=f"{key}-jam", step=60)
    chosen = datetime.combine(day, clock, tzinfo=WIB)
    return EventTime(chosen=chosen, untouched=chosen == default)


def forget_default_time(key: str) -> None:
    """After a successful submission: the next form starts at its own "now"."""
    st.session_state.pop(f"{key}-bawaan", None)



def progress_bar(bar: DeltaGenerator) -> Callable[[str, float], None]:
    """What the services report as progress (a label and a share), shown on a progress bar."""
    def report(label: str, share: float) -> None:
        bar.progress(share, text=label)
    return report


def actor_roles_label(actor: Actor) -> str:
    """"Kadis", "Fungsional, Admin", "Admin"; an account with neither says so."""
    parts = sorted(actor.roles) + (["Admin"] if actor.is_admin else [])
    return ", ".join(parts) or "tanpa peran"
