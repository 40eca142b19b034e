"""Pengguna (admin): create users, edit their roles and unit, reset passwords, deactivate;
delete only users who never appear in the audit trail."""

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
from services.formatting import format_wib
from services.organisation import list_units
from services.settings import get_setting, set_decisions_on_behalf
from ui.messages import perform, show_flash
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

add_tab, edit_tab, password_tab, delete_tab = st.tabs(
    ["Tambah pengguna", "Ubah peran dan unit", "Atur ulang kata sandi", "Hapus"])

with add_tab, st.form(f"tambah-pengguna-{st.session_state.get('tambah-pengguna', 0)}"):
    username = st.text_input("Nama pengguna", help="Huruf kecil, angka, titik, garis bawah "
                             "atau tanda hubung; 3 sampai 64 karakter.")
    full_name = st.text_input("Nama lengkap", help="Paling banyak 120 karakter.")
    email = st.text_input("Surel (opsional)", help="Paling banyak 200 karakter.")
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
            email = st.text_input("Surel", value=user.email or "", help="Paling banyak 200 karakter.")
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
