"""Katalog SOP in a real browser: served by `streamlit run`, as `make run` serves it."""

import re

import pytest
from playwright.sync_api import Page, expect

from services.catalog.lint import lint
from services.catalog.yaml_io import catalog_files, read_catalog
from tests.conftest import CATALOG_DIR
from tests.e2e.conftest import Server, log_in_here, screenshot, wait_for_app_run
from tests.organisation import PASSWORD

pytestmark = pytest.mark.browser


def test_first_visit_to_a_sub_page_goes_through_the_app(server: Server, page: Page) -> None:
    """The very first request of a fresh server, straight to /katalog, still runs app.py
    (Streamlit's legacy pages/ mode would run the page alone): it asks for the login, the
    first login works, and lands on the page asked for."""
    page.goto(f"{server.url}/katalog?sop=penyusunan-lkj")
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name="Katalog SOP")).to_have_count(0)
    log_in_here(page, "kadis", PASSWORD)
    expect(page.get_by_role("heading", name="Katalog SOP")).to_be_visible()
    expect(page.get_by_text("Penyusunan Laporan Kinerja").first).to_be_visible()
    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)  # only our menu
    expect(page).to_have_title("Pantau SOP")  # set by app.py, which the legacy mode skips


def test_reader_switches_sop_and_opens_the_flowchart(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/katalog")
    wait_for_app_run(page)
    log_in_here(page, "kadis", PASSWORD)
    page.get_by_label("Pilih SOP", exact=True).click()
    page.get_by_role("option", name="Pengumpulan Data Kinerja").click()
    wait_for_app_run(page)
    expect(page).to_have_url(re.compile(r"sop=pengumpulan-data-kinerja"))
    expect(page.get_by_text("11 langkah", exact=False)).to_be_visible()
    screenshot(page, "katalog-tabel")
    page.get_by_role("tab", name="Diagram alir").click()
    svg = page.locator("[data-testid='stGraphVizChart'] svg")
    expect(svg).to_be_visible()
    lane_titles = svg.locator("text[font-weight='bold']")
    expect(lane_titles).to_have_count(5)
    assert sorted(lane_titles.all_text_contents()) == [
        "Bidang", "Fungsional", "Kadis", "Pengadministrasi", "Sekretaris"]
    expect(svg.locator("g.node polygon")).not_to_have_count(0)
    screenshot(page, "katalog-diagram")
    expected = len([f for f in lint(read_catalog(catalog_files(CATALOG_DIR)))
                    if f.sop_code == "pengumpulan-data-kinerja"])
    tab = page.get_by_role("tab", name=f"Temuan pemeriksaan ({expected})")
    tab.click()
    expect(page.get_by_text("'Karo' bukan Pelaksana; dibaca sebagai Kadis (salah ketik?)")).to_be_visible()
    screenshot(page, "katalog-temuan")
