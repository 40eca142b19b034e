"""Dasbor Kepatuhan (Kadis): are the SOPs followed, on time, with few returns; which SOP
lags; what is overdue at the period's as-of."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services import dashboards
from services.cases import case_titles
from services.catalog.store import current_catalog
from services.formatting import format_minutes
from services.metrics import scope
from services.organisation import list_units
from services.settings import get_setting
from ui import charts
from ui.data import period_state
from ui.filters import as_of_caption, filters
from ui.format import sla_label
from ui.routing import require_app
from ui.runtime import engine
from ui.text import markdown_escape

require_app()
st.title("Dasbor Kepatuhan")
with read_session(engine()) as session:
    catalog = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
    units = list_units(session)
    target = float(get_setting(session, "compliance_target"))
chosen = filters(catalog, {unit.code: unit.name for unit in units})
period = chosen.period
unit_id = next((unit.id for unit in units if unit.code == chosen.unit_code), None)
state = scope(period_state(period), sop_codes=chosen.sop_codes, unit_id=unit_id)
previous = scope(period_state(period.previous()), sop_codes=chosen.sop_codes, unit_id=unit_id)
if state.cases.empty and previous.cases.empty:
    st.info("Belum ada kasus yang tercatat sampai akhir periode ini. Angka muncul setelah kasus "
            "pertama dimulai dari halaman Mulai Kasus (atau setelah data demo dimuat).")
    st.stop()
st.caption(f"{period.label}, dibanding {period.previous().label} · {as_of_caption(state, period)}"
           " · waktu kerja WIB")


def delta(tile: dashboards.Tile) -> str | None:
    if tile.value is None or tile.previous is None:
        return None
    if tile.kind == "rate":
        points = round((tile.value - tile.previous) * 100, 1)
        return "tetap" if points == 0 else f"{points:+.1f} poin".replace(".", ",")
    change = tile.value - tile.previous
    return "tetap" if change == 0 else f"{change:+.0f}"


for column, tile in zip(st.columns(5), dashboards.tiles(state, previous, period=period),
                        strict=True):
    value = charts.percent(tile.value) if tile.kind == "rate" else f"{tile.value:.0f}"
    change = delta(tile)
    column.metric(tile.label, value, change,
                  delta_color="off" if change == "tetap"
                  else "normal" if tile.higher_is_better else "inverse",
                  delta_arrow="off" if change == "tetap" else "auto",
                  help=f"{tile.help} {period.previous().label}: "
                       + (charts.percent(tile.previous) if tile.kind == "rate"
                          else f"{tile.previous:.0f}"))

by_sop = dashboards.compliance_by_sop(state, period=period)
months = period.chart_months()
left, right = st.columns(2)
if by_sop["compliance"].notna().any():
    left.plotly_chart(charts.compliance_by_sop(by_sop, target=target), width="stretch")
    monthly = dashboards.compliance_by_month(state, months=months)
    right.plotly_chart(charts.compliance_by_month(
        monthly, target=target, labels=[m.short_label for m in months]), width="stretch")
else:
    st.info(f"Tidak ada langkah yang selesai dalam {period.label}. Pilih periode lain.")

st.subheader("SOP, dari yang paling lemah")
for row in by_sop.itertuples():
    with st.container(border=True):
        name, figures, link = st.columns([3, 4, 1], vertical_alignment="center")
        name.markdown(f"**{markdown_escape(row.name)}**")
        figures.markdown(
            f"Kepatuhan **{charts.percent(row.compliance)}** ({row.within} dari "
            f"{row.with_target}) · pengembalian {row.returns} · revisi "
            f"{charts.percent(row.revision)} · tugas terlambat {row.overdue}")
        link.page_link("pages/hambatan.py", label="Hambatan", icon=":material/insights:",
                       query_params={"sop": row.code, "periode": period.text})

st.subheader("Tugas terlambat pada waktu acuan")
overdue = state.items[state.items["sla_state"] == "overdue"]
if overdue.empty:
    st.success("Tidak ada tugas yang terlambat.")
else:
    shown = overdue.head(15)
    with read_session(engine()) as session:
        titles = case_titles(session, case_ids=[int(c) for c in shown["case_id"]])
    unit_names = {unit.id: unit.name for unit in units}
    st.caption(f"{len(overdue)} tugas (langkah per unit dihitung per unit yang belum "
               "menyerahkan); yang paling lama ditampilkan")
    for row in shown.itertuples():
        ref, title = titles[int(row.case_id)]
        label = state.catalog[str(row.sop_code)].labels[int(row.seq)]
        unit = f" · {unit_names.get(int(row.unit_id), '–')}" if row.multi_unit else ""
        with st.container(border=True):
            text, link = st.columns([6, 1], vertical_alignment="center")
            text.markdown(f"{sla_label('overdue')} · **{markdown_escape(title)}** "
                          f"({markdown_escape(ref)}) · langkah {markdown_escape(label)} · "
                          f"{markdown_escape(str(row.role) + unit)} · umur "
                          f"{format_minutes(row.duration)} dari target {format_minutes(row.target)}")
            link.page_link("pages/kasus.py", label="Buka", icon=":material/folder_open:",
                           query_params={"kasus": str(row.case_id)})
