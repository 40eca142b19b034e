"""Hambatan (Sekretaris): where cases wait, which step overruns its Mutu Baku, which decision
returns most, who has a backlog, and the process as it actually ran."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.engine import read_session
from services import dashboards
from services.catalog.flowchart import process_map_dot
from services.catalog.store import current_catalog
from services.formatting import format_minutes
from services.metrics import scope
from services.organisation import list_units
from ui import charts
from ui.data import period_state
from ui.filters import as_of_caption, filters
from ui.routing import require_app
from ui.runtime import engine
from ui.text import markdown_escape

require_app()
st.title("Hambatan")
with read_session(engine()) as session:
    entries = {entry.sop.code: entry.sop for entry in current_catalog(session)}
    units = list_units(session)
catalog = {code: sop.name for code, sop in entries.items()}
chosen = filters(catalog, {u.code: u.name for u in units}, single_sop=True)
assert chosen.sop_codes  # one SOP is always chosen here
code = chosen.sop_codes[0]
period = chosen.period
state = scope(period_state(period), sop_codes=(code,),
              unit_id=next((u.id for u in units if u.code == chosen.unit_code), None))
st.caption(f"{markdown_escape(catalog[code])} · {period.label} · {as_of_caption(state, period)} · "
           "waktu kerja WIB")
if state.ended.empty and state.open.empty:
    st.info("Belum ada kunjungan langkah untuk SOP ini. Pilih SOP atau periode lain, atau mulai "
            "kasus dari halaman Mulai Kasus.")
    st.stop()

durations = dashboards.step_durations(state, code=code, period=period)
returns = dashboards.returns_pareto(state, code=code, period=period)
left, right = st.columns([3, 2])
if durations["median"].notna().any():
    left.plotly_chart(charts.step_durations(durations), width="stretch")
else:
    left.info(f"Tidak ada langkah yang selesai dalam {period.label}.")
if len(returns):
    right.plotly_chart(charts.returns_pareto(returns, steps=durations), width="stretch")
else:
    right.success(f"Tidak ada pengembalian dalam {period.label}.")

months = period.chart_months()
heat = dashboards.overrun_heatmap(state, code=code, months=months)
st.plotly_chart(charts.overrun_heatmap(heat, steps=durations,
                                       months=[(m.text, m.short_label) for m in months]),
                width="stretch")

st.subheader("Peringkat hambatan (total keterlambatan)")
ranking = dashboards.bottlenecks(state, code=code, period=period)
st.dataframe(pd.DataFrame({
    "Langkah": [charts.short(f"{label}. {activity}", 48) for label, activity in zip(
        ranking["label"], ranking["seq"].map(lambda seq: entries[code].step(seq).activity),
        strict=True)],
    "Pelaksana": ranking["role"],
    "Kunjungan": ranking["visits"], "Melewati Mutu Baku": ranking["over"],
    "Total keterlambatan (jam kerja)": ranking["overrun_hours"].round(1),
    "Bagian dari seluruh keterlambatan": ranking["share"],
    "Median waktu kerja": ranking["median"].map(format_minutes),
    "Beban (kunjungan × median, jam)": ranking["load_hours"].round(1),
}), hide_index=True, width="stretch", column_config={
    "Bagian dari seluruh keterlambatan": st.column_config.ProgressColumn(
        format="percent", min_value=0, max_value=1)})

st.subheader("Tugas tertunda per Pelaksana")
st.caption("Pada waktu acuan; langkah yang diserahkan per unit dihitung satu tugas untuk setiap "
           "unit yang belum menyerahkan.")
queue = dashboards.backlog(state, unit_names={u.id: u.name for u in units})
if queue.empty:
    st.success("Tidak ada langkah yang tertunda untuk SOP ini.")
else:
    st.plotly_chart(charts.backlog(queue), width="stretch")
    st.dataframe(queue.rename(columns={"role": "Pelaksana", "unit": "Unit", "total": "Jumlah",
                                       "overdue": "■ Terlambat", "at_risk": "▲ Berisiko",
                                       "on_time": "● Tepat waktu", "no_target": "○ Tanpa target"}),
                 hide_index=True, width="stretch")

st.subheader("Peta proses (yang benar-benar terjadi)")
nodes, arrows = dashboards.transitions(state, code=code, period=period)
st.graphviz_chart(process_map_dot(
    entries[code],
    nodes=[(int(r.seq), int(r.visits), r.median, int(r.open)) for r in nodes.itertuples()],
    arrows=[(int(r.source), int(r.target), int(r.count), r.median) for r in arrows.itertuples()],
    describe=lambda minutes: "–" if minutes is None or pd.isna(minutes) else format_minutes(minutes)),
    width="stretch")
st.caption("Angka pada langkah: kunjungan dan median waktu kerja. Tebal panah: seberapa sering "
           "langkah diikuti langkah berikutnya; panah putus-putus jingga: pengembalian.")
