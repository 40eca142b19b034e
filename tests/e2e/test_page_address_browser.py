"""A page opened by its address (a reload, a bookmark, a link in a new tab) connects to the
server at once: one health check, at the server's root, and no refused probe of
/<page>/_stcore/health first (which cost 100 ms of waiting; ui/index_page.py)."""

from __future__ import annotations

from playwright.sync_api import Page, Request, expect

from tests.e2e.conftest import Server, log_in_here, wait_for_app_run
from tests.organisation import PASSWORD


def test_a_page_opened_by_its_address_connects_without_a_refused_probe(
        server: Server, page: Page) -> None:
    probes: list[str] = []

    def note(request: Request) -> None:
        if request.url.endswith("_stcore/health"):
            probes.append(request.url)

    page.on("request", note)
    page.goto(f"{server.url}/akun")
    wait_for_app_run(page)
    log_in_here(page, "kadis", PASSWORD)
    expect(page.get_by_role("heading", name="Akun Saya")).to_be_visible()
    assert probes == [f"{server.url}/_stcore/health"]

    probes.clear()
    page.goto(f"{server.url}/hambatan")  # another page, opened by its address
    wait_for_app_run(page)
    expect(page.get_by_role("heading", name="Hambatan")).to_be_visible()
    assert probes == [f"{server.url}/_stcore/health"]
