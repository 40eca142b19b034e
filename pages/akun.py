"""Akun Saya: who I am, changing my password, my email address (for the morning digest)."""

from __future__ import annotations

import streamlit as st

from db.engine import read_session, write_session
from services.accounts import MIN_PASSWORD_LENGTH, change_own_password, set_own_email
from services.catalog.roles import HEADS
from services.clock import utcnow
from services.mail import MAX_ADDRESS_LENGTH
from services.notify import own_mail_preference
from services.sessions import check_current_password
from ui.auth import current_token, locked_text
from ui.messages import perform, show, show_error, show_flash
from ui.routing import require_app
from ui.runtime import engine
from ui.session import current_actor

require_app()
actor = current_actor()
show_flash()
st.title("Akun Saya")
st.text(f"Nama pengguna: {actor.username}\nNama: {actor.full_name}\n"
        f"Peran: {', '.join(sorted(actor.roles)) or '-'}"
        f"{' · admin' if actor.is_admin else ''}"
        f"{' · pencatat (boleh mencatat atas nama peran lain)' if actor.is_recorder else ''}")

st.subheader("Ganti kata sandi")
with st.form("ganti-sandi", clear_on_submit=False):
    current = st.text_input("Kata sandi saat ini", type="password", max_chars=72)
    new = st.text_input(f"Kata sandi baru (minimal {MIN_PASSWORD_LENGTH} karakter)",
                        type="password", max_chars=72)
    repeated = st.text_input("Ulangi kata sandi baru", type="password", max_chars=72)
    if st.form_submit_button("Simpan kata sandi baru", type="primary"):
        # The current password is checked in its own transaction, so a wrong one is counted
        # toward the lockout even though nothing else is saved.
        with write_session(engine()) as session:
            check = check_current_password(session, actor=actor, password=current,
                                           now=utcnow())
        if check.locked_until is not None:
            show_error(locked_text(check.locked_until))
        elif not check.matches:
            show_error("Kata sandi saat ini salah.")
        else:  # this session stays; every other sign-in of the account ends
            perform(lambda session: change_own_password(
                session, actor=actor, current=current, new=new, repeated=repeated,
                now=utcnow(), keep_token=current_token()),
                "Kata sandi sudah diganti. Perangkat lain yang masih masuk dengan akun ini "
                "diminta masuk lagi.")

st.subheader("Alamat surel")
with read_session(engine()) as session:
    mine = own_mail_preference(session, actor=actor)
st.caption("Setiap pagi hari kerja Pantau SOP mengirim ke alamat ini daftar langkah Anda yang "
           "berisiko atau terlambat"
           + (", dan ringkasan semua SOP" if actor.roles & HEADS else "")
           + ". Kosongkan untuk tidak menerimanya.")
if mine.opted_out:
    show("Admin menghentikan surel pengingat untuk akun Anda; hubungi admin bila ingin "
         "menerimanya lagi.")
with st.form("surel-saya", clear_on_submit=False):
    typed = st.text_input("Alamat surel", value=mine.email or "", max_chars=MAX_ADDRESS_LENGTH,
                          placeholder="nama@dinas.go.id")
    if st.form_submit_button("Simpan alamat surel"):
        perform(lambda session: set_own_email(session, actor=actor, email=typed),
                "Alamat surel disimpan." if typed.strip() else
                "Alamat surel dihapus: Anda tidak menerima surel pengingat lagi.")
