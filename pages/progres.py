"""Progres SOP: per SOP, the running cases (progress, current step, who holds it, age, SLA
state) and the cases completed in the period (lead time against the planned time)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.engine import read_session
from services import dashboards
from services.cases import case_titles
from services.catalog.store import current_catalog
from services.formatting import format_minutes, format_number
from services.metrics import scope
from services.organisation import list_units
from ui import drill
from ui.data import period_state
from ui.filters import as_of_caption, filters
from ui.format import sla_label
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.tables import table
from ui.text import markdown_escape

require_app()
actor = current_actor()
st.title("Progres SOP")
with read_session(engine()) as session:
    entries = {entry.sop.code: entry.sop for entry in current_catalog(session)}
    units = list_units(session)
catalog = {code: sop.name for code, sop in entries.items()}
chosen = filters(catalog, {u.code: u.name for u in units})
state = scope(period_state(chosen.period, actor=actor), sop_codes=chosen.sop_codes,
              unit_id=next((u.id for u in units if u.code == chosen.unit_code), None))
unit_names = {u.id: u.name for u in units}
if state.cases.empty:
    st.info("Belum ada kasus sampai akhir periode ini. Kasus dimulai dari halaman Mulai Kasus.")
    st.stop()
st.caption(f"{chosen.period.label} · kasus berjalan {as_of_caption(state, chosen.period)}")

for code in chosen.sop_codes or list(catalog):
    sop = entries[code]
    running = dashboards.active_cases(state, code=code)
    done_count = dashboards.completed_count(state, code=code, period=chosen.period)
    st.subheader(markdown_escape(sop.name))
    st.caption(f"{format_number(len(running))} kasus berjalan · {format_number(done_count)} "
               f"selesai dalam {chosen.period.label}")
    if len(running):
        with read_session(engine()) as session:
            titles = case_titles(session, case_ids=[int(c) for c in running["case_id"]])
        labels = sop.labels()
        running_table = pd.DataFrame({
            "Kasus": [titles[int(c)][1] for c in running["case_id"]],
            "Nomor": [titles[int(c)][0] for c in running["case_id"]],
            "Kemajuan": running["progress"] * 100,
            "Langkah berjalan": [f"{labels[s]}. {sop.step(s).activity[:50]}"
                                 for s in running["seq"]],
            "Dipegang": [f"{role} · {unit_names.get(int(u), '–')}"
                         for role, u in zip(running["role"], running["unit_id"], strict=True)],
            "Umur": running["age"].map(format_minutes),
            "Target": running["target"].map(format_minutes),
            "Status": running["sla_state"].map(sla_label),
        })
        drill.table(running_table, key=f"berjalan-{code}",
                    links=[f"kasus={int(case_id)}" for case_id in running["case_id"]],
                    column_config={"Kemajuan": st.column_config.ProgressColumn(
                        format="%.0f%%", min_value=0, max_value=100)})
    # The completed cases are built and drawn only while their expander is open: a year's
    # tables of them, drawn closed, took a third of the page's time (docs/metrics.md).
    finished = st.expander(f"Selesai dalam {chosen.period.label}: waktu tempuh dibanding "
                           "rencana", key=f"selesai-{code}", on_change="rerun") \
        if done_count else None
    if finished is not None and finished.open:
        done = dashboards.completed_cases(state, code=code, period=chosen.period)
        with read_session(engine()) as session:
            titles = case_titles(session, case_ids=[int(c) for c in done["case_id"]])
        with finished:
            table(pd.DataFrame({
                "Kasus": [titles[int(c)][1] for c in done["case_id"]],
                "Waktu tempuh": done["lead_time"].map(format_minutes),
                "Rencana (jumlah Mutu Baku)": done["planned"].map(format_minutes),
                "Tempuh / rencana": done["ratio"].map(
                    lambda ratio: f"{format_number(ratio, digits=2)}×"),
                "Pengembalian": done["returns"],
            }), empty="", hide_index=True, width="stretch")
    if not len(running) and not done_count:
        st.caption("Tidak ada kasus berjalan atau selesai dalam periode ini.")
