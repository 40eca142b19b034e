from datetime import UTC, datetime

from services.catalog.official_table import STEP_COLUMNS, identity_table, steps_table
from services.catalog.yaml_io import read_sop_file
from services.formatting import format_minutes, format_wib
from tests.conftest import CATALOG_DIR


def test_format_wib_uses_indonesian_month_and_dot_time() -> None:
    assert format_wib(datetime(2026, 11, 23, 7, 5, tzinfo=UTC)) == "23 Nov 2026 14.05 WIB"
    assert format_wib(datetime(2026, 8, 1, 20, 0, tzinfo=UTC)) == "2 Agu 2026 03.00 WIB"


def test_format_minutes_in_working_days_hours_minutes() -> None:
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


def test_event_time_left_at_its_default_means_now_to_the_second() -> None:
    from datetime import timedelta

    from services.formatting import WIB
    from ui.format import EventTime

    minute = datetime(2026, 11, 24, 16, 49, tzinfo=WIB)
    previous = minute + timedelta(seconds=23)  # the case started at 16:49:23
    untouched = EventTime(chosen=minute, untouched=True).instant(not_before=previous)
    assert untouched >= previous  # not refused as "before the previous event"
    chosen_same_minute = EventTime(chosen=minute, untouched=False).instant(not_before=previous)
    assert chosen_same_minute == previous
    earlier = EventTime(chosen=minute - timedelta(minutes=5), untouched=False)
    assert earlier.instant(not_before=previous) == minute - timedelta(minutes=5)  # refused later
