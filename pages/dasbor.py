"""Dasbor Kepatuhan (Kadis): are the SOPs followed, on time, with few returns; which SOP
lags; what is overdue at the period's as-of."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services import dashboards, drilldown
from services.access import require_heads
from services.catalog.store import current_catalog
from services.formatting import format_number
from services.metrics import scope
from services.organisation import list_units
from services.settings import get_setting
from ui import charts, drill
from ui.data import period_state
from ui.filters import as_of_caption, filters
from ui.format import tile_change
from ui.messages import permitted
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape

require_app()
actor = current_actor()
permitted(lambda: require_heads(actor))
st.title("Dasbor Kepatuhan")
with read_session(engine()) as session:
    catalog = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
    units = list_units(session)
    target = float(get_setting(session, "compliance_target"))
chosen = filters(catalog, {unit.code: unit.name for unit in units})
period = chosen.period
unit_id = next((unit.id for unit in units if unit.code == chosen.unit_code), None)
state = scope(period_state(period, actor=actor), sop_codes=chosen.sop_codes, unit_id=unit_id)
previous = scope(period_state(period.previous(), actor=actor), sop_codes=chosen.sop_codes, unit_id=unit_id)
if state.cases.empty and previous.cases.empty:
    st.info("Belum ada kasus yang tercatat sampai akhir periode ini. Angka muncul setelah kasus "
            "pertama dimulai dari halaman Mulai Kasus (atau setelah data demo dimuat).")
    st.stop()
st.caption(f"{period.label}, dibanding {period.previous().label} · {as_of_caption(state, period)}"
           " · waktu kerja WIB")


base = drilldown.Drill(period=period, sop_codes=chosen.sop_codes or (), unit_code=chosen.unit_code)
for column, tile in zip(st.columns(5), dashboards.tiles(state, previous, period=period),
                        strict=True):
    value = charts.percent(tile.value) if tile.kind == "rate" else format_number(tile.value)
    change = tile_change(tile)
    column.metric(tile.label, value, change,
                  delta_color="off" if change == "tetap"
                  else "normal" if tile.higher_is_better else "inverse",
                  delta_arrow="off" if change == "tetap" else "auto",
                  help=f"{tile.help} {period.previous().label}: "
                       + (charts.percent(tile.previous) if tile.kind == "rate"
                          else format_number(tile.previous)))
    drill.link(drilldown.behind_tile(base, tile.key), label="Rincian", container=column)

by_sop = dashboards.compliance_by_sop(state, period=period)
months = period.chart_months()
left, right = st.columns(2)
if by_sop["compliance"].notna().any():
    drill.chart(charts.compliance_by_sop(
        by_sop, target=target, links=[drilldown.behind_sop(base, c).link for c in by_sop["code"]]),
        title="Kepatuhan Mutu Baku per SOP", key="grafik-kepatuhan-sop", container=left)
    monthly = dashboards.compliance_by_month(state, months=months)
    drill.chart(charts.compliance_by_month(
        monthly, target=target, labels=[m.short_label for m in months],
        links=[drilldown.behind_month(base, code, month).link
               for code, month in zip(monthly["code"], monthly["month"], strict=True)]),
        title="Kepatuhan per bulan", key="grafik-kepatuhan-bulan", container=right)
    st.caption("Klik batang atau titik untuk membuka kunjungan langkah di baliknya.")
else:
    st.info(f"Tidak ada langkah yang selesai dalam {period.label}. Pilih periode lain.")

st.subheader("SOP, dari yang paling lemah")
for row in by_sop.itertuples():
    with st.container(border=True):
        name, figures, link = st.columns([3, 4, 1], vertical_alignment="center")
        name.markdown(f"**{markdown_escape(row.name)}**")
        figures.markdown(
            f"Kepatuhan **{charts.percent(row.compliance)}** ({format_number(row.within)} dari "
            f"{format_number(row.with_target)}) · pengembalian {format_number(row.returns)} · "
            f"revisi {charts.percent(row.revision)} · tugas terlambat "
            f"{format_number(row.overdue)}")
        link.page_link("pages/hambatan.py", label="Hambatan", icon=":material/insights:",
                       query_params={"sop": row.code, "periode": period.text})

st.subheader("Tugas terlambat pada waktu acuan")
overdue = state.items[state.items["sla_state"] == "overdue"]
if overdue.empty:
    st.success("Tidak ada tugas yang terlambat.")
else:
    late = drilldown.behind_tile(base, "terlambat")
    st.caption(f"{format_number(len(overdue))} tugas (langkah per unit dihitung per unit yang "
               "belum menyerahkan); yang paling lama ditampilkan.")
    with read_session(engine()) as session:
        oldest = drilldown.listing(session, late, overdue.head(10), catalog=state.catalog)
    drill.case_table(oldest[["case_id", "Judul", "Langkah", "Dipegang", "Umur (waktu kerja)",
                             "Mutu Baku"]], key="tugas-terlambat")
    drill.link(late, label=f"Semua {format_number(len(overdue))} tugas terlambat")
