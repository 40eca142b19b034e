"""Working minutes on the Indonesian calendar: hand-computed cases and a day-by-day oracle."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import holidays
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.calendar import WorkingCalendar, default_settings

WIB = timezone(timedelta(hours=7))


def wib(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


def minutes(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    return float(calendar.working_minutes([start], [end])[0])


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar(default_settings())


@pytest.mark.parametrize(
    ("start", "end", "expected", "why"),
    [
        (wib(2025, 2, 3), wib(2025, 2, 10), 5 * 450, "a plain week is 37.5 hours"),
        (wib(2025, 2, 4, 11, 30), wib(2025, 2, 4, 13, 30), 60, "Mon-Thu lunch break 12:00-13:00"),
        (wib(2025, 2, 7, 11, 0), wib(2025, 2, 7, 13, 30), 60, "Friday break 11:30-13:00"),
        (wib(2025, 2, 7, 15, 0), wib(2025, 2, 10, 9, 0), 180, "Fri 15:00-16:30 + Mon 07:30-09:00"),
        (wib(2025, 4, 30, 10, 0), wib(2025, 5, 2, 10, 0), 450, "1 May (Hari Buruh) is a holiday"),
        (wib(2025, 5, 9, 16, 0), wib(2025, 5, 14, 8, 30), 90,
         "Waisak Monday and its cuti bersama Tuesday are not worked"),
        (wib(2025, 2, 4, 17, 0), wib(2025, 2, 5, 7, 0), 0, "after hours adds nothing"),
        (wib(2025, 2, 4, 16, 0), wib(2025, 2, 4, 18, 0), 0, "after 16:00 on a Tuesday"),
        (wib(2025, 2, 8, 10, 0), wib(2025, 2, 9, 12, 0), 0, "a weekend"),
        (wib(2025, 2, 5, 9, 0), wib(2025, 2, 4, 9, 0), 0, "end before start"),
        (wib(2025, 2, 4, 6, 0), wib(2025, 2, 4, 7, 45), 15, "before opening counts from 07:30"),
    ],
)
def test_hand_computed_working_minutes(calendar, start, end, expected, why) -> None:
    assert minutes(calendar, start, end) == pytest.approx(expected), why


def test_instants_in_utc_are_read_in_wib(calendar) -> None:
    start = datetime(2025, 2, 4, 1, 0, tzinfo=UTC)  # 08:00 WIB
    end = datetime(2025, 2, 4, 3, 0, tzinfo=UTC)    # 10:00 WIB
    assert minutes(calendar, start, end) == 120


def test_ramadan_period_uses_its_shorter_hours() -> None:
    ramadan = WorkingCalendar(replace(default_settings(),
                                      ramadan_periods=((date(2025, 3, 1), date(2025, 3, 29)),)))
    # Monday: 08:00-12:00 and 12:30-15:00.
    assert minutes(ramadan, wib(2025, 3, 3), wib(2025, 3, 4)) == 390
    # Friday: 08:00-11:30 and 12:30-15:30.
    assert minutes(ramadan, wib(2025, 3, 7), wib(2025, 3, 8)) == 390
    assert minutes(ramadan, wib(2025, 3, 3, 12, 0), wib(2025, 3, 3, 13, 0)) == 30
    # The same Monday without the period is a normal 450-minute day.
    assert minutes(WorkingCalendar(default_settings()), wib(2025, 3, 3), wib(2025, 3, 4)) == 450


def test_admin_added_and_removed_holidays() -> None:
    adjusted = WorkingCalendar(replace(
        default_settings(),
        added_holidays={date(2025, 2, 12): "Hari jadi Provinsi (lokal)"},
        removed_holidays=frozenset({date(2025, 5, 1)}),
    ))
    assert minutes(adjusted, wib(2025, 2, 12), wib(2025, 2, 13)) == 0
    assert minutes(adjusted, wib(2025, 5, 1), wib(2025, 5, 2)) == 450
    assert not adjusted.is_working_day(date(2025, 2, 12))
    assert adjusted.is_working_day(date(2025, 5, 1))
    names = dict(adjusted.holidays_between(date(2025, 2, 1), date(2025, 5, 31)))
    assert names[date(2025, 2, 12)] == "Hari jadi Provinsi (lokal)"
    assert date(2025, 5, 1) not in names
    assert names[date(2025, 5, 13)] == "Cuti Bersama Hari Raya Waisak"


def test_one_pair_and_many_pairs_share_the_clock(calendar) -> None:
    starts = [wib(2025, 2, 3, 8), wib(2025, 5, 9, 16), wib(2025, 2, 8, 10)]
    ends = [wib(2025, 2, 3, 9), wib(2025, 5, 14, 8, 30), wib(2025, 2, 9, 12)]
    assert list(calendar.working_minutes(starts, ends)) == [60, 90, 0]


def test_missing_instants_give_nan(calendar) -> None:
    result = calendar.working_minutes([wib(2025, 2, 3, 8), None], [wib(2025, 2, 3, 9)] * 2)
    assert result[0] == 60 and np.isnan(result[1])


@pytest.mark.parametrize(
    ("start", "working", "expected"),
    [
        (wib(2025, 2, 7, 15, 0), 90, wib(2025, 2, 7, 16, 30)),   # exactly to Friday's close
        (wib(2025, 2, 7, 15, 0), 91, wib(2025, 2, 10, 7, 31)),   # over the weekend
        (wib(2025, 2, 4, 11, 0), 90, wib(2025, 2, 4, 13, 30)),   # over lunch
        (wib(2025, 4, 30, 15, 0), 120, wib(2025, 5, 2, 8, 30)),  # over the 1 May holiday
        (wib(2025, 2, 4, 18, 0), 30, wib(2025, 2, 5, 8, 0)),     # from after hours
    ],
)
def test_adding_working_minutes_inverts_the_clock(calendar, start, working, expected) -> None:
    (due,) = calendar.add_working_minutes([start], [working])
    assert due.to_pydatetime() == expected
    assert minutes(calendar, start, due.to_pydatetime()) == working


# --- the oracle: a plain loop over the days, written independently of the vectorised code --


def loop_minutes(settings, start: datetime, end: datetime) -> float:
    start, end = start.astimezone(WIB), end.astimezone(WIB)
    if end <= start:
        return 0.0
    years = range(start.year, end.year + 1)
    national = holidays.ID(years=years, categories=("public", "government"))
    total = 0.0
    day = start.date()
    while day <= end.date():
        off = (day in national and day not in settings.removed_holidays) or \
            day in settings.added_holidays
        in_ramadan = any(a <= day <= b for a, b in settings.ramadan_periods)
        table = settings.ramadan if in_ramadan else settings.normal
        hours = table.get(day.weekday())
        if hours is not None and not off:
            midnight = datetime(day.year, day.month, day.day, tzinfo=WIB)
            for a, b in ((hours.start_minute, hours.break_start_minute),
                         (hours.break_end_minute, hours.end_minute)):
                lo = max(start, midnight + timedelta(minutes=a))
                hi = min(end, midnight + timedelta(minutes=b))
                if hi > lo:
                    total += (hi - lo).total_seconds() / 60
        day += timedelta(days=1)
    return total


LOW = int(datetime(2024, 1, 1, tzinfo=WIB).timestamp())
HIGH = int(datetime(2026, 12, 31, tzinfo=WIB).timestamp())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pairs=st.lists(st.tuples(st.integers(LOW, HIGH), st.integers(0, 40 * 86400)),
                   min_size=1, max_size=20),
    ramadan_start=st.dates(date(2024, 1, 1), date(2026, 12, 1)),
    extra_holiday=st.dates(date(2024, 1, 1), date(2026, 12, 31)),
    removed_holiday=st.sampled_from([date(2025, 5, 1), date(2024, 12, 25), date(2026, 8, 17)]),
)
def test_vectorised_clock_equals_a_day_by_day_loop(pairs, ramadan_start, extra_holiday,
                                                   removed_holiday) -> None:
    config = replace(default_settings(),
                     ramadan_periods=((ramadan_start, ramadan_start + timedelta(days=29)),),
                     added_holidays={extra_holiday: "libur"},
                     removed_holidays=frozenset({removed_holiday}))
    calendar = WorkingCalendar(config)
    starts = [datetime.fromtimestamp(s, tz=WIB) for s, _ in pairs]
    ends = [start + timedelta(seconds=length) for start, (_, length) in zip(starts, pairs, strict=True)]
    got = calendar.working_minutes(starts, ends)
    expected = [loop_minutes(config, a, b) for a, b in zip(starts, ends, strict=True)]
    assert np.allclose(got, expected, atol=1e-6)


def test_clock_values_do_not_move_when_the_table_grows() -> None:
    """Separate calls must agree: W is anchored, not relative to the first date asked about."""
    calendar = WorkingCalendar(default_settings())
    before = calendar.clock([wib(2025, 2, 4, 9)])[0]
    calendar.clock([wib(1995, 6, 1, 9), wib(2041, 6, 1, 9)])  # grows backward and forward
    assert calendar.clock([wib(2025, 2, 4, 9)])[0] == before
    assert calendar.clock([wib(2000, 1, 1)])[0] == 0
    (back,) = calendar.at_clock([before])
    assert back.to_pydatetime() == wib(2025, 2, 4, 9)


def test_every_calendar_of_the_process_shares_one_reading_of_the_national_holidays(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import services.calendar as module

    readings: list[object] = []
    real = holidays.ID

    def counting(**kwargs):  # type: ignore[no-untyped-def]
        readings.append(kwargs["years"])
        return real(**kwargs)

    monkeypatch.setattr(module.holidays, "ID", counting)
    module.national_holidays.cache_clear()
    without_may_day = WorkingCalendar(replace(default_settings(),
                                              removed_holidays=frozenset({date(2025, 5, 1)})))
    assert minutes(without_may_day, wib(2025, 5, 1), wib(2025, 5, 2)) == 450
    # A second calendar reads nothing again, and one calendar's own changes stay its own.
    assert minutes(WorkingCalendar(default_settings()), wib(2025, 5, 1), wib(2025, 5, 2)) == 0
    assert len(readings) == 1
