"""Kalender Kerja (admin): holidays (national, cuti bersama, the agency's own), Ramadan
periods and working hours; every duration in the app is counted on this calendar."""

from __future__ import annotations

from datetime import date, time

import pandas as pd
import streamlit as st

from db.engine import read_session
from services.calendar import DayHours, load_calendar_settings
from services.calendar_admin import (
    WEEKDAYS,
    add_holiday,
    add_ramadan_period,
    delete_ramadan_period,
    holidays_of_year,
    ramadan_periods,
    remove_holiday,
    set_work_hours,
)
from services.clock import utcnow
from services.formatting import WIB, format_day
from ui.messages import perform, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.tables import table

require_app()
actor = current_actor()
show_flash()
st.title("Kalender Kerja")



def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}.{minutes % 60:02d}"


holiday_tab, ramadan_tab, hours_tab = st.tabs(["Hari libur", "Periode Ramadan", "Jam kerja"])
with holiday_tab:
    year = st.number_input("Tahun", min_value=2000, max_value=2100,
                           value=utcnow().astimezone(WIB).year, step=1)
    with read_session(engine()) as session:
        days = holidays_of_year(session, year=int(year))
    table(pd.DataFrame([{"Tanggal": format_day(d.day), "Hari": WEEKDAYS[d.day.weekday()],
                         "Nama": d.name, "Sumber": d.source} for d in days]),
          empty=f"Tidak ada hari libur tercatat untuk tahun {int(year)}.", hide_index=True)
    left, right = st.columns(2)
    with left, st.form("tambah-libur"):
        st.markdown("**Tambah hari libur**")
        day = st.date_input("Tanggal", value=date(int(year), 1, 1), format="DD/MM/YYYY",
                            key="libur-tanggal")
        name = st.text_input("Nama", help="Paling banyak 120 karakter.", placeholder="mis. Hari jadi Provinsi")
        if st.form_submit_button("Tambah"):
            perform(lambda s: add_holiday(s, actor=actor, day=day, name=name, now=utcnow()),
                f"{day:%d-%m-%Y} menjadi hari libur.")
    with right, st.form("hapus-libur"):
        st.markdown("**Jadikan hari kerja**")
        off = [d.day for d in days if d.source != "dihapus admin"]
        day = st.selectbox("Hari libur", off, format_func=format_day)
        if st.form_submit_button("Jadikan hari kerja") and day is not None:
            perform(lambda s: remove_holiday(s, actor=actor, day=day, now=utcnow()),
                f"{day:%d-%m-%Y} menjadi hari kerja.")

with ramadan_tab:
    with read_session(engine()) as session:
        periods = [(p.id, p.label, p.start_day, p.end_day) for p in ramadan_periods(session)]
    st.caption("Selama periode Ramadan berlaku jam kerja Ramadan (tab Jam kerja).")
    table(pd.DataFrame([{"Nama": label, "Mulai": format_day(start), "Selesai": format_day(end)}
                        for _, label, start, end in periods]),
          empty="Belum ada periode Ramadan.", hide_index=True)
    with st.form("tambah-ramadan"):
        label = st.text_input("Nama", help="Paling banyak 80 karakter.", placeholder="mis. Ramadan 1448 H")
        start = st.date_input("Mulai", format="DD/MM/YYYY", key="ramadan-mulai")
        end = st.date_input("Selesai", format="DD/MM/YYYY", key="ramadan-selesai")
        if st.form_submit_button("Tambah periode"):
            perform(lambda s: add_ramadan_period(s, actor=actor, start=start, end=end, label=label),
                "Periode Ramadan ditambahkan.")
    if periods:
        with st.form("hapus-ramadan"):
            chosen = st.selectbox("Periode", periods, format_func=lambda p: p[1])
            if st.form_submit_button("Hapus periode"):
                perform(lambda s: delete_ramadan_period(s, actor=actor, period_id=chosen[0]),
                    "Periode Ramadan dihapus.")

with hours_tab:
    with read_session(engine()) as session:
        settings = load_calendar_settings(session)
    for regime, hours_of in (("normal", settings.normal), ("ramadan", settings.ramadan)):
        st.markdown(f"**Jam kerja {'biasa' if regime == 'normal' else 'Ramadan'}**")
        st.dataframe(pd.DataFrame([{
            "Hari": WEEKDAYS[day],
            "Jam kerja": (f"{hhmm(h.start_minute)}–{hhmm(h.break_start_minute)}, "
                          f"{hhmm(h.break_end_minute)}–{hhmm(h.end_minute)}" if h else "libur"),
            "Menit kerja": h.minutes if h else 0,
        } for day in range(7) for h in [hours_of.get(day)]]), hide_index=True)
    with st.form("ubah-jam"):
        regime = st.selectbox("Jam kerja", ["normal", "ramadan"],
                              format_func=lambda r: "biasa" if r == "normal" else "Ramadan")
        weekday = st.selectbox("Hari", range(7), format_func=lambda d: WEEKDAYS[d])
        working = st.checkbox("Hari kerja", value=True)
        columns = st.columns(4)
        clock_in = columns[0].time_input("Masuk", time(7, 30), step=300)
        break_start = columns[1].time_input("Istirahat mulai", time(12, 0), step=300)
        break_end = columns[2].time_input("Istirahat selesai", time(13, 0), step=300)
        clock_out = columns[3].time_input("Pulang", time(16, 0), step=300)
        if st.form_submit_button("Simpan jam kerja"):
            def minutes(t: time) -> int:
                return t.hour * 60 + t.minute

            hours = (DayHours(minutes(clock_in), minutes(break_start), minutes(break_end),
                              minutes(clock_out)) if working else None)
            perform(lambda s: set_work_hours(s, actor=actor, regime=regime, weekday=weekday,
                                         hours=hours), f"Jam kerja {WEEKDAYS[weekday]} disimpan.")
