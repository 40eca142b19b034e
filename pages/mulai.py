"""Mulai Kasus: start a case of an SOP (title, period, due dates of scheduled steps)."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session, write_session
from services.cases import startable_sops
from services.clock import utcnow
from services.errors import ServiceError
from services.organisation import list_units
from services.workflow.engine import start_case
from ui.event_time import date_and_time, remember, time_fields, time_mode
from ui.messages import flash, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape

require_app()
actor = current_actor()
show_flash()
st.title("Mulai Kasus")
with read_session(engine()) as session:
    sops = {sop.code: sop for sop in startable_sops(session, actor=actor)}
    unit_views = list_units(session, active_only=True)
units = {unit.code: unit.name for unit in unit_views}
if not sops:
    st.warning("Anda tidak berwenang memulai kasus SOP mana pun: kasus dimulai oleh pelaksana "
               "langkah pertamanya atau oleh pencatat.")
    st.stop()

code = st.selectbox("SOP", list(sops), format_func=lambda c: sops[c].name)
sop = sops[code]
st.caption(markdown_escape(f"Langkah pertama dilaksanakan oleh {sop.first_role}."))

mode = time_mode(key="mulai-waktu", after_previous=False)
with st.form(f"mulai-{code}"):
    title = st.text_input("Judul kasus", help="Paling banyak 200 karakter.",
                          placeholder=f"mis. {sop.name} Tahun 2025")
    period = st.text_input("Periode (opsional)", help="Paling banyak 40 karakter.", placeholder="mis. 2025-T3")
    schedule = {}
    for seq, label, activity in sop.scheduled_steps:
        st.markdown(markdown_escape(f"Jadwal langkah {label}: {activity}"))
        schedule[seq] = date_and_time(label=f"Jadwal langkah {label}", key=f"jadwal-{code}-{seq}")
    unit_options = [None, *units]
    default_unit = next((u.code for u in unit_views if u.id == actor.unit_id), None)
    unit = st.selectbox("Unit pemilik kasus", unit_options,
                        format_func=lambda c: "-" if c is None else units[c],
                        index=unit_options.index(default_unit) if default_unit else 0)
    at = time_fields(mode, key="mulai-waktu")
    note = st.text_area("Catatan (opsional)", help="Paling banyak 2.000 karakter.")
    submitted = st.form_submit_button("Mulai kasus", type="primary")

if submitted:
    try:
        with write_session(engine()) as session:
            started = start_case(session, actor=actor, sop_code=code, title=title,
                                 at=at.instant(),
                                 period_label=period or None, schedule=schedule,
                                 unit_code=unit, note=note or None, now=utcnow())
    except ServiceError as error:
        show_error(str(error))
    else:
        remember(started.at, key="mulai-waktu")
        flash(f"Kasus '{title.strip()}' ({started.case_ref}) dimulai. Berikutnya: langkah "
              f"{started.next_label}, dipegang {started.next_role}.")
        st.switch_page("pages/catat.py", query_params={"kasus": str(started.case_id)})
