"""The app's HTML page at each page's address (ui/index_page.py): Streamlit's own page, with
the server's address set before its code loads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import streamlit
from starlette.applications import Starlette
from streamlit import config

from ui.index_page import HOST_CONFIG, index_html, page_routes
from ui.navigation import PAGES, url_paths


def _get(app: Starlette, path: str) -> tuple[int, dict[str, str], str]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"periode=2026", "headers": [], "scheme": "http",
             "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": "",
             "http_version": "1.1"}
    # On a thread of its own: asyncio.run refuses to start where a loop is running, and in a
    # test worker that has run a browser test one is, in the main thread, for the rest of the
    # session (the browser fixture's sync_playwright keeps its loop there).
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body.decode()


@pytest.fixture
def base_url_path() -> Iterator[None]:
    before = config.get_option("server.baseUrlPath")
    yield
    config.set_option("server.baseUrlPath", before)


def test_every_page_address_serves_streamlits_page_with_the_server_address() -> None:
    original = (Path(streamlit.__file__).parent / "static" / "index.html").read_text("utf-8")
    app = Starlette(routes=page_routes())
    assert {spec.key for spec in PAGES} | {"beranda"} == set(url_paths())
    for path in url_paths():
        status, headers, body = _get(app, f"/{path}")
        assert status == 200
        assert headers["cache-control"] == "no-cache"
        assert body == index_html()
        # Set before Streamlit's own code, which reads it once as it loads.
        assert body.index(HOST_CONFIG) < body.index('<script type="module"')
        assert body.replace(HOST_CONFIG, "", 1) == original
    # Streamlit's own routes are left to it.
    assert _get(app, "/hambatan/_stcore/health")[0] == 404
    assert _get(app, "/static/js/missing.js")[0] == 404


def test_under_a_base_path_streamlits_own_page_is_served(base_url_path: None) -> None:
    config.set_option("server.baseUrlPath", "pantau")
    assert page_routes() == []
