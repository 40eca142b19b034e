"""Dasbor Kepatuhan (Kadis): are the SOPs followed, on time, with few returns; which SOP
lags; what is overdue now."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services import dashboards
from services.cases import case_titles
from services.catalog.store import current_catalog
from services.formatting import format_minutes, format_wib
from services.organisation import list_units
from services.settings import get_setting
from ui import charts
from ui.data import dashboard_data
from ui.filters import filters
from ui.format import sla_label
from ui.routing import require_app
from ui.runtime import engine
from ui.text import markdown_escape

require_app()
st.title("Dasbor Kepatuhan")
with read_session(engine()) as session:
    catalog = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
    units = {unit.code: unit.name for unit in list_units(session)}
    unit_ids = {unit.code: unit.id for unit in list_units(session)}
    target = float(get_setting(session, "compliance_target"))
chosen = filters(catalog, units)
data = dashboard_data()
if data.frames.cases.empty:
    st.info("Belum ada kasus yang tercatat. Angka muncul setelah kasus pertama dimulai dari "
            "halaman Mulai Kasus (atau setelah data demo dimuat).")
    st.stop()
frames = dashboards.scope(data.frames, sop_codes=chosen.sop_codes,
                          unit_id=unit_ids.get(chosen.unit_code or ""))
period = chosen.period
st.caption(f"{period.label}, dibanding {period.previous().label} · keadaan per "
           f"{format_wib(data.as_of)} · waktu kerja WIB")


def delta(tile: dashboards.Tile) -> str | None:
    if tile.value is None or tile.previous is None:
        return None
    if tile.kind == "rate":
        points = round((tile.value - tile.previous) * 100, 1)
        return "tetap" if points == 0 else f"{points:+.1f} poin".replace(".", ",")
    change = tile.value - tile.previous
    return "tetap" if change == 0 else f"{change:+.0f}"


for column, tile in zip(st.columns(5), dashboards.tiles(frames, period=period, as_of=data.as_of,
                                                        calendar=data.calendar), strict=True):
    value = charts.percent(tile.value) if tile.kind == "rate" else f"{tile.value:.0f}"
    change = delta(tile)
    column.metric(tile.label, value, change,
                  delta_color="off" if change == "tetap"
                  else "normal" if tile.higher_is_better else "inverse",
                  delta_arrow="off" if change == "tetap" else "auto",
                  help=f"{period.previous().label}: "
                       + (charts.percent(tile.previous) if tile.kind == "rate"
                          else f"{tile.previous:.0f}"))

by_sop = dashboards.compliance_by_sop(frames, period=period)
months = period.months() if len(period.months()) >= 3 else [
    dashboards.month(dashboards.shift_months(period.first, -i)) for i in range(5, -1, -1)]
left, right = st.columns(2)
if by_sop["compliance"].notna().any():
    left.plotly_chart(charts.compliance_by_sop(by_sop, target=target), width="stretch")
    monthly = dashboards.compliance_by_month(frames, months=months)
    right.plotly_chart(charts.compliance_by_month(
        monthly, target=target, labels=[f"{dashboards.MONTHS[m.first.month - 1][:3]} "
                                        f"{m.first.year}" for m in months]), width="stretch")
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
            f"{charts.percent(row.revision)} · terlambat sekarang {row.overdue}")
        link.page_link("pages/hambatan.py", label="Hambatan", icon=":material/insights:",
                       query_params={"sop": row.code, "periode": period.text})

st.subheader("Langkah terlambat sekarang")
overdue = frames.visits[frames.visits["is_open"] & (frames.visits["sla_state"] == "overdue")]
if overdue.empty:
    st.success("Tidak ada langkah yang terlambat.")
else:
    overdue = overdue.sort_values("duration", ascending=False).head(15)
    with read_session(engine()) as session:
        titles = case_titles(session, case_ids=[int(c) for c in overdue["case_id"]])
    st.caption(f"{int((frames.visits['is_open'] & (frames.visits['sla_state'] == 'overdue')).sum())}"
               " langkah; yang paling lama ditampilkan")
    for row in overdue.itertuples():
        ref, title = titles[int(row.case_id)]
        with st.container(border=True):
            text, link = st.columns([6, 1], vertical_alignment="center")
            text.markdown(f"{sla_label('overdue')} · **{markdown_escape(title)}** "
                          f"({markdown_escape(ref)}) · langkah {row.seq} · {row.role} · umur "
                          f"{format_minutes(row.duration)} dari target {format_minutes(row.target)}")
            link.page_link("pages/kasus.py", label="Buka", icon=":material/folder_open:",
                           query_params={"kasus": str(row.case_id)})
