"""Every figure opens its rows: a tile's link, a chart's point, a ranking or queue row lead to
the Kasus list, whose count is the figure. The list's filters live in the URL."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from streamlit.testing.v1 import AppTest

from tests.pages.conftest import run_ok, shown
from tests.pages.test_dashboard_pages import service_metrics, tiles


def follow(app: AppTest, query_string: str) -> AppTest:
    """Open the Kasus page as a link with this query string would."""
    app.query_params.clear()
    app.query_params.update(dict(parse_qsl(query_string)))
    app.switch_page("pages/kasus.py")
    return run_ok(app)


def summary(app: AppTest) -> str:
    """The Kasus list's line about itself ("1.234 kasus; ...")."""
    return next(text for text in (shown(m).strip("*") for m in app.main.markdown)
                if re.match(r"^\d[\d.]* (kasus|kunjungan|tugas)", text))


def listed(app: AppTest) -> int:
    """The count the Kasus list states, checked against its grid."""
    count = int(summary(app).split(" ")[0].replace(".", ""))
    grids = app.dataframe
    assert (grids[0].value.shape[0] if grids else 0) == min(count, 1000)
    return count


def figures(app: AppTest) -> list[dict]:
    """The Plotly figures of the page."""
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def points(figure: dict, trace: int) -> list[list]:
    """The customdata of a trace: one list per point, ending with its drill link."""
    return figure["data"][trace]["customdata"]


def test_every_tile_opens_the_rows_it_counts(demo_signed_in) -> None:
    app = demo_signed_in("kadis", "dasbor", periode="2026")
    values = tiles(app)
    links = [link.proto.query_string for link in app.main.get("page_link")
             if link.proto.label == "Rincian"]
    assert len(links) == 5
    labels = list(values)
    for label, link in zip(labels, links, strict=True):
        follow(app, link)
        if label in ("Kasus berjalan", "Selesai dalam periode", "Tugas terlambat"):
            assert listed(app) == int(values[label].replace(".", "")), label
        else:  # a rate: the list states it again, from its own rows
            assert f"({values[label]})" in summary(app), (label, summary(app))
        assert "periode=2026" in link


def test_a_bar_and_a_point_of_the_dashboard_open_their_visits(demo_signed_in) -> None:
    app = demo_signed_in("kadis", "dasbor", periode="2026")
    by_sop, by_month = figures(app)
    within, with_target, link = points(by_sop, 0)[0]
    assert "lihat=kunjungan" in link and "status=bertarget" in link
    follow(app, link)
    assert listed(app) == with_target
    assert f"{within} dari {with_target} yang punya Mutu Baku" in summary(app)
    app = demo_signed_in("kadis", "dasbor", periode="2026")
    visits, link = points(figures(app)[1], 0)[-1]
    follow(app, link)
    assert listed(app) == visits and "periode=2026-" in link  # the point's month


def titled(app: AppTest, title: str) -> dict:
    """The figure under this title (the page writes it above the chart)."""
    order = [m.value for m in app.main.markdown if m.value.startswith("**")
             and m.value.strip("*") in CHART_TITLES]
    return figures(app)[order.index(f"**{title}**")]


CHART_TITLES = ("Waktu kerja per langkah dibanding Mutu Baku",
                "Pareto pengembalian per langkah keputusan",
                "Bagian kunjungan yang melewati Mutu Baku, per bulan",
                "Tugas tertunda per Pelaksana")


