"""Tugas Saya: every open step I may act on, overdue and oldest first; one click to record."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services.formatting import age_against_target, format_number, format_wib
from services.tasks import my_items, tasks_of
from ui.data import running_state
from ui.format import SLA, sla_label
from ui.messages import show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape

SHOWN = 60

require_app()
actor = current_actor()
show_flash()
st.title("Tugas Saya")
state = running_state()
items = my_items(state.items, actor=actor)
if actor.may_record_for_others:
    st.caption("Sebagai pencatat, Anda melihat semua langkah yang sedang berjalan dan dapat "
               "mencatatnya atas nama pelaksananya.")
else:
    st.caption(f"Langkah yang menunggu peran Anda: {', '.join(sorted(actor.roles))}.")

if items.empty:
    st.success("Tidak ada langkah yang menunggu Anda.", icon=":material/task_alt:")
    st.page_link("pages/mulai.py", label="Mulai kasus baru", icon=":material/add_circle:")
    st.stop()

counts = items["sla_state"].astype(str).value_counts()
for column, sla_state in zip(st.columns(len(SLA)), SLA, strict=True):
    column.metric(sla_label(sla_state), format_number(counts.get(sla_state, 0)))

states = st.multiselect("Tampilkan", list(SLA), default=list(SLA), format_func=sla_label,
                        placeholder="Pilih keadaan tugas")
sop_names = {code: sop.name for code, sop in state.catalog.items()}
sops = sorted(items["sop_code"].astype(str).unique())
chosen_sops = st.multiselect("SOP", sops, default=sops, format_func=lambda c: sop_names.get(c, c),
                             placeholder="Pilih SOP")
shown = items[items["sla_state"].isin(states) & items["sop_code"].isin(chosen_sops)]
st.caption(f"{format_number(len(shown))} tugas"
           + (f"; {SHOWN} teratas ditampilkan" if len(shown) > SHOWN else ""))
with read_session(engine()) as session:
    tasks = tasks_of(session, items=shown.head(SHOWN), catalog=state.catalog)

for task in tasks:
    item = task.item
    with st.container(border=True):
        left, right = st.columns([5, 1], vertical_alignment="center")
        unit = f" · belum menyerahkan: {item.unit}" if item.unit else ""
        left.markdown(
            f"**{sla_label(item.sla_state)}** · **Langkah {markdown_escape(item.label)}: "
            f"{markdown_escape(task.activity)}**  \n"
            f"{markdown_escape(task.title)} ({markdown_escape(item.case_id)}) · "
            f"{markdown_escape(item.role)}"
            f"{markdown_escape(unit)}  \n"
            f"Umur {age_against_target(item.age_minutes, item.target_minutes)} · tersedia sejak "
            f"{format_wib(item.available_at)}")
        right.page_link("pages/catat.py", label="Catat", icon=":material/edit_note:",
                        query_params={"kasus": str(item.case_pk)})
