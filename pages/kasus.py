"""Kasus: the list of cases, and one case in detail: header, timeline against the targets,
the audit trail, and (for those allowed) cancelling or correcting."""

from __future__ import annotations

from typing import Literal

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from db.engine import read_session
from services.cases import (
    OUTCOME_LABELS,
    STATUS_LABELS,
    audit_trail,
    case_header,
    case_visits,
    list_cases,
)
from services.catalog.store import current_catalog
from services.clock import utcnow
from services.errors import NotFound
from services.formatting import WIB, format_minutes, format_wib
from services.workflow.engine import cancel_case, correct_event
from ui.event_time import date_and_time, time_fields, time_mode
from ui.format import OVER, WITHIN, sla_color, sla_label
from ui.messages import perform, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape

require_app()
actor = current_actor()
show_flash()


def case_list() -> None:
    st.title("Kasus")
    with read_session(engine()) as session:
        catalog = {entry.sop.code: entry.sop.name for entry in current_catalog(session)}
    left, middle, right = st.columns([1, 2, 2])
    status = left.selectbox("Status", [None, *STATUS_LABELS],
                            format_func=lambda s: "Semua" if s is None else STATUS_LABELS[s])
    sop = middle.selectbox("SOP", [None, *catalog],
                           format_func=lambda c: "Semua SOP" if c is None else catalog[c])
    search = right.text_input("Cari judul atau nomor kasus", max_chars=100)
    with read_session(engine()) as session:
        cases = list_cases(session, status=status, sop_code=sop, search=search or None)
    if cases.empty:
        st.info("Belum ada kasus yang cocok. Kasus baru dimulai dari halaman Mulai Kasus.")
        return
    table = pd.DataFrame({
        "Nomor": cases["ref"], "Judul": cases["title"], "SOP": cases["sop_name"],
        "Status": cases["status"].map(STATUS_LABELS),
        "Mulai": cases["started_at"].map(format_wib),
        "Selesai": cases["ended_at"].map(lambda t: format_wib(t) if pd.notna(t) else "–"),
    })
    st.caption("Pilih satu baris untuk membuka kasusnya.")
    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                          key="daftar-kasus")
    rows = picked.selection.rows if picked else []
    if rows:
        st.query_params["kasus"] = str(int(cases.iloc[rows[0]]["id"]))
        st.rerun()


def timeline(visits: pd.DataFrame) -> go.Figure:
    """Each visit as a bar from available to ended (or now), coloured by its state; the
    instant its target fell due as a black tick."""
    def state(row: pd.Series) -> tuple[str, str]:
        if row["is_open"]:
            return sla_label(row["sla_state"]), sla_color(row["sla_state"])
        if row["outcome"] == "closed":
            return "Ditutup (kasus batal)", "#8C8C8C"
        if not row["has_target"]:
            return sla_label("no_target"), sla_color("no_target")
        return (f"✓ {WITHIN[0]}", WITHIN[1]) if row["within_target"] else (f"✕ {OVER[0]}", OVER[1])

    visits = visits.assign(
        name=[f"{label}. {activity[:40]}{'…' if len(activity) > 40 else ''}"
              + (f" (ke-{p})" if p > 1 else "")
              for label, activity, p in zip(visits["label"], visits["activity"],
                                            visits["pass_no"], strict=True)])
    states = visits.apply(state, axis=1)
    figure = go.Figure()
    start = visits["available_at"].dt.tz_convert(WIB)
    end = visits["ended_at"].dt.tz_convert(WIB)
    for (label, color), rows in visits.groupby(states, sort=False):
        figure.add_trace(go.Bar(
            y=rows["name"], x=(end[rows.index] - start[rows.index]).dt.total_seconds() * 1000,
            base=start[rows.index], orientation="h", marker_color=color, name=label,
            customdata=list(zip(rows["duration"].map(format_minutes),
                                rows["target"].map(lambda t: format_minutes(t)
                                                   if pd.notna(t) else "tanpa target"),
                                rows["outcome"].map(lambda o: OUTCOME_LABELS.get(o, o)),
                                strict=True)),
            hovertemplate="%{y}<br>mulai %{base|%d/%m/%Y %H.%M}<br>Waktu kerja %{customdata[0]}"
                          " (target %{customdata[1]})<br>%{customdata[2]}<extra></extra>"))
    due = visits[visits["due_at"].notna()]
    figure.add_trace(go.Scatter(
        y=due["name"], x=due["due_at"].dt.tz_convert(WIB), mode="markers",
        marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": "black"}},
        name="Batas Mutu Baku", hovertemplate="Batas: %{x|%d/%m/%Y %H.%M}<extra></extra>"))
    figure.update_layout(
        barmode="overlay", height=120 + 34 * len(visits), margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"type": "date", "title": "Waktu (WIB)", "tickformat": "%d/%m/%Y<br>%H.%M"},
        yaxis={"autorange": "reversed", "title": None, "categoryorder": "array",
               "categoryarray": list(dict.fromkeys(visits["name"]))},
        legend={"orientation": "h", "y": 1.08, "x": 0})
    return figure


def case_detail(case_id: int) -> None:
    try:
        with read_session(engine()) as session:
            header = case_header(session, case_id=case_id)
            visits = case_visits(session, case_id=case_id)
            trail = audit_trail(session, case_id=case_id)
    except NotFound as error:
        show_error(str(error))
        return
    st.page_link("pages/kasus.py", label="Semua kasus", icon=":material/arrow_back:")
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
    st.plotly_chart(timeline(visits), width="stretch")
    st.caption("Setiap batang: sejak langkah tersedia sampai selesai (atau sekarang). Tanda "
               "hitam: batas Mutu Baku dalam waktu kerja.")

    st.subheader("Jejak audit")
    shown = trail.assign(**{
        "Waktu kejadian": trail["Waktu kejadian"].map(format_wib),
        "Dicatat pada": trail["Dicatat pada"].map(format_wib),
    })
    st.dataframe(shown, hide_index=True, width="stretch")

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
