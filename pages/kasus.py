"""Kasus: the list of cases (or the step visits or pending items behind a figure, ui.case_list),
and one case in detail: header, timeline against the targets,
the audit trail, and (for those allowed) cancelling or correcting."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from db.engine import read_session
from services.cases import STATUS_LABELS, audit_trail, case_header, case_visits
from services.clock import utcnow
from services.errors import NotFound, PermissionDenied
from services.formatting import format_wib
from services.workflow.engine import cancel_case, correct_event
from ui.case_list import case_list
from ui.charts import case_timeline
from ui.event_time import date_and_time, time_fields, time_mode
from ui.messages import perform, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.tables import table
from ui.text import markdown_escape

require_app()
actor = current_actor()
show_flash()


def case_detail(case_id: int) -> None:
    try:
        with read_session(engine()) as session:
            header = case_header(session, actor=actor, case_id=case_id)
            visits = case_visits(session, actor=actor, case_id=case_id)
            trail = audit_trail(session, actor=actor, case_id=case_id)
    except (NotFound, PermissionDenied) as error:
        show_error(str(error))
        return
    back = {name: value for name, value in st.query_params.to_dict().items() if name != "kasus"}
    st.page_link("pages/kasus.py", label="Kembali ke daftar", icon=":material/arrow_back:",
                 query_params=back)
    st.title(markdown_escape(header.title))
    st.caption(markdown_escape(
        f"{header.sop_name} (versi {header.version}) · {header.ref}"
        + (f" · periode {header.period_label}" if header.period_label else "")
        + (f" · {header.unit_name}" if header.unit_name else "")))
    columns = st.columns(3)
    columns[0].metric("Status", STATUS_LABELS[header.status])
    columns[1].metric("Kemajuan", f"{header.progress:.0%}")
    if header.status == "active":
        columns[2].metric("Langkah berjalan", f"{header.current_label} ({header.current_role})")
    st.progress(header.progress)
    st.caption(f"Dimulai {format_wib(header.started_at)}"
               + (f" · berakhir {format_wib(header.ended_at)}" if header.ended_at else ""))
    if header.cancel_reason:
        st.warning(f"Dibatalkan: {markdown_escape(header.cancel_reason)}")
    if header.status == "active":
        st.page_link("pages/catat.py", label="Catat langkah berikutnya", icon=":material/edit_note:",
                     query_params={"kasus": str(case_id)})

    st.subheader("Linimasa kunjungan langkah")
    st.plotly_chart(case_timeline(visits), width="stretch")
    st.caption("Setiap batang: sejak langkah tersedia sampai selesai (atau sekarang). Tanda "
               "hitam: batas Mutu Baku dalam waktu kerja.")

    st.subheader("Jejak audit")
    shown = trail.assign(**{
        "Waktu kejadian": trail["Waktu kejadian"].map(format_wib),
        "Dicatat": trail["Dicatat oleh"] + ", " + trail["Dicatat pada"].map(format_wib),
        "Kelengkapan, Output, Dasar": (trail["Kelengkapan"] + " · " + trail["Output"] + " · "
                                       + trail["Dasar"].map(lambda d: f"dasar: {d}" if d else "")
                                       ).str.replace(r"( · )+", " · ", regex=True).str.strip(" ·"),
    }).drop(columns=["Dicatat oleh", "Dicatat pada", "Kelengkapan", "Output", "Dasar"])
    table(shown, empty="Belum ada kejadian.", hide_index=True, width="stretch")

    if header.status == "active":
        with st.expander("Batalkan kasus"):
            mode = time_mode(key="batal-waktu")
            with st.form(f"batal-{case_id}"):
                reason = st.text_area("Alasan pembatalan", help="Paling banyak 2.000 karakter.")
                at = time_fields(mode, key="batal-waktu", previous=header.last_event_at)
                if st.form_submit_button("Batalkan kasus"):
                    perform(lambda session: cancel_case(
                        session, actor=actor, case_id=case_id,
                        at=at.instant(not_before=header.last_event_at), reason=reason,
                        now=utcnow()), "Kasus dibatalkan.")
    with st.expander("Koreksi kejadian"):
        st.caption("Kejadian tidak pernah diubah atau dihapus: koreksi dicatat sebagai kejadian "
                   "baru yang merujuk kejadian asli. Waktu, dan hasil keputusan (Setujui atau "
                   "Kembalikan), hanya dapat dikoreksi pada kejadian terakhir.")
        numbers = [int(n) for n in trail.loc[~trail["Kejadian"].str.startswith("Koreksi"), "No."]]
        with st.form(f"koreksi-{case_id}"):
            number = st.selectbox("Kejadian nomor", numbers, index=len(numbers) - 1)
            new_note = st.text_input("Catatan yang benar (kosongkan bila tidak diubah)",
                                     help="Paling banyak 2.000 karakter.")
            decisions: dict[Literal["approve", "return"] | None, str] = {
                None: "(tidak diubah)", "approve": "Setujui (Y)", "return": "Kembalikan (T)"}
            outcome = st.selectbox("Keputusan yang benar (langkah keputusan saja)",
                                   list(decisions), format_func=lambda key: decisions[key])
            fix_time = st.checkbox("Koreksi juga waktunya")
            corrected_at = date_and_time(label="Waktu yang benar", key=f"koreksi-{case_id}")
            reason = st.text_input("Alasan koreksi", help="Paling banyak 2.000 karakter.")
            if st.form_submit_button("Catat koreksi"):
                perform(lambda session: correct_event(
                    session, actor=actor, case_id=case_id, event_no=number, reason=reason,
                    note=new_note or None, occurred_at=corrected_at if fix_time else None,
                    outcome=outcome, now=utcnow()), f"Koreksi atas kejadian #{number} dicatat.")


requested = st.query_params.get("kasus", "")
if requested.isdigit():
    case_detail(int(requested))
else:
    case_list()
