"""Katalog SOP: the SOP as the official table and as a swimlane flowchart, with review findings."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session
from services.catalog.flowchart import swimlane_dot
from services.catalog.lint import SEVERITY_LABELS, lint
from services.catalog.official_table import identity_table, steps_table
from services.catalog.store import current_catalog
from services.formatting import format_wib
from ui.routing import require_app
from ui.runtime import engine
from ui.text import markdown_escape, markdown_lines

require_app()
st.title("Katalog SOP")

with read_session(engine()) as session:
    entries = current_catalog(session)
if not entries:
    st.info("Katalog masih kosong. Jalankan `python manage.py init` untuk memuat SOP dari "
            "folder `sops/`, lalu muat ulang halaman ini.")
    st.stop()

by_code = {entry.sop.code: entry for entry in entries}
requested = st.query_params.get("sop")
code = st.selectbox(
    "Pilih SOP", list(by_code), index=list(by_code).index(requested) if requested in by_code else 0,
    format_func=lambda c: by_code[c].sop.name,
)
st.query_params["sop"] = code
entry = by_code[code]
sop = entry.sop
findings = [f for f in lint([e.sop for e in entries]) if f.sop_code == code]

st.caption(f"Kode {markdown_escape(sop.code)} · versi {entry.version} · {len(sop.steps)} langkah · "
           f"dimuat {format_wib(entry.loaded_at)}")
table_tab, chart_tab, findings_tab = st.tabs(
    ["Tabel SOP", "Diagram alir", f"Temuan pemeriksaan ({len(findings)})"]
)
with table_tab:
    st.subheader("Identitas SOP")
    identity = identity_table(sop).set_index("Unsur")
    st.table(identity.assign(Isi=identity["Isi"].map(markdown_lines)))
    st.subheader("Langkah dan Mutu Baku")
    st.dataframe(steps_table(sop), hide_index=True, row_height=60)
with chart_tab:
    st.caption("Satu lajur per Pelaksana. Belah ketupat: langkah keputusan; panah **Y** "
               "(setuju) ke langkah berikutnya, panah putus-putus **T** (tidak setuju) kembali.")
    st.graphviz_chart(swimlane_dot(sop), width="stretch")
with findings_tab:
    if not findings:
        st.success("Tidak ada temuan untuk SOP ini.")
    else:
        st.caption("Hal yang sebaiknya diperbaiki pada naskah SOP. Tafsiran katalog atas "
                   "naskah ada di kolom Catatan tafsir pada Tabel SOP.")
        st.markdown("\n".join(
            f"- **{SEVERITY_LABELS[f.severity].capitalize()}**"
            f"{f' · langkah {markdown_escape(f.label or str(f.step))}' if f.step is not None else ''}: "
            f"{markdown_escape(f.message)}"
            for f in findings
        ))