def test_every_chart_of_hambatan_opens_its_visits(demo_signed_in, demo_database) -> None:
    metrics, _ = service_metrics(demo_database, "2026")
    returned = max(metrics.sops, key=lambda sop: sop.totals.returns).code
    app = demo_signed_in("sekretaris", "hambatan", sop=returned, periode="2026")
    median = points(titled(app, CHART_TITLES[0]), 1)[0]
    pareto = points(titled(app, CHART_TITLES[1]), 0)[0]
    cell = points(titled(app, CHART_TITLES[2]), 1)[0]
    checks = [(int(median[0]), median[-1]), (int(pareto[0]), pareto[-1]),
              (int(cell[2]), cell[-1])]
    ranking = app.dataframe[0].value
    for count, link in checks:
        follow(app, link)
        assert listed(app) == count, link
    assert "status=kembali" in pareto[-1] and "status=bertarget" in cell[-1]
    assert f"sop={returned}" in cell[-1] and "langkah=" in cell[-1]
    assert int(ranking["Kunjungan"].iloc[0].replace(".", "")) > 0


def test_a_queue_bar_and_a_persons_row_open_their_items(demo_signed_in) -> None:
    app = demo_signed_in("sekretaris", "antrean")
    by_role, by_person = figures(app)
    overdue_trace = next(t for t in by_role["data"] if "Terlambat" in t["name"])
    count, link = overdue_trace["customdata"][0]
    follow(app, link)
    assert listed(app) == int(count) and "status=terlambat" in link
    app = demo_signed_in("sekretaris", "antrean")
    people = app.dataframe[1].value
    person_trace = next(t for t in by_person["data"] if "Terlambat" in t["name"])
    assert [int(c) for c, _ in person_trace["customdata"]] == list(people["■ Terlambat"])
    total, link = int(people["Jumlah"].iloc[0]), person_trace["customdata"][0][1]
    follow(app, link.replace("&status=terlambat", ""))
    assert listed(app) == total and "orang=" in link


def test_the_case_list_filters_live_in_the_url(demo_signed_in) -> None:
    app = demo_signed_in("sekretaris", "kasus")
    assert listed(app) > 0 and "lihat" not in app.query_params
    app.get("button_group")[0].set_value("kunjungan").run()
    assert app.query_params["lihat"] == "kunjungan"
    visits = listed(app)
    next(t for t in app.toggle if t.label == "Terlambat saja").set_value(True).run()
    assert app.query_params["terlambat"] == "1"
    over = listed(app)
    assert 0 < over < visits
    next(s for s in app.selectbox if s.label == "Status").set_value("kembali").run()
    assert app.query_params["status"] == "kembali"
    next(t for t in app.toggle if t.label == "Terlambat saja").set_value(False).run()
    returns = listed(app)
    assert 0 < returns < visits and "terlambat" not in app.query_params
    assert set(app.dataframe[0].value["Keputusan"]) == {"Dikembalikan"}
    next(s for s in app.selectbox if s.label == "Jenis periode").set_value("tahun").run()
    assert app.query_params["periode"] == str(app.selectbox[1].value.first.year)
    in_year = listed(app)
    assert in_year <= returns
    # the same filters from a link: the same rows, the same widgets
    link = "&".join(f"{k}={v}" for k, v in dict(app.query_params).items())
    again = follow(demo_signed_in("kadis"), link)
    assert listed(again) == in_year
    assert next(s for s in again.selectbox if s.label == "Status").value == "kembali"
    assert again.get("button_group")[0].value == "kunjungan"


def test_a_list_of_items_names_their_step_and_state_and_hides_the_case_id(
        demo_signed_in) -> None:
    app = demo_signed_in("kadis", "kasus", lihat="tugas", status="terlambat")
    grid = app.dataframe[0].value
    assert list(grid.columns)[:4] == ["Nomor", "Judul", "Langkah", "Dipegang"]
    assert "case_id" not in grid.columns and set(grid["Keadaan"]) == {"Terlambat"}


def test_a_link_naming_an_unknown_person_says_it_is_ignored(demo_signed_in) -> None:
    everyone = listed(demo_signed_in("kadis", "kasus", lihat="tugas"))
    app = demo_signed_in("kadis", "kasus", lihat="tugas", orang="tidak.ada")
    assert any("tidak.ada" in shown(w) and "diabaikan" in shown(w) for w in app.warning)
    assert listed(app) == everyone and "orang" not in app.query_params
