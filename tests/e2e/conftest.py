"""Browser tests: the real app served by `streamlit run`, driven in headless Debian Chromium.

Chromium comes from Debian (`apt install chromium`), never from `playwright install`. Without
it these tests fail with that instruction, unless PANTAU_SKIP_BROWSER_TESTS=1 says to skip them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Position, expect, sync_playwright

from db.engine import make_engine
from tests.conftest import REPO_ROOT
from tests.organisation import build_organisation

CHROMIUM = os.environ.get("PANTAU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = REPO_ROOT / "build" / "screenshots"
SCRIPT_TIMEOUT_MS = 60_000
# A CI machine under load can take longer than Playwright's 5 s to finish a rerun; a real
# failure still fails, only later.
expect.set_options(timeout=20_000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# The app server's environment, as `make run` and deploy/pantau@.service give it
# (tests/unit/test_server_environment.py holds the three equal).
SERVER_ENV = {"MALLOC_ARENA_MAX": "1"}


def start_server(database_url: str, log: Path, extra_env: dict[str, str] | None = None, *,
                 script: str = "server.py") -> Server:
    port = free_port()
    env = {**os.environ, **SERVER_ENV, "PANTAU_DATABASE_URL": database_url, **(extra_env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", database_url, process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as reply:
                if reply.read() == b"ok":
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("PANTAU_SKIP_BROWSER_TESTS") == "1":
            pytest.skip("PANTAU_SKIP_BROWSER_TESTS=1: browser tests skipped on request")
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package "
                    "(`apt install chromium`) or set PANTAU_SKIP_BROWSER_TESTS=1 to skip")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()




@pytest.fixture
def organisation_database(tmp_path: Path) -> str:
    """The catalog and the test organisation (one user per role, password PASSWORD)."""
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    engine = make_engine(url)
    build_organisation(engine)
    engine.dispose()
    return url


@pytest.fixture
def server(organisation_database: str, tmp_path: Path) -> Iterator[Server]:
    running = start_server(organisation_database, tmp_path / "streamlit.log")
    yield running
    running.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                               call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="id-ID")
    page = context.new_page()
    page.set_default_timeout(SCRIPT_TIMEOUT_MS)
    yield page
    if request.node.stash.get(_FAILED, False):  # what the page showed when the test failed
        screenshot(page, f"gagal-{request.node.name}")
    context.close()


def wait_for_app_run(page: Page) -> None:
    """Until the websocket is up and the script has finished (Streamlit's own e2e signal)."""
    page.wait_for_timeout(250)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached")
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached")


GRID_HEADER_PIXELS = GRID_ROW_PIXELS = 35  # Streamlit's data grid: header and row heights


def click_grid_row(page: Page, *, row: int, x: float) -> None:
    """Click x pixels into a row of the first data grid (a canvas), as a mouse does: once the
    grid has drawn, pointing first, at a position Playwright takes from the grid as it is
    when it clicks. A click at page coordinates read from the grid's box beforehand missed
    the row once on a busy CI machine."""
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.locator("canvas").first.wait_for(state="visible")
    position: Position = {"x": x,
                          "y": GRID_HEADER_PIXELS + GRID_ROW_PIXELS * row + GRID_ROW_PIXELS / 2}
    grid.hover(position=position)
    page.wait_for_timeout(300)
    grid.click(position=position)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fill(page: Page | Locator, label: str, value: str) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(value)
    field.press("Tab")


def click(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    wait_for_app_run(page)


def log_in_here(page: Page, username: str, password: str) -> None:
    """Fill the login form shown on the current page."""
    fill(page, "Nama pengguna", username)
    fill(page, "Kata sandi", password)
    click(page, "Masuk")


def open_signed_in(server: Server, browser: Browser, path: str, *, username: str,
                   password: str) -> Page:
    """A new page at `path` (a laptop's width), signed in there through the login form."""
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/{path}")
    wait_for_app_run(page)
    log_in_here(page, username, password)
    wait_for_app_run(page)
    return page


def wait_for_login_cookie(page: Page) -> None:
    """The login cookie is written by a component after the login run; a new page load
    before it exists would show the login form."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(cookie["name"] == "pantau_sop" for cookie in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise RuntimeError("the login cookie was never set")


def visible_tab(page: Page) -> Locator:
    """The open tab panel (Streamlit keeps the others in the page, hidden)."""
    return page.locator("[role='tabpanel']:not([hidden])")
