"""Sign-in that holds, in Chromium: a login started at the root URL (which sends each role to
its own page in the same run) survives a reload and a new tab, twenty times out of twenty;
"Keluar" ends it, for a copy of the cookie too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect

from tests.e2e.conftest import (
    SCRIPT_TIMEOUT_MS,
    Server,
    click,
    log_in_here,
    screenshot,
    start_server,
    wait_for_app_run,
)
from tests.organisation import PASSWORD

LOGINS = 20
COOKIE = "pantau_sop"


def _context(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID")


def _cookie_written(page: Page) -> None:
    """Until the browser holds the login cookie (the bug: it never did)."""
    page.wait_for_function(f"document.cookie.includes('{COOKIE}=')", timeout=20_000)


def _signed_in_as_kadis(page: Page) -> None:
    expect(page.get_by_role("heading", name="Dasbor Kepatuhan")).to_be_visible()
    expect(page.get_by_label("Nama pengguna", exact=True)).to_have_count(0)


def _kadis_signs_in(context: BrowserContext, url: str) -> Page:
    """A new page of `context`, on which the Kadis signs in at `url` and the cookie is
    written."""
    page = context.new_page()
    page.set_default_timeout(SCRIPT_TIMEOUT_MS)
    page.goto(url)
    wait_for_app_run(page)
    log_in_here(page, "kadis", PASSWORD)
    _signed_in_as_kadis(page)
    _cookie_written(page)
    return page


def _title_top(page: Page) -> float:
    box = page.get_by_role("heading", name="Dasbor Kepatuhan").bounding_box()
    assert box is not None
    return box["y"]


def test_twenty_logins_at_the_root_survive_a_reload_and_a_new_tab(server: Server,
                                                                  browser: Browser) -> None:
    kept = 0
    for attempt in range(LOGINS):
        context = _context(browser)
        try:
            page = _kadis_signs_in(context, server.url)  # the root URL
            title_with_writer = _title_top(page)  # the cookie's writer is on this page
            page.reload()
            wait_for_app_run(page)
            _signed_in_as_kadis(page)
            if attempt == 0:  # and a new tab of the same browser
                tab = context.new_page()
                tab.goto(server.url)
                wait_for_app_run(tab)
                _signed_in_as_kadis(tab)
                screenshot(tab, "masuk-tab-baru")
                assert title_with_writer == _title_top(tab)  # the writer takes no room
            kept += 1
        finally:
            context.close()
    assert kept == LOGINS


def test_keluar_ends_the_login_and_a_copied_cookie(server: Server, browser: Browser) -> None:
    context = _context(browser)
    page = _kadis_signs_in(context, server.url)
    copied = [c for c in context.cookies() if c["name"] == COOKIE]
    click(page, "Keluar")
    expect(page.get_by_label("Nama pengguna", exact=True)).to_be_visible()
    page.wait_for_function(f"!document.cookie.includes('{COOKIE}=')", timeout=20_000)
    page.reload()
    wait_for_app_run(page)
    expect(page.get_by_label("Nama pengguna", exact=True)).to_be_visible()
    context.close()

    thief = _context(browser)  # someone who copied the cookie before Keluar
    thief.add_cookies(copied)
    stolen = thief.new_page()
    stolen.goto(server.url)
    wait_for_app_run(stolen)
    expect(stolen.get_by_label("Nama pengguna", exact=True)).to_be_visible()
    expect(stolen.get_by_role("heading", name="Dasbor Kepatuhan")).to_have_count(0)
    thief.close()


SIGN_INS_AFTER_KELUAR = 5


@pytest.fixture
def quick_server(organisation_database: str, tmp_path: Path) -> Iterator[Server]:
    """The app without the login form's pause: the next sign-in comes as soon as it can."""
    running = start_server(organisation_database, tmp_path / "streamlit.log",
                           {"PANTAU_LOGIN_SLEEP_TIME": "0"})
    yield running
    running.stop()


def test_a_login_right_after_keluar_holds_while_the_browser_still_sends_the_ended_cookie(
        quick_server: Server, browser: Browser) -> None:
    """One person signs out, the next signs in at once in the same browser, which still sent
    the ended cookie when the page opened (its deletion had not run yet). The page's deletion
    of that cookie was drawn again after the new login wrote its own cookie, and removed it:
    a reload showed the login form (3 of 10 and 8 of 12 times in two runs of these steps on a
    busy machine, before the fix). A race, so this test does not fail every time without the
    fix; tests/e2e/test_cookie_writer_browser.py holds the mechanism every time."""
    kept = 0
    for _ in range(SIGN_INS_AFTER_KELUAR):
        context = _context(browser)
        try:
            page = _kadis_signs_in(context, quick_server.url)
            ended = [c for c in context.cookies() if c["name"] == COOKIE]
            click(page, "Keluar")
            expect(page.get_by_label("Nama pengguna", exact=True)).to_be_visible()
            context.add_cookies(ended)  # the deletion had not reached the browser yet
            page.goto(quick_server.url)
            wait_for_app_run(page)
            log_in_here(page, "sekretaris", PASSWORD)
            expect(page.get_by_role("heading", name="Hambatan")).to_be_visible()
            _cookie_written(page)
            page.wait_for_timeout(1500)  # a moment on the page, as a person takes one
            page.reload()
            wait_for_app_run(page)
            expect(page.get_by_role("heading", name="Hambatan")).to_be_visible()
            expect(page.get_by_label("Nama pengguna", exact=True)).to_have_count(0)
            kept += 1
        finally:
            context.close()
    assert kept == SIGN_INS_AFTER_KELUAR


def test_the_login_page_runs_once_when_it_opens(quick_server: Server, browser: Browser) -> None:
    """streamlit-authenticator's cookie manager (a component that answers with the browser's
    cookies) is not drawn (ui/auth.py, _NoCookieManager). Its answer asked for a second run
    a second or so after the page opened, and a "Masuk" click sent while that run started
    was lost: the form stayed filled, with no message (once in 40 sign-ins on a busy
    machine)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    context = _context(browser)
    try:
        page = context.new_page()
        runs_asked: list[str] = []

        def watch(socket: WebSocket) -> None:
            def sent(payload: bytes | str) -> None:
                if isinstance(payload, bytes):
                    kind = BackMsg.FromString(payload).WhichOneof("type")
                    if kind == "rerun_script":
                        runs_asked.append(kind)

            socket.on("framesent", sent)

        page.on("websocket", watch)
        page.goto(quick_server.url)
        wait_for_app_run(page)
        expect(page.get_by_label("Nama pengguna", exact=True)).to_be_visible()
        page.wait_for_timeout(3000)  # the library's component answered within 1.5 s here
        expect(page.locator("iframe")).to_have_count(0)
        assert runs_asked == ["rerun_script"]
        log_in_here(page, "sekretaris", PASSWORD)
        expect(page.get_by_role("heading", name="Hambatan")).to_be_visible()
    finally:
        context.close()
