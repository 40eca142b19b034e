"""The editable forms of the Laporan page: Tabel 7 as a table editor, the evaluation as seven
Ya/Tidak questions. Saving goes through services.reports.forms, which checks who may save."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st

from services.accounts import Actor
from services.clock import utcnow
from services.formatting import format_wib
from services.reports.excel import evaluation_workbook, monitoring_workbook
from services.reports.forms import (
    ASSESSMENTS,
    CRITERIA,
    NO,
    YES,
    EvaluationForm,
    MonitoringForm,
    save_evaluation,
    save_monitoring,
)
from services.reports.pdf import evaluation_pdf, monitoring_pdf
from services.settings import set_monitoring_thresholds
from ui.format import progress_bar
from ui.messages import perform
from ui.text import markdown_escape

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME = {"pdf": "application/pdf", "xlsx": XLSX, "csv": "text/csv", "xes": "application/xml"}


def _saved_caption(form: MonitoringForm | EvaluationForm) -> None:
    if form.saved is None:
        st.caption("Belum disimpan untuk periode ini: yang tampil adalah draf.")
    else:
        st.caption(f"Tersimpan oleh **{markdown_escape(form.saved.full_name)}** pada "
                   f"{format_wib(form.saved.at)}.")


def _save(action: Callable[..., None], message: str, **arguments: object) -> None:
    perform(lambda session: action(session, now=utcnow(), **arguments), message)


def _downloads(stem: str, pdf: Callable[[], bytes], xlsx: Callable[[], bytes]) -> None:
    left, right = st.columns(2)
    left.download_button("Unduh PDF", data=pdf, file_name=f"{stem}.pdf", mime="application/pdf",
                         icon=":material/picture_as_pdf:", on_click="ignore")
    right.download_button("Unduh Excel", data=xlsx, file_name=f"{stem}.xlsx", mime=XLSX,
                          icon=":material/table_view:", on_click="ignore")


def monitoring_editor(form: MonitoringForm, *, actor: Actor, may_save: bool, city: str,
                      day: date) -> None:
    _saved_caption(form)
    st.caption(f"Penilaian awal: berjalan dengan baik bila ≥ {form.thresholds.min_compliance:.0%} "
               f"kunjungan dalam Mutu Baku dan pengembalian ≤ "
               f"{form.thresholds.max_return_rate:.0%} dari keputusan. Sunting lalu simpan.")
    table = pd.DataFrame({
        "seq": [row.seq for row in form.rows],
        "No.": [row.number for row in form.rows],
        "Prosedur": [row.procedure for row in form.rows],
        "Penilaian": [row.assessment for row in form.rows],
        "Catatan Hasil Penilaian": [row.note for row in form.rows],
        "Tindakan yang Harus Diambil": [row.action for row in form.rows],
    })
    key = f"tabel7-{form.sop.code}-{form.period.text}"
    with st.form(key):
        st.markdown("**Baris SOP ini pada Tabel 7**")
        st.caption("Tabel 7 berisi satu baris untuk setiap SOP unit kerja; rincian per langkah di "
                   "bawahnya menjadi lampirannya.")
        options = list(ASSESSMENTS)
        assessment = st.selectbox(
            "Penilaian Terhadap Penerapan", options, key=f"{key}-penilaian",
            index=options.index(form.summary.assessment) if form.summary.assessment else None,
            placeholder="Pilih penilaian", disabled=not may_save)
        left, right = st.columns(2)
        summary_note = left.text_area("Catatan Hasil Penilaian", value=form.summary.note,
                                      help="Paling banyak 2.000 karakter.", key=f"{key}-catatan",
                                      disabled=not may_save)
        summary_action = right.text_area("Tindakan yang Harus Diambil",
                                         value=form.summary.action, help="Paling banyak 2.000 karakter.",
                                         key=f"{key}-tindakan", disabled=not may_save)
        st.markdown("**Lampiran: penilaian per langkah**")
        edited = st.data_editor(
            table, key=f"{key}-editor", hide_index=True, width="stretch", num_rows="fixed",
            disabled=["No.", "Prosedur"] + ([] if may_save else list(table.columns)),
            column_order=["No.", "Prosedur", "Penilaian", "Catatan Hasil Penilaian",
                          "Tindakan yang Harus Diambil"],
            column_config={
                # Pixel widths so all five columns fit the page without scrolling sideways.
                "No.": st.column_config.TextColumn(width=40),
                "Prosedur": st.column_config.TextColumn(width=230),
                "Penilaian": st.column_config.SelectboxColumn(
                    "Penilaian", options=list(ASSESSMENTS), required=True, width=175,
                    help="Penilaian Terhadap Penerapan"),
                "Catatan Hasil Penilaian": st.column_config.TextColumn(
                    "Catatan", max_chars=2000, width=180,
                    help="Catatan Hasil Penilaian (paling banyak 2.000 karakter)"),
                "Tindakan yang Harus Diambil": st.column_config.TextColumn(
                    "Tindakan", max_chars=2000, width=170,
                    help="Tindakan yang Harus Diambil (paling banyak 2.000 karakter)"),
            })
        submitted = st.form_submit_button("Simpan Tabel 7", type="primary", disabled=not may_save)
    if submitted:
        rows = [{"seq": int(row["seq"]), "assessment": row["Penilaian"],
                 "note": row["Catatan Hasil Penilaian"],
                 "action": row["Tindakan yang Harus Diambil"]}
                for row in edited.to_dict("records")]
        _save(save_monitoring, f"Tabel 7 {form.sop.name} ({form.period.label}) disimpan.",
              actor=actor, code=form.sop.code, period=form.period, rows=rows,
              summary={"assessment": assessment, "note": summary_note,
                       "action": summary_action})
    _downloads(f"tabel7-{form.sop.code}-{form.period.text}",
               lambda: monitoring_pdf([form], city=city, day=day),
               lambda: monitoring_workbook([form]))


def evaluation_editor(form: EvaluationForm, *, actor: Actor, may_save: bool, city: str,
                      day: date) -> None:
    _saved_caption(form)
    key = f"evaluasi-{form.sop.code}-{form.period.text}"
    answers: dict[str, str | None] = {}
    notes: dict[str, str] = {}
    with st.form(key):
        for number, (criterion, label) in enumerate(CRITERIA, start=1):
            left, right = st.columns([3, 4])
            current = form.answers[criterion]
            answers[criterion] = left.radio(
                f"{number}. {label}", (YES, NO), horizontal=True, key=f"{key}-{criterion}",
                index=None if current is None else (YES, NO).index(current),
                disabled=not may_save)
            notes[criterion] = right.text_input(
                f"Catatan kriteria {number}", value=form.notes[criterion], help="Paling banyak 2.000 karakter.",
                key=f"{key}-{criterion}-catatan", disabled=not may_save)
        conclusion = st.text_area("Kesimpulan dan rekomendasi", value=form.conclusion,
                                  help="Paling banyak 2.000 karakter.", key=f"{key}-kesimpulan", disabled=not may_save)
        submitted = st.form_submit_button("Simpan evaluasi", type="primary",
                                          disabled=not may_save)
    if submitted:
        _save(save_evaluation, f"Evaluasi {form.sop.name} ({form.period.label}) disimpan.",
              actor=actor, code=form.sop.code, period=form.period, answers=answers, notes=notes,
              conclusion=conclusion)
    _downloads(f"evaluasi-{form.sop.code}-{form.period.text}",
               lambda: evaluation_pdf([form], city=city, day=day),
               lambda: evaluation_workbook([form]))


def all_reports(*, period_text: str, build: Callable[[Callable[[str, float], None]],
                                                      list[tuple[str, bytes]]]) -> None:
    """Every SOP's forms, the management workbook and the event log of the period: built on
    request (it takes a while on a large log, so a progress bar shows each file), then offered
    one by one and as a single ZIP."""
    key = f"laporan-berkas-{period_text}"
    st.write("Tabel 7 dan evaluasi untuk **semua SOP** (PDF dan Excel), laporan manajemen "
             "(Excel), serta log kejadian periode ini (CSV dan XES).")
    if st.button("Siapkan semua berkas", icon=":material/folder_zip:", key=f"{key}-buat"):
        bar = st.progress(0.0, text="Menyiapkan ...")
        files = build(progress_bar(bar))
        st.session_state[key] = (utcnow(), files)
        bar.empty()
    if key not in st.session_state:
        return
    prepared_at, files = st.session_state[key]
    st.caption(f"Disiapkan {format_wib(prepared_at)}. Tekan lagi untuk memuat data terbaru.")
    # Callables: the ZIP (and each file's copy for the browser) is made only when clicked,
    # not on every rerun; an event log of a big agency is hundreds of megabytes.
    st.download_button("Unduh semua (ZIP)", data=lambda: _zip(files), type="primary",
                       file_name=f"laporan-sop-{period_text}.zip", mime="application/zip",
                       icon=":material/download:", on_click="ignore", key=f"{key}-zip")
    for name, content in files:
        st.download_button(f"{name} ({len(content) / 1024:,.0f} KB)",
                           data=_later(content), file_name=name,
                           mime=MIME.get(name.rpartition(".")[2]), on_click="ignore",
                           key=f"{key}-{name}")


def _later(content: bytes) -> Callable[[], bytes]:
    """The file handed to the browser only when its button is pressed."""
    return lambda: content


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files:
            bundle.writestr(name, content)
    return archive.getvalue()


def thresholds_editor(*, actor: Actor, min_compliance: float, max_return_rate: float) -> None:
    """Admin: the thresholds behind the pre-filled assessment of Tabel 7."""
    with st.form("ambang-penilaian"):
        left, right = st.columns(2)
        compliance = left.number_input(
            "Minimal kunjungan dalam Mutu Baku (%)", min_value=0, max_value=100, step=5,
            value=round(min_compliance * 100))
        returns = right.number_input(
            "Maksimal pengembalian dari keputusan (%)", min_value=0, max_value=100, step=5,
            value=round(max_return_rate * 100))
        if st.form_submit_button("Simpan ambang"):
            _save(set_monitoring_thresholds, "Ambang penilaian disimpan.", actor=actor,
                  min_compliance=compliance / 100, max_return_rate=returns / 100)
