"""Every page reads in Bahasa Indonesia, Streamlit's own hints included, at a laptop's and a
phone's width: no English word of Streamlit's, no Python value ("None", "nan", "True") leaking
into the text, and no decimal point where a decimal comma belongs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from db.engine import make_engine, read_session, write_session
from db.models import Case
from services.accounts import SYSTEM
from services.bootstrap import initialise
from services.demo import DEMO_PASSWORD, load_demo
from tests.conftest import CATALOG_DIR
from tests.e2e.conftest import (
    Server,
    log_in_here,
    open_signed_in,
    screenshot,
    start_server,
    wait_for_app_run,
    wait_for_login_cookie,
)
from tests.organisation import wib

pytestmark = pytest.mark.browser

UNTIL = wib(2026, 11, 20, 15, 0)
# Words of Streamlit's own interface and of Python that must never reach a user of the app.
ENGLISH = re.compile(r"\b(Press Enter|Choose an option|Choose options|No results|empty|"
                     r"None|nan|NaN|NaT|True|False|Running|Loading|Submit|Select all)\b")
DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?:%|×| jam| poin)")  # "78.7%", "1.36×"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[Server, int]]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with write_session(engine) as session:
        load_demo(session, actor=SYSTEM, seed=7, years=1, scale=1, until=UNTIL, now=UNTIL)
    with read_session(engine) as session:
        running = session.scalar(select(Case.id).where(Case.status == "active").limit(1))
    engine.dispose()
    assert running is not None
    server = start_server(url, tmp_path / "streamlit.log")
    yield server, running
    server.stop()


def visible_text(page: Page) -> str:
    return page.locator("[data-testid='stApp']").inner_text()


def problems(page: Page) -> list[str]:
    text = visible_text(page)
    return ENGLISH.findall(text) + DECIMAL_POINT.findall(text)


PAGES = {
    "kadis": ["dasbor?periode=2026", "hambatan?sop=e-kinerja&periode=2026", "laporan",
              "progres?periode=2026", "antrean", "kasus", "kasus?lihat=kunjungan&periode=2026",
              "kasus?lihat=tugas", "kasus?kasus={case}", "katalog", "akun", "tugas", "mulai"],
    "fungsional": ["tugas", "catat?kasus={case}", "mulai", "kasus"],
    "admin.demo": ["pengguna", "unit", "kalender", "impor"],
}


@pytest.mark.parametrize("width", [1366, 390])
def test_every_page_reads_in_indonesian(demo_server: tuple[Server, int], browser: Browser,
                                        width: int) -> None:
    server, case = demo_server
    found: dict[str, list[str]] = {}
    visited = 0
    for user, paths in PAGES.items():
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{server.url}/akun")
        wait_for_app_run(page)
        assert not problems(page), problems(page)  # the sign-in form
        log_in_here(page, user, DEMO_PASSWORD)
        wait_for_login_cookie(page)  # else the next page load would show the sign-in form
        for path in paths:
            page.goto(f"{server.url}/{path.format(case=case)}")
            wait_for_app_run(page)
            page.wait_for_timeout(500)
            assert "Traceback" not in visible_text(page), path
            if problems(page):
                found[f"{user} {path}"] = problems(page)
            visited += 1
        context.close()
    assert visited == sum(len(paths) for paths in PAGES.values())
    assert not found, found


def test_typing_in_a_form_shows_no_english_hint(demo_server: tuple[Server, int],
                                                browser: Browser) -> None:
    server, _ = demo_server
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/akun")
    wait_for_app_run(page)
    field = page.get_by_label("Nama pengguna", exact=True)
    field.click()
    field.type("kad")
    page.wait_for_timeout(500)
    assert "Press Enter" not in visible_text(page)
    hint = page.locator("[data-testid='InputInstructions']")
    assert hint.count() == 0 or not hint.first.is_visible()
    page.context.close()


def _boxes(locator) -> list[dict]:  # type: ignore[no-untyped-def]
    return [box for box in (locator.nth(i).bounding_box() for i in range(locator.count()))
            if box and box["width"] > 0]


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("width", [1366, 390])
def test_no_legend_over_an_axis_no_line_over_a_label_no_count_under_an_arrow(
        demo_server: tuple[Server, int], browser: Browser, width: int) -> None:
    server, _ = demo_server
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/dasbor?periode=2026")
    wait_for_app_run(page)
    log_in_here(page, "kadis", DEMO_PASSWORD)
    wait_for_app_run(page)
    charts = page.locator(".js-plotly-plot")
    # Drawn after the run ends, later on a busy machine: wait for both, axes included.
    expect(charts).to_have_count(2, timeout=60_000)
    for index in range(2):
        charts.nth(index).locator(".xtick text, .ytick text").first.wait_for()
    for index in range(charts.count()):
        chart = charts.nth(index)
        legend = _boxes(chart.locator(".legend"))
        ticks = _boxes(chart.locator(".xtick text, .ytick text"))
        assert ticks and not any(_overlap(box, tick) for box in legend for tick in ticks)
    # the target line is drawn under the bars and their labels
    first = charts.nth(0)
    assert first.locator(".layer-below .shapelayer path").count() == 1
    assert first.locator(".layer-above .shapelayer path").count() == 0
    # and its label sits above the plot, over no bar (inside it, it lay over the top bar)
    label = _boxes(first.locator(".annotation"))
    bars = _boxes(first.locator(".point path"))
    assert label and bars and not any(_overlap(box, bar) for box in label for bar in bars)

    page.goto(f"{server.url}/hambatan?sop=e-kinerja&periode=2026")
    wait_for_app_run(page)
    page.locator("[data-testid='stGraphVizChart'] g.edge text").nth(5).wait_for()
    # Each count on the process map starts right of its arrow's head (the glyphs, not the
    # text box: Graphviz pads the label with spaces).
    gaps = page.evaluate("""() => [...document.querySelectorAll(
            "[data-testid='stGraphVizChart'] g.edge")].map(edge => {
        const text = edge.querySelector("text"), head = edge.querySelector("polygon");
        if (!text || !head) return null;
        const first = text.textContent.search(/\\S/);
        const start = text.getStartPositionOfChar(first);
        const m = text.getScreenCTM();
        const glyphX = start.x * m.a + start.y * m.c + m.e;
        const box = head.getBoundingClientRect();
        const width = parseFloat(head.getAttribute("stroke-width") || "1") * m.a;
        return glyphX - (box.right + width / 2);
    }).filter(gap => gap !== null)""")
    assert len(gaps) > 5 and min(gaps) > 0, gaps
    page.context.close()


def test_an_sops_completed_cases_show_when_their_expander_is_opened(
        demo_server: tuple[Server, int], browser: Browser) -> None:
    """Progres SOP draws an SOP's completed cases only once their expander is opened (closed,
    they were a third of the page's time); a click opens it and the table is drawn there."""
    server, _ = demo_server
    page = open_signed_in(server, browser, "progres?periode=2026", username="kadis",
                          password=DEMO_PASSWORD)
    inside = page.locator("[data-testid='stExpander'] [data-testid='stDataFrame']")
    expect(page.locator("[data-testid='stExpander']").first).to_be_visible()
    expect(inside).to_have_count(0)
    page.get_by_text("Selesai dalam Tahun 2026: waktu tempuh dibanding rencana").first.click()
    expect(inside).to_have_count(1)
    expect(inside.first).to_be_visible()
    wait_for_app_run(page)
    assert not problems(page), problems(page)
    screenshot(page, "progres-selesai-dibuka")
    page.context.close()
