"""The whole first day, in a real browser: setup, users, a case through a return."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from db.engine import make_engine
from services.bootstrap import initialise
from tests.conftest import CATALOG_DIR
from tests.e2e.conftest import (
    Server,
    click,
    fill,
    log_in_here,
    screenshot,
    start_server,
    visible_tab,
    wait_for_app_run,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[Server]:
    """A server on a database with the catalog and no user: the first-run state."""
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    engine = make_engine(url)
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    engine.dispose()
    server = start_server(url, tmp_path / "streamlit.log")
    yield server
    server.stop()


def choose(page: Page, label: str, option: str, scope: Page | Locator | None = None) -> None:
    """A st.selectbox or st.multiselect: open it by its label, pick the option."""
    (scope or page).get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def log_in(page: Page, server: Server, username: str, password: str) -> None:
    page.goto(server.url)
    wait_for_app_run(page)
    log_in_here(page, username, password)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    wait_for_app_run(page)
    expect(page.get_by_label("Nama pengguna", exact=True)).to_be_visible()


def create_user(page: Page, username: str, name: str, role: str) -> None:
    tab = visible_tab(page)
    fill(tab, "Nama pengguna", username)
    fill(tab, "Nama lengkap", name)
    choose(page, "Peran (Pelaksana)", role, scope=tab)
    fill(tab, "Kata sandi awal (minimal 8 karakter)", f"sandi-{username}-2026")
    click(page, "Tambah pengguna")
    expect(page.get_by_text(f"Pengguna '{username}' ditambahkan.")).to_be_visible()


def record(page: Page, step: int, *, on_behalf: str | None = None) -> None:
    """Submit the Catat form for `step` and wait for that step's own confirmation (the flash of
    the previous step may still be on screen while this submission runs)."""
    expect(page.get_by_text(f"Langkah {step} dari ")).to_be_visible()
    wait_for_app_run(page)
    if on_behalf:
        page.get_by_label(re.compile("^Dilaksanakan oleh")).click()
        page.get_by_role("option", name=on_behalf, exact=True).click()
    click(page, "Catat")
    expect(page.get_by_text(re.compile(f"^Tercatat: langkah {step} "))).to_be_visible()


def test_setup_users_and_a_case_through_a_return(empty_server: Server, page: Page) -> None:
    # First run: only the setup page, which creates the admin.
    page.goto(f"{empty_server.url}/tugas")
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name="Penyiapan Awal Pantau SOP")).to_be_visible()
    screenshot(page, "setup")
    fill(page, "Nama pengguna admin", "admin")
    fill(page, "Nama lengkap", "Admin Dinas")
    fill(page, "Kata sandi (minimal 8 karakter)", "sandi-admin-2026")
    fill(page, "Ulangi kata sandi", "sandi-admin-2026")
    click(page, "Buat akun admin")
    expect(page.get_by_text("Akun admin dibuat.")).to_be_visible()

    # The admin creates a Fungsional and a Sekretaris.
    log_in(page, empty_server, "admin", "sandi-admin-2026")
    expect(page.get_by_role("heading", name="Pengguna")).to_be_visible()
    create_user(page, "andi", "Andi Pratama", "Fungsional")
    create_user(page, "rina", "Rina Marlina", "Sekretaris")
    screenshot(page, "pengguna")
    log_out(page)

    # The Fungsional starts a Penyusunan LKj case and records up to the Sekretaris's decision.
    log_in(page, empty_server, "andi", "sandi-andi-2026")
    expect(page.get_by_role("heading", name="Tugas Saya")).to_be_visible()
    page.get_by_test_id("stSidebarUserContent").get_by_role("link", name="Mulai Kasus").click()
    wait_for_app_run(page)
    choose(page, "SOP", "Penyusunan Laporan Kinerja")
    wait_for_app_run(page)
    fill(page, "Judul kasus", "Penyusunan LKj Tahun 2025")
    fill(page, "Periode (opsional)", "2025")
    screenshot(page, "mulai-kasus")
    click(page, "Mulai kasus")
    expect(page.get_by_text(re.compile("Berikutnya: langkah 1, dipegang Sekretaris"))).to_be_visible()
    record(page, 1, on_behalf="Rina Marlina")  # the Sekretaris's step, from the Buku Agenda
    record(page, 2)
    record(page, 3)
    expect(page.get_by_text("Setujui (Y): lanjut ke langkah 5 (Sekretaris)")).to_be_visible()
    screenshot(page, "catat-keputusan")
    record(page, 4)  # approve (the first option)
    expect(page.get_by_text("Berikutnya: langkah 5, dipegang Sekretaris.")).to_be_visible()
    log_out(page)

    # The Sekretaris returns it with a reason.
    log_in(page, empty_server, "rina", "sandi-rina-2026")
    expect(page.get_by_role("heading", name="Hambatan")).to_be_visible()  # her landing page
    page.get_by_test_id("stSidebarUserContent").get_by_role("link", name="Tugas Saya").click()
    wait_for_app_run(page)
    expect(page.get_by_text(re.compile("Langkah 5: Memeriksa Laporan LKj"))).to_be_visible()
    screenshot(page, "tugas-saya")
    page.get_by_role("link", name="Catat").first.click()
    wait_for_app_run(page)
    page.get_by_text("Kembalikan (T): kembali ke langkah 4 (Fungsional) untuk diperbaiki").click()
    fill(page, "Catatan (wajib diisi alasannya bila dikembalikan)",
         "Lampiran capaian kinerja Bidang belum lengkap")
    click(page, "Catat")
    expect(page.get_by_text("Berikutnya: langkah 4, dipegang Fungsional.")).to_be_visible()

    # Reloading a sub-page stays on it (the login cookie comes with the request).
    page.get_by_role("link", name="Riwayat kasus").click()
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name="Penyusunan LKj Tahun 2025")).to_be_visible()
    url = page.url
    page.reload()
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name="Penyusunan LKj Tahun 2025")).to_be_visible()
    assert page.url == url
    expect(page.locator("[data-testid='stPlotlyChart']")).to_be_visible()
    screenshot(page, "kasus-detail")
    log_out(page)

    # The Fungsional sees it back in Tugas Saya.
    log_in(page, empty_server, "andi", "sandi-andi-2026")
    expect(page.get_by_text(re.compile("Langkah 4: Memeriksa Kelengkapan LKj"))).to_be_visible()


def test_wrong_passwords_lock_the_account(server: Server, page: Page) -> None:
    from db.engine import write_session
    from services.accounts import SYSTEM, create_user

    engine = make_engine(server.database_url)
    with write_session(engine) as session:
        from services.clock import utcnow

        create_user(session, actor=SYSTEM, username="rina", full_name="Rina", password="benar-2026",
                    roles=["Sekretaris"], now=utcnow())
    engine.dispose()
    page.goto(server.url)
    wait_for_app_run(page)
    for attempt in range(5):
        fill(page, "Nama pengguna", "rina")
        fill(page, "Kata sandi", f"salah-{attempt}")
        click(page, "Masuk")
    expect(page.get_by_text(re.compile("dikunci sementara"))).to_be_visible()
    screenshot(page, "login-terkunci")
    fill(page, "Nama pengguna", "rina")
    fill(page, "Kata sandi", "benar-2026")
    click(page, "Masuk")
    expect(page.get_by_text(re.compile("dikunci sementara"))).to_be_visible()
    expect(page.get_by_role("heading", name="Tugas Saya")).to_have_count(0)


def test_signing_out_survives_a_reload(server: Server, page: Page) -> None:
    from tests.organisation import PASSWORD

    page.goto(f"{server.url}/tugas")
    wait_for_app_run(page)
    log_in_here(page, "fungsional", PASSWORD)
    expect(page.get_by_role("heading", name="Tugas Saya")).to_be_visible()
    # At once: a Keluar clicked just after signing in was lost once to the run that the
    # browser's answer about the cookie started (it sends none now: ui/auth.py).
    log_out(page)
    page.wait_for_timeout(500)
    page.reload()
    wait_for_app_run(page)
    expect(page.get_by_label("Nama pengguna", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Tugas Saya")).to_have_count(0)
