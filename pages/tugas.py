"""Tugas Saya: every open step I may act on, overdue and oldest first; one click to record."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from db.engine import read_session
from services.catalog.store import current_catalog
from services.formatting import age_against_target, format_wib
from services.tasks import tasks_for
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
with read_session(engine()) as session:
    tasks = tasks_for(session, actor=actor)
    sop_names = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
if actor.may_record_for_others:
    st.caption("Sebagai pencatat, Anda melihat semua langkah yang sedang berjalan dan dapat "
               "mencatatnya atas nama pelaksananya.")
else:
    st.caption(f"Langkah yang menunggu peran Anda: {', '.join(sorted(actor.roles))}.")

if not tasks:
    st.success("Tidak ada langkah yang menunggu Anda.", icon=":material/task_alt:")
    st.page_link("pages/mulai.py", label="Mulai kasus baru", icon=":material/add_circle:")
    st.stop()

counts = Counter(task.item.sla_state for task in tasks)
for column, state in zip(st.columns(len(SLA)), SLA, strict=True):
    column.metric(sla_label(state), counts.get(state, 0))

states = st.multiselect("Tampilkan", list(SLA), default=list(SLA), format_func=sla_label,
                        placeholder="Pilih keadaan tugas")
sops = sorted({task.item.sop_code for task in tasks})
chosen_sops = st.multiselect("SOP", sops, default=sops, format_func=lambda c: sop_names.get(c, c),
                             placeholder="Pilih SOP")
shown = [t for t in tasks if t.item.sla_state in states and t.item.sop_code in chosen_sops]
st.caption(f"{len(shown)} tugas" + (f"; {SHOWN} teratas ditampilkan" if len(shown) > SHOWN else ""))

for task in shown[:SHOWN]:
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
