"""A Kadis clicks a figure and gets the rows behind it, as many as the figure says: a tile's
link, a bar of the dashboard, a cell of the heat map; a row of the list opens its case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from db.engine import make_engine, write_session
from services.accounts import SYSTEM
from services.bootstrap import initialise
from services.demo import DEMO_PASSWORD, load_demo
from tests.conftest import CATALOG_DIR
from tests.e2e.conftest import (
    Server,
    click_grid_row,
    open_signed_in,
    screenshot,
    start_server,
    wait_for_app_run,
)
from tests.organisation import wib

pytestmark = pytest.mark.browser

UNTIL = wib(2026, 11, 20, 15, 0)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with write_session(engine) as session:
        load_demo(session, actor=SYSTEM, seed=7, years=1, scale=1, until=UNTIL, now=UNTIL)
    engine.dispose()
    running = start_server(url, tmp_path / "streamlit.log")
    yield running
    running.stop()


def listed(page: Page) -> tuple[int, str]:
    """The count the Kasus list states, and its whole line."""
    line = page.get_by_text(re.compile(r"^\d[\d.]* (kasus|kunjungan langkah|tugas)")).first
    expect(line).to_be_visible()
    text = line.inner_text()
    return int(text.split(" ")[0].replace(".", "")), text


def click_point(page: Page, point: Locator) -> None:
    """Click a chart's point as a mouse does (Plotly's drag layer lies over its points)."""
    box = point.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_for_app_run(page)


def test_a_tile_a_bar_and_a_heat_cell_open_as_many_rows_as_they_count(
        demo_server: Server, browser: Browser) -> None:
    page = open_signed_in(demo_server, browser, "dasbor?periode=2026", username="kadis",
                          password=DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Dasbor Kepatuhan")).to_be_visible()
    overdue = page.locator("[data-testid='stMetric']").filter(has_text="Tugas terlambat")
    figure = int(overdue.locator("[data-testid='stMetricValue']").inner_text().replace(".", ""))
    page.get_by_role("link", name="Rincian").nth(4).click()
    wait_for_app_run(page)
    expect(page).to_have_url(re.compile(r"/kasus\?.*lihat=tugas"))
    assert listed(page)[0] == figure

    # A bar: the visits with a target of one SOP, as "(21 dari 30)" on the dashboard says.
    page.goto(f"{demo_server.url}/dasbor?periode=2026")
    wait_for_app_run(page)
    pairs = set(re.findall(r"\((\d+) dari (\d+)\)", page.locator(
        "[data-testid='stMain']").inner_text()))
    chart = page.locator(".js-plotly-plot").first
    click_point(page, chart.locator("g.point path").first)
    expect(page).to_have_url(re.compile(r"/kasus\?.*lihat=kunjungan.*status=bertarget"))
    count, line = listed(page)
    within, with_target = re.search(r"; (\d+) dari (\d+) yang punya Mutu Baku", line).groups()
    assert count == int(with_target) and (within, with_target) in pairs
    screenshot(page, "rincian-dari-batang")

    # A heat-map cell of Hambatan: "x dari n kunjungan" on hover, n rows behind it.
    page.goto(f"{demo_server.url}/hambatan?sop=e-kinerja&periode=2026")
    wait_for_app_run(page)
    heat = page.locator(".js-plotly-plot").filter(has=page.locator(".colorbar"))
    cell = heat.locator(".scatterlayer .point").first
    box = cell.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = heat.locator(".hoverlayer").text_content() or ""
    visits = int(re.search(r"dari (\d+) kunjungan", hover).group(1))
    click_point(page, cell)
    expect(page).to_have_url(re.compile(r"/kasus\?.*langkah=\d+"))
    assert listed(page)[0] == visits

    # A row of the list opens its case; the way back keeps the list.
    rows_url = page.url
    click_grid_row(page, row=0, x=20)  # the first row's selection box
    wait_for_app_run(page)
    expect(page).to_have_url(re.compile(r"kasus=\d+"))
    expect(page.get_by_text("Linimasa kunjungan langkah")).to_be_visible()
    page.get_by_role("link", name="Kembali ke daftar").click()
    wait_for_app_run(page)
    assert sorted(page.url.split("?")[1].split("&")) == sorted(rows_url.split("?")[1].split("&"))
    assert listed(page)[0] == visits
    page.context.close()
