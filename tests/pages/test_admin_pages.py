"""Admin pages: users, units, the working calendar (AppTest)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from db.engine import make_engine, read_session
from db.models import HolidayOverride, RamadanPeriod, Unit, User
from tests.pages.conftest import fresh_app, log_in, run_ok, shown
from tests.pages.test_work_pages import button, started_case


def tab(app, label: str):
    return next(t for t in app.tabs if t.label == label)


def inputs(container):
    return {field.label: field for field in container.text_input}


def user(url: str, username: str) -> User | None:
    engine = make_engine(url)
    with read_session(engine) as session:
        found = session.scalar(select(User).where(User.username == username))
        if found is not None:
            found.role_names = sorted(role.name for role in found.roles)
    engine.dispose()
    return found


def test_admin_creates_a_fungsional_who_can_then_log_in(signed_in, app_database) -> None:
    app = signed_in("admin", "pengguna")
    add = tab(app, "Tambah pengguna")
    fields = inputs(add)
    fields["Nama pengguna"].input("Budi.Santoso")
    fields["Nama lengkap"].input("Budi Santoso, S.E.")
    fields["Kata sandi awal (minimal 8 karakter)"].input("sandi-budi-2026")
    add.multiselect[0].select("Fungsional")
    add.selectbox[0].select("sekretariat")
    button(app, "Tambah pengguna").click()
    run_ok(app)
    assert shown(app.success[0]) == "Pengguna 'budi.santoso' ditambahkan."
    created = user(app_database, "budi.santoso")
    assert created.role_names == ["Fungsional"] and created.is_recorder  # Fungsional records
    assert log_in(fresh_app(), "budi.santoso", "sandi-budi-2026").session_state[
        "authentication_status"]


def test_refusals_keep_the_form(signed_in) -> None:
    app = signed_in("admin", "pengguna")
    add = tab(app, "Tambah pengguna")
    fields = inputs(add)
    fields["Nama pengguna"].input("kadis")
    fields["Nama lengkap"].input("Kadis Kedua")
    fields["Kata sandi awal (minimal 8 karakter)"].input("sandi-panjang")
    button(app, "Tambah pengguna").click()
    run_ok(app)
    assert shown(app.error[0]) == "Nama pengguna 'kadis' sudah dipakai."
    inputs(tab(app, "Tambah pengguna"))["Nama pengguna"].input("kadis2")
    inputs(tab(app, "Tambah pengguna"))["Kata sandi awal (minimal 8 karakter)"].input("pendek")
    button(app, "Tambah pengguna").click()
    run_ok(app)
    assert shown(app.error[0]) == "Kata sandi minimal 8 karakter."
    assert inputs(tab(app, "Tambah pengguna"))["Nama lengkap"].value == "Kadis Kedua"


def test_edit_roles_and_unit(signed_in, app_database) -> None:
    app = signed_in("admin", "pengguna")
    edit = tab(app, "Ubah peran dan unit")
    edit.selectbox[0].select("arsiparis").run()
    edit = tab(app, "Ubah peran dan unit")
    edit.multiselect[0].select("Pengelola Monev")
    button(app, "Simpan perubahan").click()
    run_ok(app)
    assert shown(app.success[0]) == "Data arsiparis disimpan."
    assert user(app_database, "arsiparis").role_names == ["Pengadministrasi", "Pengelola Monev"]


def test_admin_cannot_remove_their_own_admin_right(signed_in) -> None:
    app = signed_in("admin", "pengguna")
    edit = tab(app, "Ubah peran dan unit")
    edit.selectbox[0].select("admin").run()
    edit = tab(app, "Ubah peran dan unit")
    next(c for c in edit.checkbox if c.label == "Admin").uncheck()
    button(app, "Simpan perubahan").click()
    run_ok(app)
    assert "tidak dapat mencabut hak admin" in shown(app.error[0])


def test_reset_password_also_unlocks(signed_in, app_database) -> None:
    for _ in range(5):
        log_in(fresh_app(), "kadis", "salah-sandi")
    assert user(app_database, "kadis").locked_until is not None
    app = signed_in("admin", "pengguna")
    reset = tab(app, "Atur ulang kata sandi")
    reset.selectbox[0].select("kadis")
    inputs(reset)["Kata sandi baru (minimal 8 karakter)"].input("sandi-kadis-baru")
    button(app, "Atur ulang kata sandi").click()
    run_ok(app)
    assert shown(app.success[0]).startswith("Kata sandi kadis diatur ulang")
    assert log_in(fresh_app(), "kadis", "sandi-kadis-baru").session_state["authentication_status"]


def test_users_in_the_audit_trail_cannot_be_deleted(signed_in, app_database) -> None:
    started_case(app_database)  # the Fungsional now appears in the trail
    app = signed_in("admin", "pengguna")
    delete = tab(app, "Hapus")
    assert "fungsional" not in delete.selectbox[0].options
    delete.selectbox[0].select("monev")
    delete.checkbox[0].check()
    button(app, "Hapus pengguna").click()
    run_ok(app)
    assert shown(app.success[0]) == "Pengguna monev dihapus."
    assert user(app_database, "monev") is None


def test_units_are_added_and_deactivated(signed_in, app_database) -> None:
    app = signed_in("admin", "unit")
    add = tab(app, "Tambah unit")
    inputs(add)["Kode"].input("bidang-baru")
    inputs(add)["Nama"].input("Bidang Baru")
    button(app, "Tambah unit").click()
    run_ok(app)
    assert shown(app.success[0]) == "Unit 'Bidang Baru' ditambahkan."
    edit = tab(app, "Ubah unit")
    edit.selectbox[0].select("bidang-baru").run()
    next(c for c in tab(app, "Ubah unit").checkbox if c.label == "Aktif").uncheck()
    button(app, "Simpan").click()
    run_ok(app)
    engine = make_engine(app_database)
    with read_session(engine) as session:
        unit = session.scalar(select(Unit).where(Unit.code == "bidang-baru"))
    engine.dispose()
    assert (unit.kind, unit.is_active) == ("bidang", False)


def test_calendar_holidays_and_ramadan(signed_in, app_database) -> None:
    app = signed_in("admin", "kalender")
    holidays = tab(app, "Hari libur")
    holidays.number_input[0].set_value(2026).run()
    holidays = tab(app, "Hari libur")
    national = holidays.dataframe[0].value
    assert "Hari Raya Idul Fitri" in " ".join(national["Nama"])
    holidays.date_input[0].set_value(date(2026, 12, 28))
    inputs(holidays)["Nama"].input("Libur daerah")
    button(app, "Tambah").click()
    run_ok(app)
    assert shown(app.success[0]) == "28-12-2026 menjadi hari libur."
    ramadan = tab(app, "Periode Ramadan")
    inputs(ramadan)["Nama"].input("Ramadan 1448 H")
    ramadan.date_input[0].set_value(date(2027, 2, 8))
    ramadan.date_input[1].set_value(date(2027, 3, 9))
    button(app, "Tambah periode").click()
    run_ok(app)
    ramadan = tab(app, "Periode Ramadan")
    ramadan.date_input[0].set_value(date(2027, 3, 1))
    ramadan.date_input[1].set_value(date(2027, 3, 20))
    button(app, "Tambah periode").click()
    run_ok(app)
    assert "Bertumpang tindih" in shown(app.error[0])
    engine = make_engine(app_database)
    with read_session(engine) as session:
        assert session.get(HolidayOverride, date(2026, 12, 28)).kind == "add"
        assert [p.label for p in session.scalars(select(RamadanPeriod))] == ["Ramadan 1448 H"]
    engine.dispose()


def test_the_add_form_starts_empty_after_a_success(signed_in) -> None:
    app = signed_in("admin", "pengguna")
    add = tab(app, "Tambah pengguna")
    inputs(add)["Nama pengguna"].input("andi")
    inputs(add)["Nama lengkap"].input("Andi")
    inputs(add)["Kata sandi awal (minimal 8 karakter)"].input("sandi-andi-2026")
    add.multiselect[0].select("Fungsional")
    button(app, "Tambah pengguna").click()
    run_ok(app)
    add = tab(app, "Tambah pengguna")
    assert inputs(add)["Nama pengguna"].value == ""
    assert add.multiselect[0].value == []


def test_an_admin_forbids_decisions_on_behalf_and_the_catat_page_follows(
        signed_in, app_database) -> None:
    from tests.pages.test_work_pages import fields

    app = signed_in("admin", "pengguna")
    toggle = next(t for t in app.toggle if t.label.startswith("Pencatat boleh mencatat"))
    assert toggle.value is True  # allowed by default, with a name and a document
    toggle.set_value(False)
    next(b for b in app.button if b.label == "Simpan pengaturan").click()
    run_ok(app)
    assert shown(app.success[0]) == "Pengaturan keputusan atas nama orang lain disimpan."
    case = started_case(app_database, steps=[
        ("sekretaris", "complete", 1), ("fungsional", "complete", 2),
        ("fungsional", "complete", 3), ("fungsional", "approve", 4)])
    catat = signed_in("fungsional", "catat", kasus=str(case))
    next(s for s in catat.selectbox if s.label.startswith("Dilaksanakan oleh")).set_value(
        "sekretaris")
    fields(catat)["Dasar keputusan (nomor Nota Dinas atau disposisi)"].input("ND 12/SEKR/2026")
    button(catat, "Catat").click()
    run_ok(catat)
    assert "tidak mengizinkan mencatat keputusan atas nama orang lain" in shown(catat.error[0])
