"""Pending items per Pelaksana, or per person: a stacked bar chart and its table, both opening
the items behind each bar and row (Antrean and Hambatan)."""

from __future__ import annotations

import pandas as pd

from services import drilldown
from services.metrics import SLA_STATES
from ui import charts, drill
from ui.format import sla_label

STATE_COLUMNS = {state: sla_label(state) for state in SLA_STATES}


def queue_view(queue: pd.DataFrame, *, base: drilldown.Drill, unit_codes: dict[int, str],
               key: str) -> None:
    """`queue`: services.dashboards.backlog (per role and unit)."""
    def links(sla: str | None) -> list[str]:
        return [drilldown.behind_queue(base, role, unit_codes.get(int(unit_id)), sla).link
                for role, unit_id in zip(queue["role"], queue["unit_id"], strict=True)]

    drill.chart(charts.backlog(queue, links={state: links(state) for state in SLA_STATES}),
                title="Tugas tertunda per Pelaksana", key=f"{key}-grafik")
    drill.table(queue.drop(columns="unit_id").rename(columns={
        "role": "Pelaksana", "unit": "Unit", "total": "Jumlah", **STATE_COLUMNS}),
        links=links(None), key=f"{key}-tabel")
    drill.hint()


def person_view(people: pd.DataFrame, *, base: drilldown.Drill, key: str) -> None:
    """`people`: services.dashboards.backlog_per_person."""
    def links(sla: str | None) -> list[str]:
        return [drilldown.behind_person(base, username, sla).link
                for username in people["username"]]

    drill.chart(charts.backlog(people, names=list(people["full_name"]),
                               links={state: links(state) for state in SLA_STATES}),
                title="Tugas tertunda per orang", key=f"{key}-grafik")
    drill.table(pd.DataFrame({
        "Nama": people["full_name"], "Peran": people["roles"],
        "Jumlah": people["total"], **{label: people[state]
                                      for state, label in STATE_COLUMNS.items()}}),
        links=links(None), key=f"{key}-tabel")
    drill.hint()
