"""Hambatan (Sekretaris): where cases wait, which step overruns its Mutu Baku, which decision
returns most, who has a backlog, and the process as it actually ran."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.engine import read_session
from services import dashboards, drilldown
from services.access import require_heads
from services.catalog.flowchart import process_map_dot
from services.catalog.store import current_catalog
from services.formatting import format_minutes, format_number
from services.organisation import list_units
from ui import charts, drill
from ui.data import period_state
from ui.filters import as_of_caption, filters
from ui.messages import permitted
from ui.queue import queue_view
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape

require_app()
actor = current_actor()
permitted(lambda: require_heads(actor))
st.title("Hambatan")
with read_session(engine()) as session:
    entries = {entry.sop.code: entry.sop for entry in current_catalog(session)}
    units = list_units(session)
catalog = {code: sop.name for code, sop in entries.items()}
chosen = filters(catalog, {u.code: u.name for u in units}, single_sop=True)
assert chosen.sop_codes  # one SOP is always chosen here
code = chosen.sop_codes[0]
period = chosen.period
state = dashboards.bottleneck_state(
    period_state(period, actor=actor), code=code, period=period,
    unit_id=next((u.id for u in units if u.code == chosen.unit_code), None))
st.caption(f"{markdown_escape(catalog[code])} · {period.label} · {as_of_caption(state, period)} · "
           "waktu kerja WIB")
if state.ended.empty and state.open.empty:
    st.info("Belum ada kunjungan langkah untuk SOP ini. Pilih SOP atau periode lain, atau mulai "
            "kasus dari halaman Mulai Kasus.")
    st.stop()

base = drilldown.Drill(period=period, sop_codes=(code,), unit_code=chosen.unit_code)
durations = dashboards.step_durations(state, code=code, period=period)
returns = dashboards.returns_pareto(state, code=code, period=period)
left, right = st.columns([3, 2])
if durations["median"].notna().any():
    drill.chart(charts.step_durations(durations, links=[
        drilldown.behind_step(base, code, seq).link for seq in durations["seq"]]),
        title="Waktu kerja per langkah dibanding Mutu Baku", key="grafik-waktu-langkah",
        container=left)
else:
    left.info(f"Tidak ada langkah yang selesai dalam {period.label}.")
if len(returns):
    drill.chart(charts.returns_pareto(returns, steps=durations, links=[
        drilldown.behind_returns(base, code, seq).link for seq in returns["seq"]]),
        title="Pareto pengembalian per langkah keputusan", key="grafik-pareto", container=right)
else:
    right.success(f"Tidak ada pengembalian dalam {period.label}.")

months = period.chart_months()
heat = dashboards.overrun_heatmap(state, code=code, months=months)
drill.chart(charts.overrun_heatmap(
    heat, steps=durations, months=[(m.text, m.short_label) for m in months],
    links=[drilldown.behind_cell(base, code, seq, month).link
           for seq, month in zip(heat["seq"], heat["month"], strict=True)]),
    title="Bagian kunjungan yang melewati Mutu Baku, per bulan", key="grafik-panas")
st.caption("Klik titik median, batang, atau sel untuk membuka kunjungan langkah di baliknya.")

st.subheader("Peringkat hambatan (total keterlambatan)")
ranking = dashboards.bottlenecks(state, code=code, period=period)
if ranking.empty:
    st.caption(f"Tidak ada langkah yang selesai dalam {period.label}.")
else:
    drill.table(pd.DataFrame({
        "Langkah": [f"{label}. {activity}" for label, activity in zip(
            ranking["label"], ranking["activity"], strict=True)],
        "Pelaksana": ranking["role"],
        "Kunjungan": ranking["visits"].map(format_number),
        "Melewati Mutu Baku": ranking["over"].map(format_number),
        "Total keterlambatan (jam kerja)": ranking["overrun_hours"].map(
            lambda hours: format_number(hours, digits=1)),
        "Bagian dari seluruh keterlambatan": ranking["share"] * 100,
        "Median waktu kerja": ranking["median"].map(format_minutes),
        "Beban (kunjungan × median, jam)": ranking["load_hours"].map(
            lambda hours: format_number(hours, digits=1)),
    }), key="peringkat", links=[drilldown.behind_step(base, code, seq).link
                                for seq in ranking["seq"]], column_config={
        "Bagian dari seluruh keterlambatan": st.column_config.ProgressColumn(
            format="%.0f%%", min_value=0, max_value=100)})
    st.caption("Pilih satu baris untuk membuka kunjungan langkah itu.")

st.subheader("Tugas tertunda per Pelaksana")
st.caption("Pada waktu acuan; langkah yang diserahkan per unit dihitung satu tugas untuk setiap "
           "unit yang belum menyerahkan.")
queue = dashboards.backlog(state, unit_names={u.id: u.name for u in units})
if queue.empty:
    st.success("Tidak ada langkah yang tertunda untuk SOP ini.")
else:
    queue_view(queue, base=base, unit_codes={u.id: u.code for u in units}, key="antrean-sop")

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
