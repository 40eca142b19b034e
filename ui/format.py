"""Display conventions shared by every page: one meaning per SLA state, WIB date inputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from streamlit.delta_generator import DeltaGenerator

from services.accounts import Actor
from services.formatting import SLA_LABELS, format_number

if TYPE_CHECKING:  # the pages that show no tile need not load the dashboards' figures
    from services.dashboards import Tile

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


def progress_bar(bar: DeltaGenerator) -> Callable[[str, float], None]:
    """What the services report as progress (a label and a share), shown on a progress bar."""
    def report(label: str, share: float) -> None:
        bar.progress(share, text=label)
    return report


def actor_roles_label(actor: Actor) -> str:
    """"Kadis", "Fungsional, Admin", "Admin"; an account with neither says so."""
    parts = sorted(actor.roles) + (["Admin"] if actor.is_admin else [])
    return ", ".join(parts) or "tanpa peran"


def tile_change(tile: Tile) -> str | None:
    """A tile's change since the period before: "+1,5 poin" for a rate, "+3" for a count,
    "tetap" when none, nothing when either side has no figure."""
    if tile.value is None or tile.previous is None:
        return None
    if tile.kind == "rate":
        points = round((tile.value - tile.previous) * 100, 1)
        return "tetap" if points == 0 else f"{points:+.1f} poin".replace(".", ",")
    change = tile.value - tile.previous
    return "tetap" if change == 0 else ("+" if change > 0 else "") + format_number(change)
