"""Penyiapan Awal: while no user exists, create the first admin (and optionally the demo)."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session, write_session
from services.accounts import MIN_PASSWORD_LENGTH, create_first_admin, load_actor
from services.clock import utcnow
from services.demo import load_demo
from services.errors import ServiceError
from ui.format import progress_bar
from ui.messages import show_error
from ui.routing import require_app
from ui.runtime import engine

require_app()
st.title("Penyiapan Awal Pantau SOP")
st.write("Belum ada pengguna. Buat akun **admin** pertama; admin kemudian menambahkan pengguna "
         "lain (Kadis, Sekretaris, Fungsional, ...) dari halaman Pengguna. Halaman ini hilang "
         "setelah akun pertama dibuat.")

with st.form("penyiapan"):
    username = st.text_input("Nama pengguna admin", help="Paling banyak 64 karakter.", placeholder="mis. admin")
    full_name = st.text_input("Nama lengkap", help="Paling banyak 120 karakter.")
    password = st.text_input(f"Kata sandi (minimal {MIN_PASSWORD_LENGTH} karakter)",
                             type="password", max_chars=72)
    repeated = st.text_input("Ulangi kata sandi", type="password", max_chars=72)
    with_demo = st.checkbox("Muat juga data demo (riwayat contoh dua tahun untuk lima SOP, "
                            "dengan akun demo)")
    submitted = st.form_submit_button("Buat akun admin", type="primary")

if submitted:
    if password != repeated:
        st.error("Kata sandi dan ulangannya tidak sama.")
        st.stop()
    try:
        with write_session(engine()) as session:
            create_first_admin(session, username=username, full_name=full_name,
                               password=password, now=utcnow())
    except ServiceError as error:
        show_error(str(error))
        st.stop()
    if with_demo:
        bar = st.progress(0.0, text="Menyiapkan data demo ...")
        try:
            with read_session(engine()) as session:
                admin = load_actor(session, username=username.strip().lower())
            with write_session(engine()) as session:
                result = load_demo(session, actor=admin, seed=2026, now=utcnow(),
                                   progress=progress_bar(bar))
            st.success(f"Data demo dimuat: {result.cases} kasus, {result.events} kejadian.")
        except ServiceError as error:
            st.error(f"Akun admin dibuat, tetapi data demo gagal dimuat: {error}")
    st.success("Akun admin dibuat. Silakan masuk dengan akun tersebut.")
    st.button("Ke halaman masuk", type="primary")  # any rerun now shows the login
