"""Impor SOP in a real browser: an admin uploads a Word document, corrects a cell in the grid,
confirms the new Pelaksana and publishes; a Fungsional then starts a case of the new SOP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.docx_builder import surat_keluar, write_sop_docx
from tests.e2e.conftest import (
    SCREENSHOTS,
    Server,
    click,
    click_grid_row,
    fill,
    log_in_here,
    visible_tab,
    wait_for_app_run,
)
from tests.e2e.test_readable_browser import problems
from tests.organisation import PASSWORD

pytestmark = pytest.mark.browser


def _edit_cell(page: Page, *, row: int, column: int, text: str) -> None:
    """Type into one cell of the data editor (a canvas): select the first cell, move with the
    arrow keys, open the cell's editor with Enter, type, and press Enter, as a person does.
    The grid's accessible table (one `glide-cell-<column>-<row>` per cell) tells which cell
    is selected and what it shows, as a person sees it. On a busy machine the grid may still
    be taking the page's last run when the keys arrive: CI saw them reach no cell, and once
    an edit that never reached the diagram. A person who sees the wrong cell selected, or no
    editor, clicks again; so does this, up to three times. The cell must then show the text
    before the app's run is awaited."""
    cell = page.locator("[data-testid='stDataFrame']").first.get_by_test_id(
        f"glide-cell-{column}-{row}")  # the grid click_grid_row clicks
    editor = page.locator("textarea.gdg-input")
    for _ in range(3):
        wait_for_app_run(page)
        click_grid_row(page, row=0, x=12)
        for _ in range(column):
            page.keyboard.press("ArrowRight")
        for _ in range(row):
            page.keyboard.press("ArrowDown")
        try:
            expect(cell).to_have_attribute("aria-selected", "true", timeout=10_000)
            page.keyboard.press("Enter")  # opens the cell's editor
            editor.wait_for(state="visible", timeout=10_000)
            break
        except (AssertionError, PlaywrightTimeoutError):
            page.keyboard.press("Escape")
    else:
        raise AssertionError("the cell's editor did not open on that cell after three tries")
    editor.fill(text)
    expect(editor).to_have_value(text)
    page.keyboard.press("Enter")
    expect(editor).to_be_hidden()
    expect(cell).to_have_text(text)
    wait_for_app_run(page)


def test_upload_edit_publish_then_start_a_case(server: Server, page: Page, browser: Browser,
                                               tmp_path: Path) -> None:
    document = write_sop_docx(surat_keluar(), tmp_path / "SOP Surat Keluar.docx")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{server.url}/impor")
    wait_for_app_run(page)
    log_in_here(page, "admin", PASSWORD)
    expect(page.get_by_role("heading", name="Impor SOP")).to_be_visible()
    uploader = page.locator("[data-testid='stFileUploader']")
    assert not re.search(r"Upload|Drag and drop|Browse|Limit", uploader.inner_text()), \
        uploader.inner_text()  # Streamlit's own words, replaced by ui/style.css
    assert not problems(page), problems(page)
    uploader.screenshot(path=str(SCREENSHOTS / "impor-sop-unggah.png"))
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(document))
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name="Surat Keluar")).to_be_visible()

    _edit_cell(page, row=0, column=4, text="45 Menit")  # step 1, Waktu
    page.get_by_role("tab", name="Diagram alir").click()
    svg = visible_tab(page).locator("[data-testid='stGraphVizChart'] svg")
    expect(svg).to_be_visible()
    expect(svg.get_by_text("[45 Menit]")).to_be_visible()
    assert sorted(svg.locator("text[font-weight='bold']").all_text_contents()) == [
        "Kadis", "Kasubbag Umum", "Sekretaris"]
    visible_tab(page).locator("[data-testid='stGraphVizChart']").screenshot(
        path=str(SCREENSHOTS / "impor-sop-diagram.png"))

    publish = page.get_by_role("button", name="Terbitkan sebagai versi 1", exact=True)
    page.get_by_text("Buat Pelaksana baru: Kasubbag Umum").click()
    wait_for_app_run(page)
    publish.click()
    wait_for_app_run(page)
    expect(page.get_by_text("SOP 'Surat Keluar' diterbitkan sebagai versi 1.",
                            exact=False)).to_be_visible()
    assert not problems(page), problems(page)

    fungsional = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    fungsional.set_default_timeout(60_000)
    fungsional.goto(f"{server.url}/mulai")
    wait_for_app_run(fungsional)
    log_in_here(fungsional, "fungsional", PASSWORD)
    fungsional.get_by_label("SOP", exact=True).click()
    fungsional.get_by_role("option", name="Surat Keluar").click()
    wait_for_app_run(fungsional)
    fill(fungsional, "Judul kasus", "Surat Keluar Nomor 7")
    click(fungsional, "Mulai kasus")
    expect(fungsional.get_by_role("heading", name="Catat Langkah")).to_be_visible()
    expect(fungsional.get_by_text("Berikutnya: langkah 1, dipegang Kasubbag Umum.",
                                  exact=False)).to_be_visible()
    fungsional.context.close()
