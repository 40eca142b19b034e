"""Reporting periods in WIB: a month, a quarter, a semester, a year, or a range of dates,
written in links and on the command line as 2026-07, 2026-Q3, 2026-S1, 2026 or
2026-07-01_2026-09-30 (docs/design.md, "Periods and as-of")."""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.calendar import wib_midnight
from services.formatting import MONTHS, MONTHS_SHORT, WIB

Period = tuple[datetime, datetime]

QUARTERS = ("I", "II", "III", "IV")
PERIOD_KINDS = {"bulan": "Bulan", "triwulan": "Triwulan", "semester": "Semester",
                "tahun": "Tahun", "khusus": "Rentang tanggal"}


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChoice:
    """A reporting period in WIB: a month, a quarter, a year, or a range of dates."""

    kind: str
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "bulan":
            return f"{MONTHS[self.first.month - 1]} {self.first.year}"
        if self.kind == "triwulan":
            return f"Triwulan {QUARTERS[(self.first.month - 1) // 3]} {self.first.year}"
        if self.kind == "semester":
            return f"Semester {QUARTERS[(self.first.month - 1) // 6]} {self.first.year}"
        if self.kind == "tahun":
            return f"Tahun {self.first.year}"
        return (f"{self.first.day} {MONTHS_SHORT[self.first.month - 1]} {self.first.year} – "
                f"{self.last.day} {MONTHS_SHORT[self.last.month - 1]} {self.last.year}")

    @property
    def text(self) -> str:
        """As it goes into a link (?periode=...)."""
        if self.kind == "bulan":
            return f"{self.first:%Y-%m}"
        if self.kind == "triwulan":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == "semester":
            return f"{self.first.year}-S{(self.first.month - 1) // 6 + 1}"
        if self.kind == "tahun":
            return f"{self.first.year}"
        return f"{self.first:%Y-%m-%d}_{self.last:%Y-%m-%d}"

    def bounds(self) -> Period:
        return wib_midnight(self.first), wib_midnight(self.last + timedelta(days=1))

    def previous(self) -> PeriodChoice:
        if self.kind == "bulan":
            return month(shift_months(self.first, -1))
        if self.kind == "triwulan":
            return quarter(shift_months(self.first, -3))
        if self.kind == "semester":
            return semester(shift_months(self.first, -6))
        if self.kind == "tahun":
            return year(self.first.year - 1)
        length = self.last - self.first
        return PeriodChoice("khusus", self.first - length - timedelta(days=1),
                            self.first - timedelta(days=1))

    def months(self) -> list[PeriodChoice]:
        """The months the period spans."""
        result, current = [], date(self.first.year, self.first.month, 1)
        while current <= self.last:
            result.append(month(current))
            current = shift_months(current, 1)
        return result

    def chart_months(self) -> list[PeriodChoice]:
        """The months of a month-by-month chart: the period's own, or, for a period shorter
        than three months, the six months that end with it (a trend needs a few points)."""
        own = self.months()
        if len(own) >= 3:
            return own
        return [month(shift_months(self.first, -i)) for i in range(5, -1, -1)]

    @property
    def short_label(self) -> str:
        """"Jan 2026" for a month (chart axes)."""
        return f"{MONTHS_SHORT[self.first.month - 1]} {self.first.year}"


def shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month(day: date) -> PeriodChoice:
    last = month_calendar.monthrange(day.year, day.month)[1]
    return PeriodChoice("bulan", date(day.year, day.month, 1), date(day.year, day.month, last))


def quarter(day: date) -> PeriodChoice:
    start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    end = shift_months(start, 3) - timedelta(days=1)
    return PeriodChoice("triwulan", start, end)


def semester(day: date) -> PeriodChoice:
    """January-June or July-December: PermenPAN-RB 35/2012 asks for monitoring at least every
    six months."""
    start = date(day.year, 1 if day.month <= 6 else 7, 1)
    return PeriodChoice("semester", start, shift_months(start, 6) - timedelta(days=1))


def year(number: int) -> PeriodChoice:
    return PeriodChoice("tahun", date(number, 1, 1), date(number, 12, 31))


def read_period(text: str) -> PeriodChoice | None:
    """A period written as 2026-07, 2026-Q3, 2026-S2, 2026 or 2026-07-01_2026-09-30; None when
    the text is none of these."""
    text = text.strip()
    try:
        if "_" in text:
            first, last = (date.fromisoformat(part) for part in text.split("_", 1))
            return PeriodChoice("khusus", first, last) if first <= last else None
        for marker, build, length in (("-Q", quarter, 3), ("-S", semester, 6)):
            if marker in text:
                year_text, number = text.split(marker)
                count = 12 // length
                if not 1 <= int(number) <= count:
                    return None
                return build(date(int(year_text), (int(number) - 1) * length + 1, 1))
        if len(text) == 7:
            return month(date.fromisoformat(f"{text}-01"))
        if len(text) == 4 and text.isdigit():
            return year(int(text))
    except ValueError:
        pass
    return None


def parse_period(text: str | None, *, today: date) -> PeriodChoice:
    """A period from a link; anything unreadable gives the current quarter."""
    return read_period(text or "") or quarter(today)


def today_wib(now: datetime) -> date:
    return now.astimezone(WIB).date()
