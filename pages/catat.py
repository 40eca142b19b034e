"""Catat Langkah: record the open step of a case (complete, approve or return, begin), for
oneself or, as a recorder, on behalf of the step's role."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session, write_session
from services.cases import list_cases, recorded_message, step_form
from services.clock import utcnow
from services.errors import NotFound, PermissionDenied, ServiceError
from services.formatting import format_minutes, format_wib
from services.workflow.engine import record_step
from services.workflow.model import Performer, StepKind
from ui.event_time import remember, time_fields, time_mode
from ui.messages import flash, show, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.text import markdown_escape

NOBODY = "(pelaksana tidak diketahui)"
MYSELF = "(saya sendiri)"

require_app()
actor = current_actor()
show_flash()
st.title("Catat Langkah")

requested = st.query_params.get("kasus", "")
if not requested.isdigit():
    with read_session(engine()) as session:
        active = list_cases(session, status="active", limit=500)
    if active.empty:
        st.info("Tidak ada kasus yang sedang berjalan.")
        st.page_link("pages/mulai.py", label="Mulai kasus baru", icon=":material/add_circle:")
        st.stop()
    labels = dict(zip(active["id"], active["title"] + " (" + active["ref"] + ")", strict=True))
    choice = st.selectbox("Kasus", list(labels), format_func=lambda case_id: labels[case_id],
                          index=None,
                          placeholder="Pilih kasus yang berjalan")
    if choice is None:
        st.stop()
    st.query_params["kasus"] = str(choice)
    requested = str(choice)

try:
    with read_session(engine()) as session:
        form = step_form(session, actor=actor, case_id=int(requested))
except (NotFound, PermissionDenied) as error:
    show_error(str(error))
    st.stop()
if form is None:
    st.info("Kasus ini sudah selesai atau dibatalkan; tidak ada langkah yang dapat dicatat.")
    st.page_link("pages/kasus.py", label="Lihat kasus", query_params={"kasus": requested})
    st.stop()

case = form.case
st.markdown(f"**{markdown_escape(case.title)}** · {markdown_escape(case.sop_name)} · "
            f"{markdown_escape(case.ref)}")
st.progress(case.progress, text=f"Langkah {form.seq} dari {case.steps_total}")
st.page_link("pages/kasus.py", label="Riwayat kasus", icon=":material/history:",
             query_params={"kasus": requested})

with st.container(border=True):
    st.markdown(f"#### Langkah {markdown_escape(form.label)}: "
                f"{markdown_escape(form.activity)}")
    target = (format_minutes(form.target.minutes) if form.target.kind == "minutes" else
              "sesuai jadwal kasus" if form.target.kind == "schedule" else "tanpa target")
    st.markdown(f"Pelaksana: **{markdown_escape(form.role)}** · Waktu (Mutu Baku): "
                f"{markdown_escape(form.waktu or '–')} ({target}) · "
                f"Output: {markdown_escape(form.output or '–')}")
    if form.begun_at is not None:
        st.caption(f"Mulai dikerjakan {format_wib(form.begun_at)}")
    if form.multi_unit:
        st.caption("Diserahkan oleh setiap unit; belum: "
                   + (", ".join(name for _, name in form.units_outstanding) or "-"))

# The visit the user was shown when they filled the form: if someone records it first, the
# engine refuses this submission (instead of it landing on the next step).
seen_key = f"catat-dilihat-{case.id}"
seen_visit = st.session_state.get(seen_key, form.visit_id)
st.session_state[seen_key] = form.visit_id
if seen_visit != form.visit_id:
    st.info("Langkah yang tadi Anda buka sudah dicatat oleh pengguna lain; berikut keadaan "
            "terbaru kasus ini.")

if form.multi_unit and not form.units_for_user and not form.may_record_for_others:
    st.info("Unit Anda sudah menyerahkan langkah ini; langkah selesai setelah semua unit "
            "menyerahkan.")
    st.stop()
if not (form.acts_as_self or form.may_record_for_others):
    # Information, not a failure: usually the step that follows the user's own.
    show(f"Langkah ini dipegang {form.role}; tidak ada yang perlu Anda catat di sini. "
         "Pencatat dapat mencatatnya atas nama pelaksana.")
    st.stop()

actions: dict[StepKind, str] = {}
if form.approve_seq is not None:
    actions["approve"] = f"Setujui (Y): lanjut ke langkah {form.approve_label} ({form.approve_role})"
    actions["return"] = (f"Kembalikan (T): kembali ke langkah {form.return_label} "
                         f"({form.return_role}) untuk diperbaiki")
else:
    actions["complete"] = "Selesai" + (
        f": lanjut ke langkah {form.next_label}" if form.next_label else
        ": kasus selesai")
if form.begun_at is None:
    actions["begin"] = "Mulai dikerjakan (langkah belum selesai)"

mode = time_mode(key="catat-waktu")
with st.form(f"catat-{case.id}"):
    kind = st.radio("Yang dicatat", list(actions), format_func=lambda key: actions[key])
    unit_code = None
    if form.multi_unit:
        units = dict(form.units_for_user)
        unit_code = st.selectbox("Unit yang menyerahkan", list(units),
                                 format_func=lambda code: units[code])
    performer: Performer | str = Performer.RECORDER
    if form.may_record_for_others:
        people = dict(form.performers)
        # Nobody is picked for the user: a wrong name would be recorded as the performer.
        options = ([MYSELF] if form.acts_as_self else [NOBODY]) + list(people) + (
            [NOBODY] if form.acts_as_self else [])
        chosen = st.selectbox(
            f"Dilaksanakan oleh ({form.role})", options,
            format_func=lambda name: people.get(name, name),
            help="Pencatat boleh mencatat atas nama pelaksana (mis. dari Buku Agenda atau "
                 "Nota Dinas); keduanya tercatat.")
        performer = {MYSELF: Performer.RECORDER, NOBODY: Performer.UNKNOWN}.get(chosen, chosen)
    source = None
    if form.approve_seq is not None and form.may_record_for_others:
        source = st.text_input(
            "Dasar keputusan (nomor Nota Dinas atau disposisi)",
            help="Wajib bila keputusan dicatat atas nama orang lain; paling banyak 200 karakter.")
    at = time_fields(mode, key="catat-waktu", previous=case.last_event_at)
    checked = [item for index, item in enumerate(form.kelengkapan)
               if st.checkbox(f"Kelengkapan: {item}", key=f"kel-{form.visit_id}-{index}")]
    output = st.text_input("Output (nomor dokumen / referensi)", help="Paling banyak 200 karakter.",
                           placeholder=form.output or "")
    note = st.text_area("Catatan (wajib diisi alasannya bila dikembalikan)", help="Paling banyak 2.000 karakter.")
    submitted = st.form_submit_button("Catat", type="primary")

if submitted:
    details = {key: value for key, value in (("kelengkapan", checked),
                                             ("output", output.strip())) if value}
    try:
        with write_session(engine()) as session:
            recorded = record_step(
                session, actor=actor, case_id=case.id, kind=kind, seq=form.seq,
                at=at.instant(not_before=case.last_event_at),
                visit_id=seen_visit, unit_code=unit_code, performer=performer, note=note or None,
                details=details or None, now=utcnow(), decision_source=source or None)
    except ServiceError as error:
        show_error(str(error))  # the form keeps what was typed
        st.session_state[seen_key] = form.visit_id
    else:
        st.session_state.pop(seen_key, None)
        remember(recorded.at, key="catat-waktu")
        flash(recorded_message(recorded))
        st.rerun()
