"""The Sekretaris saves Tabel 7 and downloads the files of the period in a real browser."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from db.engine import make_engine, write_session
from services.accounts import SYSTEM
from services.workflow.replay import replay
from tests.db.test_metrics import _log
from tests.e2e.conftest import (
    Server,
    click,
    log_in_here,
    screenshot,
    visible_tab,
    wait_for_app_run,
)
from tests.organisation import NOW, PASSWORD

pytestmark = pytest.mark.browser


def download(page: Page, name: str, directory: Path) -> bytes:
    wait_for_app_run(page)  # a button drawn by a run still going may be replaced under the click
    with page.expect_download() as started:
        visible_tab(page).get_by_role("button", name=name).click()
    path = directory / started.value.suggested_filename
    started.value.save_as(path)
    return path.read_bytes()


def test_sekretaris_saves_tabel7_and_downloads_the_period(server: Server, page: Page,
                                                          tmp_path: Path) -> None:
    engine = make_engine(server.database_url)
    with write_session(engine) as session:
        replay(session, events=_log(), actor=SYSTEM, now=NOW)  # February 2025, by hand
    engine.dispose()

    page.goto(f"{server.url}/laporan?periode=2025-02&sop=e-kinerja")
    wait_for_app_run(page)
    log_in_here(page, "sekretaris", PASSWORD)
    expect(page.get_by_role("heading", name="Laporan Monitoring & Evaluasi SOP")).to_be_visible()
    expect(visible_tab(page).get_by_text("Belum disimpan untuk periode ini")).to_be_visible()
    click(page, "Simpan Tabel 7")
    expect(page.get_by_text("Tabel 7 e-Kinerja (Februari 2025) disimpan.")).to_be_visible()
    expect(visible_tab(page).get_by_text(re.compile("Tersimpan oleh Sekretaris Dinas"))) \
        .to_be_visible()

    pdf = download(page, "Unduh PDF", tmp_path)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "MONITORING PELAKSANAAN SOP" in text and "2 dari 3 kunjungan dalam Mutu Baku" in text
    assert "Sekretaris Dinas" in text  # the evaluator who saved it signs

    page.get_by_role("tab", name="Semua berkas periode").click()
    wait_for_app_run(page)
    click(page, "Siapkan semua berkas")
    expect(visible_tab(page).get_by_role("button", name="Unduh semua (ZIP)")).to_be_visible()
    archive = zipfile.ZipFile(io.BytesIO(download(page, "Unduh semua (ZIP)", tmp_path)))
    assert len(archive.namelist()) == 7
    assert "log-kejadian-2025-02.xes" in archive.namelist()
    screenshot(page, "laporan-semua-berkas")
