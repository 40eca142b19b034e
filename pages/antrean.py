"""Antrean per Pelaksana: open steps grouped by role and unit, with counts by SLA state and
age. Everyone sees their own queue; the Kadis, the Sekretaris and admins see everyone's."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services import dashboards
from services.catalog.store import current_catalog
from services.clock import utcnow
from services.formatting import format_wib
from services.metrics import scope
from services.organisation import list_units
from ui import charts
from ui.data import state_at
from ui.filters import sop_filter, unit_filter
from ui.format import sla_label
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor

EVERYONE_FOR = frozenset({"Kadis", "Sekretaris"})

require_app()
actor = current_actor()
st.title("Antrean per Pelaksana")
with read_session(engine()) as session:
    catalog = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
    units = list_units(session)
sees_everyone = actor.is_admin or bool(actor.roles & EVERYONE_FOR)
left, right = st.columns(2)
sops = sop_filter(left, catalog)
unit_code = unit_filter(right, {u.code: u.name for u in units})
state = scope(state_at(utcnow()), sop_codes=sops,
              unit_id=next((u.id for u in units if u.code == unit_code), None))
queue = dashboards.backlog(state, unit_names={u.id: u.name for u in units})
if not sees_everyone:
    queue = queue[queue["role"].isin(actor.roles)]
    st.caption(f"Antrean peran Anda: {', '.join(sorted(actor.roles)) or '-'} · keadaan per "
               f"{format_wib(state.as_of)}.")
else:
    st.caption(f"Semua Pelaksana · keadaan per {format_wib(state.as_of)}.")
st.caption("Satu tugas = satu langkah yang menunggu; langkah yang diserahkan per unit dihitung "
           "satu tugas untuk setiap unit yang belum menyerahkan.")
if queue.empty:
    st.success("Tidak ada langkah yang tertunda.")
    st.stop()
totals = queue[["overdue", "at_risk", "on_time", "no_target"]].sum()
for column, sla in zip(st.columns(4), ["overdue", "at_risk", "on_time", "no_target"], strict=True):
    column.metric(sla_label(sla), int(totals[sla]))
st.plotly_chart(charts.backlog(queue), width="stretch")
st.dataframe(queue.rename(columns={
    "role": "Pelaksana", "unit": "Unit", "total": "Jumlah", "overdue": "■ Terlambat",
    "at_risk": "▲ Berisiko", "on_time": "● Tepat waktu", "no_target": "○ Tanpa target"}),
    hide_index=True, width="stretch")
st.page_link("pages/tugas.py", label="Buka Tugas Saya untuk mencatat", icon=":material/checklist:")
