from datetime import UTC, datetime, timedelta

from services.catalog.official_table import STEP_COLUMNS, identity_table, steps_table
from services.catalog.yaml_io import read_sop_file
from services.formatting import (
    WIB,
    format_day,
    format_minutes,
    format_number,
    format_percent,
    format_wib,
)
from tests.conftest import CATALOG_DIR


def test_format_wib_uses_indonesian_month_and_dot_time() -> None:
    assert format_wib(datetime(2026, 11, 23, 7, 5, tzinfo=UTC)) == "23 Nov 2026 14.05 WIB"
    assert format_wib(datetime(2026, 8, 1, 20, 0, tzinfo=UTC)) == "2 Agu 2026 03.00 WIB"


def test_numbers_dates_and_shares_are_written_the_indonesian_way() -> None:
    assert format_number(1234567.25, digits=2) == "1.234.567,25"
    assert format_number(-3) == "-3" and format_number(float("nan")) == "–"
    assert format_percent(0.7871) == "78,7%" and format_percent(1) == "100,0%"
    assert format_percent(12.5, digits=0) == "1.250%"
    assert format_day(datetime(2026, 5, 4).date()) == "4 Mei 2026"


def test_format_minutes_in_working_days_hours_minutes() -> None:
    assert format_minutes(None) == format_minutes(float("nan")) == "–"
    assert format_minutes(1350) == "3 hari"
    assert format_minutes(500) == "1 hari 50 menit"
    assert format_minutes(60) == "1 jam"
    assert format_minutes(0) == "0 menit"
    assert format_minutes(None) == "–"


def test_official_tables_of_an_sop() -> None:
    sop = read_sop_file(CATALOG_DIR / "monev-kinerja-periodik.yaml")
    steps = steps_table(sop)
    assert tuple(steps.columns) == STEP_COLUMNS
    assert list(steps["No."]) == ["1", "2", "3", "4", "6", "8", "9", "9a", "10", "12"]
    assert steps.loc[4, "Target (waktu kerja)"] == "sesuai jadwal kasus"
    identity = dict(identity_table(sop).values)
    assert identity["Nama SOP"] == "Monitoring Evaluasi Kinerja Secara Periodik"
    assert identity["Disahkan oleh"].endswith("NIP. 19690101 199303 1 021")
    assert identity["Tanggal Efektif"] == "–"
    lkj = steps_table(read_sop_file(CATALOG_DIR / "penyusunan-lkj.yaml"))
    assert lkj.loc[3, "Keputusan"] == "Y → 5, T → 3"


def test_event_time_now_and_a_chosen_minute_of_the_previous_event() -> None:
    from ui.event_time import EventTime

    minute = datetime(2026, 11, 24, 16, 49, tzinfo=WIB)
    previous = minute + timedelta(seconds=23)  # the case started at 16:49:23
    assert EventTime(None).instant(not_before=previous) >= previous  # now, to the second
    assert EventTime(minute).instant(not_before=previous) == previous  # that event's minute
    earlier = EventTime(minute - timedelta(minutes=5))
    assert earlier.instant(not_before=previous) == minute - timedelta(minutes=5)  # refused later


def test_timeline_ticks_are_written_the_indonesian_way() -> None:
    from ui.charts import date_ticks

    start = datetime(2026, 8, 17, 8, 30, tzinfo=WIB)
    ticks, text = date_ticks(start, start + timedelta(hours=7))
    assert len(ticks) <= 9 and text[0] == "17 Agu<br>08.00"
    assert all(t.tzinfo is not None for t in ticks) and ticks[-1] >= start + timedelta(hours=7)
    ticks, text = date_ticks(start, start + timedelta(days=40))
    assert text[0] == "17 Agu 2026" and "Sep" in " ".join(text) and len(ticks) <= 9


def test_grids_fit_a_laptop_screen_and_small_ones_keep_their_size() -> None:
    import pandas as pd

    from ui.tables import BUDGET_PIXELS, SHRINK_FLOOR, fitted

    wide = pd.DataFrame({f"Kolom {i}": ["teks yang cukup panjang untuk satu sel " * 2] * 3
                         for i in range(7)} | {"No.": [1, 2, 3]})
    widths = {name: column["width"] for name, column in fitted(wide).items()}
    assert sum(widths.values()) <= BUDGET_PIXELS + len(widths)  # rounding down per column
    assert min(w for name, w in widths.items() if name != "No.") >= SHRINK_FLOOR - 1
    assert widths["No."] < 60
    small = pd.DataFrame({"Nama": ["Andi"], "Jumlah": [3]})
    assert sum(c["width"] for c in fitted(small).values()) < 200
    progress = {"Jumlah": {"type_config": {"type": "progress"}}}
    assert fitted(small, progress)["Jumlah"] == progress["Jumlah"]


def test_pareto_counts_are_written_the_indonesian_way() -> None:
    """2,416 returns read "2.416" on the bar, in the hover and on the axis (the layout's
    separators make Plotly's "," a thousands dot)."""
    import pandas as pd

    from ui.charts import LAYOUT, returns_pareto

    figure = returns_pareto(
        pd.DataFrame({"seq": [5], "returns": [2416], "decisions": [9000], "cumulative": [1.0]}),
        steps=pd.DataFrame({"seq": [5], "label": ["5"]}))
    bars = figure.data[0]
    assert list(bars.text) == ["2.416"]
    assert "%{customdata[0]:,}" in bars.hovertemplate and figure.layout.yaxis.tickformat == ",d"
    assert LAYOUT["separators"] == ",."


def test_the_paretos_cumulative_share_reads_in_quarters_up_to_all() -> None:
    """The cumulative axis is ticked 0, 25, 50, 75 and 100%: left to Plotly, its ticks fell
    on the counts' gridlines, at 21%, 41% ... 103% beside 2,416 returns."""
    import pandas as pd

    from ui.charts import returns_pareto

    figure = returns_pareto(
        pd.DataFrame({"seq": [5, 3], "returns": [2416, 300], "decisions": [9000, 900],
                      "cumulative": [0.89, 1.0]}),
        steps=pd.DataFrame({"seq": [3, 5], "label": ["3", "5"]}))
    share = figure.layout.yaxis2
    assert share.tickmode == "array" and share.tickformat == ".0%"
    assert list(share.tickvals) == [0, 0.25, 0.5, 0.75, 1]
    assert share.range[1] >= max(share.tickvals)


def test_a_tiles_change_reads_in_points_for_a_rate_and_as_a_number_for_a_count() -> None:
    from services.dashboards import Tile
    from ui.format import tile_change

    def tile(kind: str, value: float | None, previous: float | None) -> Tile:
        return Tile("k", "Label", value, previous, kind, True, "Bantuan.")

    assert tile_change(tile("rate", 0.80, 0.785)) == "+1,5 poin"
    assert tile_change(tile("rate", 0.70, 0.75)) == "-5,0 poin"
    assert tile_change(tile("rate", 0.5, 0.5)) == "tetap"
    assert tile_change(tile("count", 1234, 4)) == "+1.230"
    assert tile_change(tile("count", 2, 5)) == "-3"
    assert tile_change(tile("count", 7, 7)) == "tetap"
    assert tile_change(tile("rate", None, 0.5)) is None
    assert tile_change(tile("count", 3, None)) is None
