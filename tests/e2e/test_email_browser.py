"""What a received digest looks like, in Chromium: the HTML part of the Kadis's summary as
the SMTP server received it fits a laptop and a phone (no sideways scrolling), shows a typed
title as text and links every item; and the sidebar's overdue badge renders as a badge."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

import manage
from db.engine import make_engine
from tests.e2e.conftest import (
    SCREENSHOTS,
    Server,
    log_in_here,
    screenshot,
    start_server,
    wait_for_app_run,
)
from tests.mailserver import smtp_server
from tests.notify_history import AS_OF, B_TITLE, BASE_URL, SENDER, address, build_digest_history
from tests.organisation import PASSWORD, build_organisation

pytestmark = pytest.mark.browser


@pytest.fixture
def history_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    engine = make_engine(url)
    build_organisation(engine)
    build_digest_history(engine)
    engine.dispose()
    return url


def test_the_received_summary_reads_well_on_a_laptop_and_a_phone(
        history_url: str, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_DATABASE_URL", history_url)
    monkeypatch.setenv("PANTAU_MAIL_FROM", SENDER)
    monkeypatch.setenv("PANTAU_BASE_URL", BASE_URL)
    with smtp_server() as server:
        monkeypatch.setenv("PANTAU_SMTP_URL", server.url())
        assert manage.main(["notify", "--as-of", AS_OF.isoformat()]) == 0
    (summary,) = [m for m in server.by_recipient()[address("kadis")] if "Ringkasan" in m.subject]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    html = SCREENSHOTS / "surel-ringkasan.html"
    html.write_text(summary.part("html"), encoding="utf-8")

    for width, name in ((1366, "surel-ringkasan"), (390, "surel-ringkasan-ponsel")):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="id-ID")
        page = context.new_page()
        page.goto(html.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        expect(page.get_by_text(B_TITLE, exact=False)).to_be_visible()  # as typed, not bold
        assert page.locator("b", has_text="Laporan").count() == 0
        catat = page.get_by_role("link", name="Buka Catat Langkah")
        assert catat.count() == 5  # every overdue and at-risk item
        for index in range(catat.count()):
            assert catat.nth(index).is_visible()
            assert catat.nth(index).get_attribute("href").startswith(f"{BASE_URL}/catat?kasus=")
        headings = page.locator("h2").all_inner_texts()
        assert headings == ["Pengumpulan Data Kinerja", "e-Kinerja"]  # worst first
        screenshot(page, name)
        context.close()


def test_the_overdue_badge_renders_as_a_badge(history_url: str, browser: Browser,
                                              tmp_path: Path) -> None:
    server: Server = start_server(history_url, tmp_path / "streamlit.log")
    try:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID")
        page = context.new_page()
        page.goto(f"{server.url}/katalog")
        wait_for_app_run(page)
        log_in_here(page, "sekretaris", PASSWORD)
        wait_for_app_run(page)
        link = page.get_by_test_id("stSidebar").get_by_role("link", name="Tugas Saya")
        # The history's items are all long overdue now: D and B are the Sekretaris's.
        expect(link).to_contain_text("2")
        assert ":red-badge" not in link.inner_text()
        screenshot(page, "lencana-tugas-saya")
        context.close()
    finally:
        server.stop()
