"""The app's HTML page at the address of each of its pages, telling the browser where the
server is.

Opened at a page's address (/hambatan), Streamlit's browser code cannot tell whether
"hambatan" is a page or the path the server is mounted under: it asks
/hambatan/_stcore/health first, is refused, waits 100 ms, then asks /_stcore/health. Every
page opened by its address (a reload, a bookmark, a drill link opened in a new tab) paid
0.1 s for it, before the page's script could start. The page served here is Streamlit's own,
with the server's address set in the host configuration its code reads first
(`window.__streamlit.BACKEND_BASE_URL`), so it connects at once.

Only where the server sits at the root of its host (server.baseUrlPath unset, as
docs/deploy.md sets it up); under a base path Streamlit's own page is served, as before.
docs/metrics.md, "Speed".
"""

from __future__ import annotations

from pathlib import Path

import streamlit
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from streamlit import config

from ui.navigation import url_paths

# The server's address as the browser sees it, through nginx or not.
HOST_CONFIG = ("<script>window.__streamlit = "
               "{BACKEND_BASE_URL: window.location.origin + \"/\"}</script>")


def index_html() -> str:
    """Streamlit's index.html, with the host configuration set before its code loads."""
    original = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(
        encoding="utf-8")
    if "<head>" not in original:
        raise RuntimeError("Streamlit's index.html has no <head>: ui/index_page.py needs a look")
    return original.replace("<head>", "<head>" + HOST_CONFIG, 1)


def page_routes() -> list[Route]:
    """A route for each page's address, serving `index_html` (none under a base path)."""
    if str(config.get_option("server.baseUrlPath") or "").strip("/"):
        return []
    html = index_html()

    async def page(request: Request) -> HTMLResponse:
        # As Streamlit serves its own page: never kept, so an upgrade shows at once.
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    return [Route(f"/{path}", page, methods=["GET", "HEAD"]) for path in url_paths()]
