"""Antrean per Pelaksana: pending items per role and unit, or per person, by SLA state and
age; every bar and row opens its items. Everyone sees their own queue; the Kadis, the
Sekretaris and admins see everyone's."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services import dashboards, drilldown
from services.access import reads_everything
from services.accounts import role_holders
from services.catalog.store import current_catalog
from services.clock import utcnow
from services.formatting import format_number, format_wib
from services.metrics import SLA_STATES, scope
from services.organisation import list_units
from ui.data import state_at
from ui.filters import sop_filter, unit_filter
from ui.format import sla_label
from ui.queue import person_view, queue_view
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor

require_app()
actor = current_actor()
st.title("Antrean per Pelaksana")
with read_session(engine()) as session:
    catalog = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
    units = list_units(session)
    holders = role_holders(session)
sees_everyone = reads_everything(actor)
left, right = st.columns(2)
sops = sop_filter(left, catalog)
unit_code = unit_filter(right, {u.code: u.name for u in units})
state = scope(state_at(utcnow(), actor=actor), sop_codes=sops,
              unit_id=next((u.id for u in units if u.code == unit_code), None))
queue = dashboards.backlog(state, unit_names={u.id: u.name for u in units})
people = dashboards.backlog_per_person(state, holders=holders)
if not sees_everyone:
    queue = queue[queue["role"].isin(actor.roles)].reset_index(drop=True)
    people = people[people["username"] == actor.username].reset_index(drop=True)
    st.caption(f"Antrean peran Anda: {', '.join(sorted(actor.roles)) or '-'} · keadaan per "
               f"{format_wib(state.as_of)}.")
else:
    st.caption(f"Semua Pelaksana · keadaan per {format_wib(state.as_of)}.")
st.caption("Satu tugas = satu langkah yang menunggu; langkah yang diserahkan per unit dihitung "
           "satu tugas untuk setiap unit yang belum menyerahkan.")
if queue.empty:
    st.success("Tidak ada langkah yang tertunda.")
    st.stop()
for column, sla in zip(st.columns(4), SLA_STATES, strict=True):
    column.metric(sla_label(sla), format_number(queue[sla].sum()))
base = drilldown.Drill(sop_codes=sops or (), unit_code=unit_code)
by_role, by_person = st.tabs(["Per Pelaksana (peran dan unit)", "Per orang"])
with by_role:
    queue_view(queue, base=base, unit_codes={u.id: u.code for u in units}, key="antrean")
with by_person:
    st.caption("Tugas yang menunggu setiap orang menurut perannya (langkah multi-unit: unitnya "
               "sendiri). Tugas satu peran yang dipegang beberapa orang terhitung pada "
               "masing-masing.")
    if people.empty:
        st.success("Tidak ada tugas yang menunggu siapa pun.")
    else:
        person_view(people, base=base, key="antrean-orang")
st.page_link("pages/tugas.py", label="Buka Tugas Saya untuk mencatat", icon=":material/checklist:")
