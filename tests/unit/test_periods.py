from datetime import date

import pytest

from services.periods import parse_period

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(("text", "label", "first", "last", "previous"), [
    ("2026-11", "November 2026", date(2026, 11, 1), date(2026, 11, 30), "Oktober 2026"),
    ("2026-01", "Januari 2026", date(2026, 1, 1), date(2026, 1, 31), "Desember 2025"),
    ("2026-Q1", "Triwulan I 2026", date(2026, 1, 1), date(2026, 3, 31), "Triwulan IV 2025"),
    ("2026-Q3", "Triwulan III 2026", date(2026, 7, 1), date(2026, 9, 30), "Triwulan II 2026"),
    ("2026-S1", "Semester I 2026", date(2026, 1, 1), date(2026, 6, 30), "Semester II 2025"),
    ("2026-S2", "Semester II 2026", date(2026, 7, 1), date(2026, 12, 31), "Semester I 2026"),
    ("2025", "Tahun 2025", date(2025, 1, 1), date(2025, 12, 31), "Tahun 2024"),
    ("2026-02-01_2026-02-10", "1 Feb 2026 – 10 Feb 2026", date(2026, 2, 1), date(2026, 2, 10),
     "22 Jan 2026 – 31 Jan 2026"),
])
def test_periods_read_from_links(text, label, first, last, previous) -> None:
    period = parse_period(text, today=TODAY)
    assert (period.label, period.first, period.last, period.previous().label) == (
        label, first, last, previous)
    assert parse_period(period.text, today=TODAY) == period


@pytest.mark.parametrize("text", [None, "", "kemarin", "2026-13", "2026-Q5", "2026-S3", "2026-S0",
                                  "2026-03-01_2026-02-01"])
def test_unreadable_period_is_the_current_quarter(text) -> None:
    assert parse_period(text, today=TODAY).label == "Triwulan IV 2026"


def test_period_bounds_are_wib_midnights_and_months_span_the_period() -> None:
    period = parse_period("2026-Q2", today=TODAY)
    start, end = period.bounds()
    assert start.isoformat() == "2026-03-31T17:00:00+00:00"  # 1 April 00:00 WIB
    assert end.isoformat() == "2026-06-30T17:00:00+00:00"
    assert [m.label for m in period.months()] == ["April 2026", "Mei 2026", "Juni 2026"]
