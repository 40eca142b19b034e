"""Pengguna (admin): create users, edit their roles and unit, reset passwords, deactivate;
delete only users who never appear in the audit trail; the mail settings in force, a test
message, and who receives the morning digest."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from db.engine import read_session
from services.accounts import (
    MIN_PASSWORD_LENGTH,
    create_user,
    delete_user,
    list_users,
    reset_password,
    update_user,
)
from services.catalog.roles import CANONICAL_ROLES
from services.clock import utcnow
from services.errors import ServiceError
from services.formatting import format_wib
from services.mail import MAX_ADDRESS_LENGTH, mail_settings
from services.notify import mail_preferences, send_test_message, set_email_opt_out
from services.organisation import list_units
from services.settings import get_setting, set_decisions_on_behalf
from ui.messages import perform, show, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor
from ui.tables import table

require_app()
actor = current_actor()
show_flash()
st.title("Pengguna")
with read_session(engine()) as session:
    users = list_users(session)
    units = {unit.code: unit.name for unit in list_units(session, active_only=True)}
    preferences = mail_preferences(session)
unit_options = [None, *units]


def unit_name(code: str | None) -> str:
    return "-" if code is None else units.get(code, code)


table(pd.DataFrame([{
    "Nama pengguna": u.username, "Nama": u.full_name, "Peran": ", ".join(u.roles) or "-",
    "Unit": u.unit_name or "-", "Admin": u.is_admin, "Pencatat": u.is_recorder,
    "Aktif": u.is_active, "Terkunci sampai": format_wib(u.locked_until) if u.locked_until else "",
    "Terakhir masuk": format_wib(u.last_login_at) if u.last_login_at else "",
    "Kejadian": u.events,
} for u in users]), empty="Belum ada pengguna.", hide_index=True, width="stretch")

add_tab, edit_tab, password_tab, delete_tab, mail_tab = st.tabs(
    ["Tambah pengguna", "Ubah peran dan unit", "Atur ulang kata sandi", "Hapus", "Surel"])

with add_tab, st.form(f"tambah-pengguna-{st.session_state.get('tambah-pengguna', 0)}"):
    username = st.text_input("Nama pengguna", help="Huruf kecil, angka, titik, garis bawah "
                             "atau tanda hubung; 3 sampai 64 karakter.")
    full_name = st.text_input("Nama lengkap", help="Paling banyak 120 karakter.")
    email = st.text_input("Surel (opsional)", max_chars=MAX_ADDRESS_LENGTH,
                          placeholder="nama@dinas.go.id")
    roles = st.multiselect("Peran (Pelaksana)", CANONICAL_ROLES, placeholder="Pilih peran")
    unit = st.selectbox("Unit", unit_options, format_func=unit_name)
    is_admin = st.checkbox("Admin (mengelola pengguna, unit, kalender)")
    recorder = st.checkbox("Pencatat (boleh mencatat atas nama peran lain)",
                           help="Bawaan untuk Fungsional dan admin.")
    password = st.text_input(f"Kata sandi awal (minimal {MIN_PASSWORD_LENGTH} karakter)",
                             type="password", max_chars=72)
    if st.form_submit_button("Tambah pengguna", type="primary"):
        perform(lambda session: create_user(
            session, actor=actor, username=username, full_name=full_name, password=password,
            roles=roles, unit_code=unit, is_admin=is_admin, email=email or None,
            is_recorder=recorder or None, now=utcnow()),
            f"Pengguna '{username.strip().lower()}' ditambahkan.", fresh_form="tambah-pengguna")

by_name = {u.username: u for u in users}
with edit_tab:
    chosen = st.selectbox("Pengguna", list(by_name), key="ubah-siapa",
                          format_func=lambda n: f"{by_name[n].full_name} ({n})")
    if chosen:
        user = by_name[chosen]
        with st.form(f"ubah-{chosen}"):
            full_name = st.text_input("Nama lengkap", value=user.full_name, help="Paling banyak 120 karakter.")
            email = st.text_input("Surel", value=user.email or "", max_chars=MAX_ADDRESS_LENGTH,
                                  placeholder="nama@dinas.go.id")
            roles = st.multiselect("Peran", CANONICAL_ROLES, placeholder="Pilih peran",
                                   default=[r for r in user.roles if r in CANONICAL_ROLES])
            unit = st.selectbox("Unit", unit_options, format_func=unit_name,
                                index=unit_options.index(user.unit_code)
                                if user.unit_code in unit_options else 0)
            is_admin = st.checkbox("Admin", value=user.is_admin)
            recorder = st.checkbox("Pencatat", value=user.is_recorder)
            active = st.checkbox("Aktif (bisa masuk)", value=user.is_active)
            if st.form_submit_button("Simpan perubahan", type="primary"):
                perform(lambda session: update_user(
                    session, actor=actor, username=chosen, full_name=full_name, roles=roles,
                    unit_code=unit, is_admin=is_admin, is_recorder=recorder, is_active=active,
                    email=email or None), f"Data {chosen} disimpan.")

with password_tab, st.form("atur-ulang-sandi"):
    chosen = st.selectbox("Pengguna", list(by_name), key="sandi-siapa")
    password = st.text_input(f"Kata sandi baru (minimal {MIN_PASSWORD_LENGTH} karakter)",
                             type="password", max_chars=72)
    st.caption("Juga membuka kunci akun yang terkunci karena salah kata sandi.")
    if st.form_submit_button("Atur ulang kata sandi"):
        perform(lambda session: reset_password(session, actor=actor, username=chosen, new=password,
                                           now=utcnow()),
            f"Kata sandi {chosen} diatur ulang; sampaikan kepadanya secara langsung.")

with delete_tab:
    removable = [u.username for u in users if u.events == 0 and u.username != actor.username]
    st.caption("Pengguna yang sudah tercatat pada kejadian tidak dapat dihapus (jejak audit "
               "harus utuh); nonaktifkan saja di tab Ubah.")
    if not removable:
        st.info("Tidak ada pengguna yang dapat dihapus.")
    else:
        with st.form("hapus-pengguna"):
            chosen = st.selectbox("Pengguna", removable, key="hapus-siapa")
            sure = st.checkbox("Saya yakin akan menghapus pengguna ini")
            if st.form_submit_button("Hapus pengguna"):
                if not sure:
                    st.error("Centang konfirmasi terlebih dahulu.")
                else:
                    perform(lambda session: delete_user(session, actor=actor, username=chosen),
                        f"Pengguna {chosen} dihapus.")

with mail_tab:
    settings = mail_settings()
    st.markdown("**Pengaturan surel yang berlaku**")
    server = settings.server
    table(pd.DataFrame([
        {"Pengaturan": "Server (PANTAU_SMTP_URL)",
         "Nilai": server.shown_url if server else "belum diatur"},
        {"Pengaturan": "Kata sandi server",
         "Nilai": "diatur (tidak ditampilkan)" if server and server.password else "tidak ada"},
        {"Pengaturan": "Keamanan", "Nilai": server.security if server else "-"},
        {"Pengaturan": "Pengirim (PANTAU_MAIL_FROM)", "Nilai": settings.sender or "belum diatur"},
        {"Pengaturan": "Alamat situs untuk tautan (PANTAU_BASE_URL)",
         "Nilai": settings.base_url or "belum diatur"},
    ]), empty="", hide_index=True, width="stretch")
    st.caption("Dibaca dari lingkungan proses aplikasi: ubah di berkas lingkungannya (lihat "
               "docs/deploy.md), lalu mulai ulang aplikasi. Ringkasan pagi dikirim oleh "
               "`manage.py notify` dengan pengaturan yang sama.")
    for problem in settings.problems:
        show(problem, kind="warning")

    st.markdown("**Kirim pesan uji**")
    with st.form("surel-uji"):
        own = next((p.email for p in preferences if p.username == actor.username), None)
        to = st.text_input("Kirim ke", value=own or "", max_chars=MAX_ADDRESS_LENGTH,
                           placeholder="nama@dinas.go.id")
        if st.form_submit_button("Kirim pesan uji"):
            try:
                sent_to = send_test_message(actor=actor, settings=settings, to=to, now=utcnow())
            except ServiceError as error:
                show_error(f"Pesan uji tidak terkirim: {error}")
            else:
                show(f"Pesan uji terkirim ke {sent_to}. Periksa kotak masuknya (juga folder "
                     "spam).", kind="success")

    st.markdown("**Penerima surel pengingat**")
    table(pd.DataFrame([{
        "Nama": p.full_name, "Nama pengguna": p.username, "Surel": p.email or "-",
        "Surel pengingat": "dikirim" if p.receives else
        "dihentikan admin" if p.opted_out else
        "tanpa alamat surel" if p.email is None else "akun nonaktif",
    } for p in preferences]), empty="Belum ada pengguna.", hide_index=True, width="stretch")
    by_pref = {p.username: p for p in preferences}
    chosen = st.selectbox("Pengguna", list(by_pref), key="surel-siapa",
                          format_func=lambda n: f"{by_pref[n].full_name} ({n})")
    if chosen:
        with st.form(f"surel-{chosen}"):
            stop = st.checkbox("Hentikan surel pengingat untuk pengguna ini",
                               value=by_pref[chosen].opted_out)
            if st.form_submit_button("Simpan"):
                perform(lambda session: set_email_opt_out(
                    session, actor=actor, username=chosen, opted_out=stop),
                    f"Surel pengingat untuk {chosen} "
                    + ("dihentikan." if stop else "dikirim lagi."))

st.subheader("Keputusan atas nama orang lain")
with read_session(engine()) as session:
    on_behalf = bool(get_setting(session, "decisions_on_behalf"))
with st.form("keputusan-atas-nama"):
    allowed = st.toggle(
        "Pencatat boleh mencatat Setujui/Kembalikan atas nama pemegang peran", value=on_behalf,
        help="Bila boleh, pencatat memilih siapa yang memutuskan dan menyebut nomor Nota Dinas "
             "atau disposisinya. Bila tidak, keputusan hanya dicatat oleh pemegang perannya.")
    if st.form_submit_button("Simpan pengaturan"):
        perform(lambda session: set_decisions_on_behalf(session, actor=actor, allowed=allowed,
                                                        now=utcnow()),
                "Pengaturan keputusan atas nama orang lain disimpan.")
