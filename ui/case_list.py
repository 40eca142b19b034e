"""The Kasus page's list: the cases, step visits or pending items a drill selects (from the
filters, or from a figure of a dashboard), counted as that figure counts them."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services import drilldown
from services.accounts import role_holders
from services.clock import utcnow
from services.metrics import Catalog, read_catalog
from services.organisation import list_units
from ui.data import state_at
from ui.drill import case_table
from ui.filters import drill_filters
from ui.messages import show
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape


def case_list() -> None:
    st.title("Kasus")
    with read_session(engine()) as session:
        catalog = read_catalog(session)
        units = {unit.code: unit.name for unit in list_units(session)}
        holders = role_holders(session)
    people = dict(zip(holders["username"], holders["full_name"], strict=True))
    drill = drill_filters({code: sop.name for code, sop in catalog.items()}, units, people)
    _from_a_chart(drill, catalog)
    with read_session(engine()) as session:
        resolved = drilldown.resolve(session, drill)
        state = state_at(drilldown.as_of(drill, now=utcnow()), actor=current_actor())
        rows = drilldown.rows_behind(state, drill, resolved=resolved)
        shown = drilldown.listing(session, drill, rows, catalog=catalog)
    for unknown in resolved.unknown:
        show(f"Tidak dikenal: {unknown}. Tidak ada yang cocok dengan saringan itu.",
             kind="warning")
    st.markdown(f"**{drilldown.summary(drill, rows)}**")
    when = "sekarang" if drill.period is None else drill.period.label
    st.caption(f"Keadaan {when}: tugas tertunda dan kasus berjalan pada waktu acuan; kunjungan "
               "langkah yang selesai dalam periode."
               + (f" Ditampilkan {drilldown.LIST_LIMIT} yang terbaru." if len(rows) >
                  drilldown.LIST_LIMIT else ""))
    if rows.empty:
        st.info("Tidak ada yang cocok. Ubah saringan di atas, atau mulai kasus baru dari halaman "
                "Mulai Kasus.")
        return
    keep = {name: value for name, value in st.query_params.to_dict().items()
                   if name != "kasus"}
    case_table(shown, key="daftar-kasus", keep=keep)


def _from_a_chart(drill: drilldown.Drill, catalog: Catalog) -> None:
    """The filters a chart's link sets that have no widget (a step, a Pelaksana), said in a
    line with a way to drop them."""
    parts = []
    if drill.seq is not None:
        sop = catalog.get(drill.sop_codes[0]) if len(drill.sop_codes) == 1 else None
        parts.append(f"langkah {sop.labels.get(drill.seq, drill.seq) if sop else drill.seq}")
    if drill.role:
        parts.append(f"Pelaksana {drill.role}")
    if not parts:
        return
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.caption(markdown_escape("Juga disaring menurut " + " · ".join(parts)))
    if right.button("Hapus saringan ini", key="hapus-saringan-grafik"):
        for name in ("langkah", "peran"):
            st.query_params.pop(name, None)
        st.rerun()
