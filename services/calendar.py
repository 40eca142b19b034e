"""Working time on the Indonesian calendar (docs/design.md, "Working time").

Durations are working minutes: the overlap of an interval with the working hours of working
days (Monday-Friday, minus public holidays and cuti bersama, plus or minus the admin's own
holidays; Ramadan periods have shorter hours). They are computed as the difference of a
monotone working clock W(t), the working minutes between a fixed epoch and t:

    W(t) = cumulative working minutes of the days before t's day
           + working minutes of t's day up to t's time of day

counted from a fixed anchor (W = 0 at 2000-01-01 00:00 WIB), so clock values from separate
calls can be subtracted however the table has grown in between.

The first term comes from a per-day cumulative table, the second from a piecewise-linear
interpolation of the day's hours. Both are numpy operations over all instants at once, so one
pair and a million pairs take the same code path (no Python loop per instant or per day).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from types import MappingProxyType

import holidays
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import HolidayOverride, RamadanPeriod, WorkHours

# Asia/Pontianak is UTC+7 all year (no daylight saving since 1988): local time is a fixed shift.
WIB_OFFSET = np.timedelta64(7, "h")
_DAY_NS = np.int64(86_400_000_000_000)
_MINUTE_NS = 60_000_000_000
_NO_HOURS = -1
ANCHOR_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class DayHours:
    """Working hours of one day, in minutes after local midnight."""

    start_minute: int
    break_start_minute: int
    break_end_minute: int
    end_minute: int

    @property
    def minutes(self) -> int:
        return (self.break_start_minute - self.start_minute) + (
            self.end_minute - self.break_end_minute)


@dataclass(frozen=True)
class CalendarSettings:
    """What the admin controls; defaults are Perpres 21/2023 (see the first migration)."""

    normal: Mapping[int, DayHours]
    ramadan: Mapping[int, DayHours] = field(default_factory=dict)
    added_holidays: Mapping[date, str] = field(default_factory=dict)
    removed_holidays: frozenset[date] = frozenset()
    ramadan_periods: tuple[tuple[date, date], ...] = ()


def load_calendar_settings(session: Session) -> CalendarSettings:
    hours: dict[str, dict[int, DayHours]] = {"normal": {}, "ramadan": {}}
    for row in session.scalars(select(WorkHours)):
        hours[row.regime][row.weekday] = DayHours(
            row.start_minute, row.break_start_minute, row.break_end_minute, row.end_minute)
    overrides = session.scalars(select(HolidayOverride)).all()
    return CalendarSettings(
        normal=hours["normal"],
        ramadan=hours["ramadan"],
        added_holidays={o.day: o.name for o in overrides if o.kind == "add"},
        removed_holidays=frozenset(o.day for o in overrides if o.kind == "remove"),
        ramadan_periods=tuple(
            (p.start_day, p.end_day)
            for p in session.scalars(select(RamadanPeriod).order_by(RamadanPeriod.start_day))),
    )


def _as_utc_ns(instants: object) -> np.ndarray:
    """Nanoseconds since 1970 (UTC) of timezone-aware instants, as int64; NaT becomes NaN-able.

    Accepts a datetime, a list of datetimes, a pandas Series/Index, or int64 nanoseconds.
    """
    if isinstance(instants, np.ndarray) and instants.dtype.kind == "i":
        return instants.astype(np.int64, copy=False)
    if isinstance(instants, datetime):
        instants = [instants]
    index = pd.DatetimeIndex(pd.to_datetime(instants, utc=True))
    # pandas keeps the input's resolution (Python datetimes are microseconds): normalise.
    return index.as_unit("ns").asi8


@lru_cache(maxsize=8)
def national_holidays(first_year: int, last_year: int) -> Mapping[date, str]:
    """Indonesia's public and government holidays of these years (the `holidays` library),
    read-only. The same for every calendar of the process, so computed once: a calendar
    spans the years from ANCHOR_DAY on, and those 27 years cost 0.03 s for every calendar
    built (the sidebar's count builds one after each write; the tests, thousands)."""
    return MappingProxyType(dict(holidays.ID(
        years=list(range(first_year, last_year + 1)), categories=("public", "government"),
        language="id")))


class WorkingCalendar:
    """The working clock for a CalendarSettings, over any range of dates it is asked about."""

    def __init__(self, settings: CalendarSettings) -> None:
        self.settings = settings
        # Pages share one calendar between sessions; growing the table is not atomic.
        self._lock = threading.RLock()
        # (hours profile) -> profile number; each weekday/regime pair maps to one profile.
        self._profiles: list[DayHours] = []
        # (first day as days since 1970-01-01 local, profile of each day, working minutes
        # before each day (+1 at the end)), replaced as one object so readers in other
        # threads always see a consistent table.
        self._table: tuple[int, np.ndarray, np.ndarray] = (
            0, np.empty(0, dtype=np.int16), np.zeros(1, dtype=np.float64))
        self._holiday_names: dict[date, str] = {}

    # --- the per-day table --------------------------------------------------------------

    def _profile_number(self, hours: DayHours | None) -> int:
        if hours is None or hours.minutes <= 0:
            return _NO_HOURS
        if hours not in self._profiles:
            self._profiles.append(hours)
        return self._profiles.index(hours)

    @cached_property
    def _weekday_profiles(self) -> dict[str, list[int]]:
        return {
            regime: [self._profile_number(table.get(weekday)) for weekday in range(7)]
            for regime, table in (("normal", self.settings.normal),
                                  ("ramadan", self.settings.ramadan or self.settings.normal))
        }

    def _ensure_days(self, first_day: int, last_day: int) -> None:
        """Make the table cover [first_day, last_day] (days since 1970, local), with margin."""
        with self._lock:
            self._grow(first_day, last_day)

    def _grow(self, first_day: int, last_day: int) -> None:
        have_first, have_profiles, _ = self._table
        have_last = have_first + len(have_profiles) - 1
        if len(have_profiles) and first_day >= have_first and last_day <= have_last:
            return
        if len(have_profiles):
            first_day, last_day = min(first_day, have_first), max(last_day, have_last)
        # Whole years from the anchor on, so a later call in the same years needs no rebuild.
        start = date(min(date.fromordinal(_EPOCH_ORDINAL + first_day).year, ANCHOR_DAY.year), 1, 1)
        end = date(max(date.fromordinal(_EPOCH_ORDINAL + last_day).year, ANCHOR_DAY.year), 12, 31)
        days = pd.date_range(start, end, freq="D")
        names = {d: n for d, n in national_holidays(start.year, end.year).items()
                 if d not in self.settings.removed_holidays}
        names.update(self.settings.added_holidays)
        self._holiday_names = names

        weekday = days.day_of_week.to_numpy()
        ramadan = np.zeros(len(days), dtype=bool)
        for period_start, period_end in self.settings.ramadan_periods:
            ramadan |= (days >= pd.Timestamp(period_start)) & (days <= pd.Timestamp(period_end))
        profile = np.where(
            ramadan,
            np.asarray(self._weekday_profiles["ramadan"])[weekday],
            np.asarray(self._weekday_profiles["normal"])[weekday],
        ).astype(np.int16)
        holiday = days.isin(pd.DatetimeIndex([pd.Timestamp(d) for d in names]))
        profile[holiday] = _NO_HOURS

        day_minutes = np.array([p.minutes for p in self._profiles] + [0], dtype=np.float64)
        cumulative = np.concatenate(([0.0], np.cumsum(day_minutes[profile])))
        self._table = (start.toordinal() - _EPOCH_ORDINAL, profile,
                       cumulative - cumulative[ANCHOR_DAY.toordinal() - start.toordinal()])

    # --- the clock ----------------------------------------------------------------------

    def clock(self, instants: object) -> np.ndarray:
        """W(t) in working minutes for each instant (NaT gives NaN)."""
        utc_ns = _as_utc_ns(instants)
        missing = utc_ns == np.iinfo(np.int64).min
        local_ns = np.where(missing, 0, utc_ns) + WIB_OFFSET.astype("timedelta64[ns]").astype(np.int64)
        day = np.floor_divide(local_ns, _DAY_NS)
        if len(day):
            present = day[~missing] if missing.any() else day
            if len(present):
                self._ensure_days(int(present.min()), int(present.max()))
        minute_of_day = (local_ns - day * _DAY_NS) / _MINUTE_NS
        first, profiles, cumulative = self._table
        index = np.clip(day - first, 0, len(profiles) - 1)
        profile = profiles[index] if len(profiles) else index
        result = cumulative[index] if len(profiles) else np.zeros(len(day))
        within = np.zeros(len(day))
        for number, hours in enumerate(self._profiles):
            mask = profile == number
            if mask.any():
                within[mask] = np.interp(minute_of_day[mask], *_profile_curve(hours))
        result = result + within
        return np.where(missing, np.nan, result)

    def working_minutes(self, start: object, end: object) -> np.ndarray:
        """Working minutes in [start, end) for each pair (0 when end <= start; NaN if either
        is missing)."""
        return np.maximum(self.clock(end) - self.clock(start), 0.0)

    def add_working_minutes(self, start: object, minutes: object) -> pd.DatetimeIndex:
        """The instant at which `minutes` working minutes after `start` have passed (UTC)."""
        return self.at_clock(self.clock(start) + np.asarray(minutes, dtype=np.float64))

    def at_clock(self, values: object) -> pd.DatetimeIndex:
        """The inverse of the clock: the first instant at which W reaches each value.

        It lands inside working hours (at the end of the last working minute), the way a due
        date is read.
        """
        target = np.atleast_1d(np.asarray(values, dtype=np.float64))
        if not len(self._table[1]):
            self._ensure_days(ANCHOR_DAY.toordinal() - _EPOCH_ORDINAL,
                              ANCHOR_DAY.toordinal() - _EPOCH_ORDINAL)
        # Make sure the table reaches far enough: a working day is at least an hour.
        while len(target) and self._table[2][-1] < np.nanmax(target):
            first, profiles, _ = self._table
            self._ensure_days(first, first + len(profiles) - 1 + 366)
        first, profiles, cumulative = self._table
        # Day whose cumulative start is < target and whose end is >= target, first such.
        day_index = np.searchsorted(cumulative, target, side="left") - 1
        day_index = np.clip(day_index, 0, len(profiles) - 1)
        remaining = target - cumulative[day_index]
        # side="left" keeps a target that falls exactly on a day's total in that day (at its
        # end time) rather than at the start of the next working day.
        profile = profiles[day_index]
        minute_of_day = np.zeros(len(target))
        for number, hours in enumerate(self._profiles):
            mask = profile == number
            if mask.any():
                morning = hours.break_start_minute - hours.start_minute
                done = remaining[mask]
                minute_of_day[mask] = np.where(
                    done <= morning,
                    hours.start_minute + done,
                    hours.break_end_minute + (done - morning),
                )
        local_ns = ((first + day_index) * _DAY_NS
                    + np.round(minute_of_day * _MINUTE_NS).astype(np.int64))
        utc_ns = local_ns - WIB_OFFSET.astype("timedelta64[ns]").astype(np.int64)
        return pd.DatetimeIndex(utc_ns.astype("datetime64[ns]"), tz="UTC")

    # --- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        number = day.toordinal() - _EPOCH_ORDINAL
        self._ensure_days(number, number)
        first, profiles, _ = self._table
        return bool(profiles[number - first] != _NO_HOURS)

    def holidays_between(self, first: date, last: date) -> list[tuple[date, str]]:
        """Holidays (national, cuti bersama and the admin's), minus those the admin removed."""
        self._ensure_days(first.toordinal() - _EPOCH_ORDINAL, last.toordinal() - _EPOCH_ORDINAL)
        return sorted((d, n) for d, n in self._holiday_names.items() if first <= d <= last)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _profile_curve(hours: DayHours) -> tuple[np.ndarray, np.ndarray]:
    """(minute of day, working minutes so far) breakpoints of a day's hours."""
    morning = hours.break_start_minute - hours.start_minute
    return (
        np.array([0, hours.start_minute, hours.break_start_minute, hours.break_end_minute,
                  hours.end_minute, 1440], dtype=np.float64),
        np.array([0, 0, morning, morning, hours.minutes, hours.minutes], dtype=np.float64),
    )


def default_settings() -> CalendarSettings:
    """The defaults of the first migration, for code that runs without a database."""
    normal = {day: DayHours(450, 720, 780, 960) for day in range(4)}
    normal[4] = DayHours(450, 690, 780, 990)
    ramadan = {day: DayHours(480, 720, 750, 900) for day in range(4)}
    ramadan[4] = DayHours(480, 690, 750, 930)
    return CalendarSettings(normal=normal, ramadan=ramadan)


def wib_months(instants_ns: np.ndarray) -> np.ndarray:
    """The WIB month each instant (epoch nanoseconds) falls in, as months since January 1970:
    the month whose first day's wib_midnight is the last at or before it."""
    local = instants_ns + WIB_OFFSET.astype("timedelta64[ns]").astype(np.int64)
    return local.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)


def wib_month_start_ns(month: int) -> int:
    """The instant (epoch nanoseconds) WIB month `month` (of wib_months) starts."""
    local = np.datetime64(int(month), "M").astype("datetime64[ns]").astype(np.int64)
    return int(local - WIB_OFFSET.astype("timedelta64[ns]").astype(np.int64))


def wib_midnight(day: date) -> datetime:
    """The instant a local (WIB) day starts, in UTC."""
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=7)
