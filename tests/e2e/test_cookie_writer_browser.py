"""The login cookie's writer (ui/cookie_writer/) in Chromium: a deletion removes the cookie only
while it holds the token the deletion names, so a deletion drawn late cannot sign out the
login after it (tests/e2e/test_sign_in_browser.py has that whole story)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import Server, start_server, wait_for_app_run
from ui.auth import COOKIE_NAME

pytestmark = pytest.mark.browser


@pytest.fixture
def cookie_page(tmp_path: Path) -> Iterator[Server]:
    server = start_server(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path / "streamlit.log",
                          script="tests/e2e/cookie_job_app.py")
    yield server
    server.stop()


def _do(page: Page, server: Server, kind: str, token: str, job_id: str) -> None:
    page.goto(f"{server.url}/?kind={kind}&token={token}&id={job_id}")
    wait_for_app_run(page)
    writer = page.frame_locator("iframe[title='ui.auth.pantau_cookie']")
    expect(writer.locator(f"body[data-done='{job_id}']")).to_be_attached()


def _login_cookies(context: BrowserContext) -> list[dict[str, object]]:
    return [dict(c) for c in context.cookies() if c["name"] == COOKIE_NAME]


def test_a_deletion_removes_only_the_token_it_names(cookie_page: Server, page: Page) -> None:
    context = page.context
    context.add_cookies([{"name": COOKIE_NAME, "value": "login-baru", "url": cookie_page.url}])

    _do(page, cookie_page, "delete", "login-lama", "hapus-lama")  # late, for an ended login
    assert [c["value"] for c in _login_cookies(context)] == ["login-baru"]

    _do(page, cookie_page, "delete", "login-baru", "hapus-baru")
    assert _login_cookies(context) == []


def test_a_set_writes_the_token_for_the_whole_site_until_it_expires(cookie_page: Server,
                                                                   page: Page) -> None:
    before = datetime.now(UTC)
    _do(page, cookie_page, "set", "token-masuk", "tulis")
    [cookie] = _login_cookies(page.context)
    assert (cookie["value"], cookie["path"], cookie["sameSite"]) == ("token-masuk", "/", "Strict")
    expires = datetime.fromtimestamp(float(str(cookie["expires"])), UTC)
    assert before + timedelta(minutes=59) < expires < before + timedelta(minutes=61)
