"""Impor SOP (admin): the agency's own SOPs from their Word documents (or text, CSV, XLSX),
reviewed as the official table and the flowchart with the linter's findings, corrected in place
and published as a catalog version (docs/catalog.md, "Two ways in")."""

from __future__ import annotations

from collections import defaultdict

import streamlit as st

from db.engine import read_session
from services.catalog.definition import SopDef
from services.catalog.flowchart import swimlane_dot
from services.catalog.lint import SEVERITY_LABELS, Finding, lint
from services.catalog.official_table import identity_table, steps_table
from services.catalog.publish import (
    NO_DECISION,
    apply_edits,
    editable_steps,
    publish_sop,
    read_upload,
    review,
    validated,
)
from services.clock import utcnow
from services.errors import InvalidInput
from ui.messages import perform, show, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.tables import table
from ui.text import markdown_escape, markdown_lines

require_app()
actor = current_actor()
show_flash()
st.title("Impor SOP")
st.caption("Unggah dokumen SOP dari Word (.docx) dalam format PermenPAN-RB 35/2012, atau tabelnya "
           "sebagai .txt, .csv atau .xlsx. Periksa hasil bacaannya, perbaiki di tabel, lalu "
           "terbitkan sebagai versi katalog. Kasus yang sedang berjalan tetap memakai versinya.")

files = st.file_uploader("Berkas SOP", accept_multiple_files=True, key="impor-berkas",
                         help="Satu atau beberapa berkas .docx, .txt, .csv atau .xlsx, "
                              "masing-masing paling besar 5 MB.")
if not files:
    st.info("Belum ada berkas. Pilih dokumen SOP untuk diimpor.")
    st.stop()


def _findings_by_step(findings: list[Finding]) -> dict[int, list[str]]:
    by_step: dict[int, list[str]] = defaultdict(list)
    for finding in findings:
        if finding.step is not None:
            by_step[finding.step].append(
                f"{SEVERITY_LABELS[finding.severity].capitalize()}: {finding.message}")
    return by_step


def _review(sop: SopDef, key: str) -> None:
    st.subheader(markdown_escape(sop.name))
    st.caption(markdown_escape(f"Kode {sop.code} · {len(sop.steps)} langkah · dari {sop.source}"))
    findings = lint([sop])
    general = [f for f in findings if f.step is None]
    if general:
        st.markdown("\n".join(f"- **{SEVERITY_LABELS[f.severity].capitalize()}**: "
                              f"{markdown_escape(f.message)}" for f in general))
    st.caption("Ubah Pelaksana, Mutu Baku, langkah tujuan 'T' (kosongkan dengan '–' bila bukan "
               "keputusan) dan Multi-unit langsung di tabel. Temuan pemeriksaan ada di kolom "
               "terakhir.")
    labels = sop.labels()
    edited_grid = st.data_editor(
        editable_steps(sop, findings=_findings_by_step(findings)),
        key=f"langkah-{key}", hide_index=True, num_rows="fixed", width="stretch",
        disabled=["No.", "Kegiatan", "Temuan"],
        column_config={
            "No.": st.column_config.TextColumn(width="small"),
            "Kegiatan": st.column_config.TextColumn(width="large"),
            "Pelaksana": st.column_config.SelectboxColumn(options=list(sop.lanes),
                                                          required=True),
            "T kembali ke": st.column_config.SelectboxColumn(
                options=[NO_DECISION, *labels.values()], required=True,
                help="Langkah keputusan: 'Y' ke langkah berikutnya, 'T' kembali ke langkah ini."),
            "Multi-unit": st.column_config.CheckboxColumn(
                help="Setiap Bidang aktif menyerahkan sebelum langkah selesai."),
            "Temuan": st.column_config.TextColumn(width="large"),
        },
    )
    try:
        edited = validated(apply_edits(sop, edited=edited_grid))
    except InvalidInput as error:
        show_error(str(error))
        return
    with read_session(engine()) as session:
        plan = review(session, sop=edited)

    table_tab, chart_tab, diff_tab = st.tabs(
        ["Tabel SOP", "Diagram alir",
         "Perbedaan dengan versi berlaku" if plan.current_version else "SOP baru"])
    with table_tab:
        identity = identity_table(edited).set_index("Unsur")
        st.table(identity.assign(Isi=identity["Isi"].map(markdown_lines)))
        st.dataframe(steps_table(edited), hide_index=True, row_height=60)
    with chart_tab:
        st.caption("Satu lajur per Pelaksana. Belah ketupat: langkah keputusan; panah **Y** "
                   "ke langkah berikutnya, panah putus-putus **T** kembali.")
        st.graphviz_chart(swimlane_dot(edited), width="stretch")
    with diff_tab:
        if plan.current_version is None:
            st.caption("SOP ini belum ada di katalog: terbitkan sebagai versi 1.")
        else:
            table(plan.differences, hide_index=True,
                  empty=f"Sama dengan versi {plan.current_version} yang berlaku.")

    if plan.unchanged:
        show(f"Sama dengan versi {plan.current_version} yang berlaku: tidak ada yang perlu "
             "diterbitkan.", kind="info")
        return
    version = (plan.current_version or 0) + 1
    for unit in plan.units:
        st.caption(markdown_escape(
            f"Unit '{unit.name}': " + (f"sama dengan unit '{unit.existing}'." if unit.existing
                                       else "belum ada; dibuat saat diterbitkan.")))
    confirmed: tuple[str, ...] = ()
    if plan.new_roles:
        names = ", ".join(plan.new_roles)
        if st.checkbox(markdown_escape(f"Buat Pelaksana baru: {names}"), key=f"peran-{key}",
                       help="Pelaksana ini belum ada. Setelah dibuat, beri pengguna peran ini "
                            "di halaman Pengguna."):
            confirmed = plan.new_roles
    if st.button(f"Terbitkan sebagai versi {version}", key=f"terbitkan-{key}", type="primary"):
        perform(lambda session: publish_sop(session, actor=actor, sop=edited,
                                            confirmed_roles=confirmed, now=utcnow()),
                f"SOP '{edited.name}' diterbitkan sebagai versi {version}. Kasus baru memakai "
                "versi ini; kasus yang sedang berjalan tetap pada versinya.")


for upload in files:
    try:
        sops = read_upload(name=upload.name, data=upload.getvalue())
    except InvalidInput as error:
        show_error(str(error))
        continue
    for index, sop in enumerate(sops):
        with st.container(border=True):
            _review(sop, key=f"{upload.file_id}-{index}")
