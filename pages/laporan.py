"""Laporan (Kadis, Sekretaris): the PermenPAN-RB 35/2012 monitoring (Tabel 7) and evaluation
forms of an SOP for a period, pre-filled from the measured figures, edited and saved, and every
report file of the period for download."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from db.engine import read_session
from services.access import require_heads
from services.catalog.store import current_catalog
from services.clock import utcnow
from services.metrics import period_metrics
from services.periods import semester, today_wib
from services.reports.digest import report_city, report_files
from services.reports.forms import Thresholds, evaluation_form, may_evaluate, monitoring_form
from ui.data import cached_history
from ui.filters import one_sop_filter, period_filter
from ui.messages import permitted, show_flash
from ui.report_forms import all_reports, evaluation_editor, monitoring_editor, thresholds_editor
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor

require_app()
st.title("Laporan Monitoring & Evaluasi SOP")
show_flash()
actor = current_actor()
permitted(lambda: require_heads(actor))
now = utcnow()
today = today_wib(now)
if not st.query_params.get("periode"):
    st.query_params["periode"] = semester(today).text  # the regulation's reporting rhythm
with read_session(engine()) as session:
    entries = {entry.sop.code: entry for entry in current_catalog(session)}
    city = report_city(session)
    thresholds = Thresholds.of(session)
columns = st.columns([1, 1.4, 3])
period = period_filter(columns[0], columns[1], today=today)
code = one_sop_filter(columns[2], {c: e.sop.name for c, e in entries.items()})
may_save = may_evaluate(actor)
if not may_save:
    st.info("Anda dapat melihat dan mengunduh formulir; yang menyimpan adalah Kepala Dinas, "
            "Sekretaris, atau admin.")
# Tabs that track state: the choice survives reruns, and only the open tab's work is done.
monitoring_tab, evaluation_tab, files_tab = st.tabs(
    ["Tabel 7 Monitoring", "Evaluasi SOP", "Semua berkas periode"], key="laporan-tab",
    on_change="rerun")
if monitoring_tab.open:
    with read_session(engine()) as session:
        metrics = period_metrics(session, period=period, now=now, history=cached_history())
        monitoring = monitoring_form(session, entry=entries[code], period=period,
                                     metrics=metrics)
    with monitoring_tab:
        monitoring_editor(monitoring, actor=actor, may_save=may_save, city=city, day=today)
if evaluation_tab.open:
    with read_session(engine()) as session:
        evaluation = evaluation_form(session, entry=entries[code], period=period)
    with evaluation_tab:
        evaluation_editor(evaluation, actor=actor, may_save=may_save, city=city, day=today)
if files_tab.open:
    def build(progress: Callable[[str, float], None]) -> list[tuple[str, bytes]]:
        with read_session(engine()) as session:
            return report_files(session, period=period, now=now, history=cached_history(),
                                progress=progress)

    with files_tab:
        all_reports(period_text=period.text, build=build)
if actor.is_admin:
    with st.expander("Ambang penilaian awal Tabel 7 (admin)"):
        thresholds_editor(actor=actor, min_compliance=thresholds.min_compliance,
                          max_return_rate=thresholds.max_return_rate)
