"""First-run setup, login through the real form, lockout, role navigation, logout."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, PendingRollbackError

from db.engine import DatabaseBusy, make_engine, read_session, write_session
from db.models import User
from services.accounts import update_user
from tests.faults import sqlite_locked_error
from tests.organisation import PASSWORD
from tests.pages.conftest import fresh_app, log_in, run_ok, shown
from ui.runtime import BUSY, DROPPED, UNREACHABLE


def _user(url: str, username: str) -> User:
    engine = make_engine(url)
    with read_session(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
    engine.dispose()
    return user


def test_first_run_shows_only_the_setup_and_creates_the_admin(catalog_only_database) -> None:
    app = run_ok(fresh_app())
    assert [t.value for t in app.title] == ["Penyiapan Awal Pantau SOP"]
    fields = {field.label: field for field in app.text_input}
    fields["Nama pengguna admin"].input("admin")
    fields["Nama lengkap"].input("Admin Dinas")
    fields["Kata sandi (minimal 8 karakter)"].input("sandi-rahasia-1")
    fields["Ulangi kata sandi"].input("sandi-rahasia-2")
    app.button[0].click()
    run_ok(app)
    assert shown(app.error[0]) == "Kata sandi dan ulangannya tidak sama."
    assert _user(catalog_only_database, "admin") is None
    {f.label: f for f in app.text_input}["Ulangi kata sandi"].input("sandi-rahasia-1")
    app.button[0].click()
    run_ok(app)
    assert "Akun admin dibuat" in shown(app.success[0])
    admin = _user(catalog_only_database, "admin")
    assert admin.is_admin and admin.password_hash.startswith("$2")
    # Now the setup page is gone for good: the next visit shows the login.
    again = run_ok(fresh_app())
    assert "Nama pengguna" in [f.label for f in again.text_input]
    assert "Penyiapan Awal Pantau SOP" not in [t.value for t in again.title]


def test_setup_can_load_the_demo_data_with_progress(catalog_only_database) -> None:
    app = run_ok(fresh_app())
    fields = {field.label: field for field in app.text_input}
    fields["Nama pengguna admin"].input("admin")
    fields["Nama lengkap"].input("Admin Dinas")
    fields["Kata sandi (minimal 8 karakter)"].input("sandi-rahasia-1")
    fields["Ulangi kata sandi"].input("sandi-rahasia-1")
    app.checkbox[0].check()
    app.button[0].click()
    run_ok(app)
    assert any("Data demo dimuat" in s.value for s in app.success)
    assert app.get("progress")  # the progress bar of the demo load
    login = run_ok(fresh_app())
    assert "Ini basis data **demo**" in shown(login.info[0])
    assert "demo-pantau-sop" in shown(login.info[0])


def test_a_real_database_does_not_advertise_demo_accounts(app_database) -> None:
    app = run_ok(fresh_app())
    assert not app.info


def test_each_role_lands_on_its_page_and_sees_its_menu(signed_in) -> None:
    fungsional = signed_in("fungsional")
    assert [t.value for t in fungsional.title] == ["Tugas Saya"]
    menu = [link.proto.label for link in fungsional.sidebar.get("page_link")]
    assert menu == ["Progres SOP", "Antrean per Pelaksana", "Tugas Saya", "Mulai Kasus", "Kasus",
                    "Katalog SOP", "Akun Saya"]
    kadis = signed_in("kadis")
    assert [t.value for t in kadis.title] == ["Dasbor Kepatuhan"]
    sekretaris = signed_in("sekretaris")
    assert [t.value for t in sekretaris.title] == ["Hambatan"]
    admin = signed_in("admin")
    assert [t.value for t in admin.title] == ["Pengguna"]
    assert {"Pengguna", "Unit Kerja", "Kalender Kerja"} <= {
        link.proto.label for link in admin.sidebar.get("page_link")}


def test_a_page_outside_the_role_is_not_served(signed_in) -> None:
    for page in ("pengguna", "unit", "kalender"):
        app = signed_in("fungsional", page)
        assert shown(app.error[0]) == "Halaman ini tidak tersedia untuk peran Anda."
        assert not app.title  # nothing of the page itself was rendered
    assert [t.value for t in signed_in("admin", "kalender").title] == ["Kalender Kerja"]


def test_wrong_password_is_refused_and_five_lock_the_account(app_database) -> None:
    app = log_in(fresh_app(), "sekretaris", "salah-sandi")
    assert shown(app.error[0]) == "Nama pengguna atau kata sandi salah."
    assert not app.session_state["authentication_status"]
    for _ in range(3):
        log_in(app, "sekretaris", "salah-sandi")
    app = log_in(app, "sekretaris", "salah-sandi")  # the fifth
    assert "dikunci sementara" in shown(app.error[0]) and "Coba lagi setelah" in shown(app.error[0])
    user = _user(app_database, "sekretaris")
    assert user.failed_login_count == 5 and user.locked_until is not None
    right = log_in(fresh_app(), "sekretaris", PASSWORD)  # even the right password, for now
    assert not right.session_state["authentication_status"]
    assert "dikunci sementara" in shown(right.error[0])


def test_twenty_wrong_sign_ins_from_one_address_close_the_form_for_it(app_database) -> None:
    from services.sessions import MAX_FAILED_PER_ADDRESS

    app = fresh_app()
    for attempt in range(MAX_FAILED_PER_ADDRESS):  # unknown names count too
        log_in(app, f"tamu{attempt}", "salah-sandi")
    assert "Terlalu banyak percobaan masuk" in shown(app.error[0])
    again = fresh_app()
    again.run()
    assert "Nama pengguna" not in [f.label for f in again.text_input]  # no form for it
    assert "Terlalu banyak percobaan masuk" in shown(again.error[0])
    assert _user(app_database, "kadis").failed_login_count == 0  # no account was charged


def test_a_wrong_current_password_on_akun_saya_counts_toward_the_lockout(
        signed_in, app_database) -> None:
    app = signed_in("kadis", "akun")
    fields = {f.label: f for f in app.text_input}
    for _ in range(4):
        fields["Kata sandi saat ini"].input("bukan-sandinya")
        next(b for b in app.button if b.label == "Simpan kata sandi baru").click()
        run_ok(app)
        assert shown(app.error[0]) == "Kata sandi saat ini salah."
    assert _user(app_database, "kadis").failed_login_count == 4
    next(b for b in app.button if b.label == "Simpan kata sandi baru").click()
    run_ok(app)
    assert "dikunci sementara" in shown(app.error[0])
    assert _user(app_database, "kadis").locked_until is not None


def test_logout_returns_to_the_login(signed_in) -> None:
    app = signed_in("kadis")
    next(b for b in app.sidebar.button if b.label == "Keluar").click()
    run_ok(app)
    assert "Nama pengguna" in [f.label for f in app.text_input]
    assert not app.session_state["authentication_status"]


def test_a_deactivated_user_is_signed_out(signed_in, app_database) -> None:
    from services.accounts import SYSTEM

    app = signed_in("arsiparis")
    engine = make_engine(app_database)
    with write_session(engine) as session:
        update_user(session, actor=SYSTEM, username="arsiparis", full_name="Arsiparis",
                    roles=["Pengadministrasi"], unit_code="sekretariat", is_admin=False,
                    is_recorder=False, is_active=False)
    engine.dispose()
    run_ok(app)
    assert "Nama pengguna" in [f.label for f in app.text_input]


def test_change_own_password(signed_in, app_database) -> None:
    app = signed_in("kadis", "akun")
    fields = {field.label: field for field in app.text_input}
    fields["Kata sandi saat ini"].input("bukan-ini")
    fields["Kata sandi baru (minimal 8 karakter)"].input("sandi-baru-kadis")
    fields["Ulangi kata sandi baru"].input("sandi-baru-kadis")
    app.button[0].click()
    run_ok(app)
    assert shown(app.error[0]) == "Kata sandi saat ini salah."
    {f.label: f for f in app.text_input}["Kata sandi saat ini"].input(PASSWORD)
    app.button[0].click()
    run_ok(app)
    assert shown(app.success[0]).startswith("Kata sandi sudah diganti.")
    run_ok(app)  # this session proved the new password: it stays signed in
    assert app.session_state["authentication_status"] and not app.warning
    assert log_in(fresh_app(), "kadis", "sandi-baru-kadis").session_state["authentication_status"]


def test_a_dropped_database_connection_shows_a_retry_message(signed_in, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    import services.catalog.store

    app = signed_in("kadis", "katalog")

    def dropped(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection"))

    working = services.catalog.store.current_catalog
    monkeypatch.setattr(services.catalog.store, "current_catalog", dropped)
    run_ok(app)
    assert "Koneksi ke basis data terputus sesaat" in shown(app.error[0])
    monkeypatch.setattr(services.catalog.store, "current_catalog", working)
    run_ok(app)
    assert not app.error, [e.value for e in app.error]


def test_a_database_refusing_connections_says_nothing_was_saved(signed_in, monkeypatch) -> None:
    """Row 13 of issue 15: the database stops accepting connections while the app runs (here
    the app's URL now points at a closed port): a message, not Streamlit's error page."""
    app = signed_in("kadis", "katalog")
    monkeypatch.setenv("PANTAU_DATABASE_URL", "postgresql+psycopg://pantau@127.0.0.1:1/pantau")
    run_ok(app)
    assert [shown(e) for e in app.error] == [UNREACHABLE]
    fresh = fresh_app()
    run_ok(fresh)  # a new visitor: the readiness check itself cannot connect
    assert [shown(e) for e in fresh.error] == [UNREACHABLE]


@pytest.mark.parametrize("fault, message", [
    (lambda: PendingRollbackError("This Session's transaction has been rolled back due to a "
                                  "previous exception during flush."), DROPPED),
    (lambda: OperationalError("BEGIN IMMEDIATE", {}, sqlite_locked_error()), BUSY),
    (lambda: DatabaseBusy("other writers of this process held the database too long"), BUSY),
], ids=["pending-rollback", "sqlite-locked", "writers-queue"])
def test_other_database_faults_say_nothing_was_saved(signed_in, monkeypatch, fault,
                                                     message) -> None:
    """Rows 14 and 16 of issue 15: a PendingRollbackError (a session used after its connection
    was cut) escaped the handler; "database is locked" was called a connection drop."""
    import services.catalog.store

    app = signed_in("kadis", "katalog")

    def failing(*args, **kwargs):
        raise fault()

    working = services.catalog.store.current_catalog
    monkeypatch.setattr(services.catalog.store, "current_catalog", failing)
    run_ok(app)
    assert [shown(e) for e in app.error] == [message]
    monkeypatch.setattr(services.catalog.store, "current_catalog", working)
    run_ok(app)
    assert not app.error, [e.value for e in app.error]

