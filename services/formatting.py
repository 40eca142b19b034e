"""Indonesian display formats ("23 Nov 2026 14.05 WIB"), shared by pages and reports."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Pontianak")
# Years a recorded time can have: far outside these a datetime overflows when moved to UTC or
# WIB, and PostgreSQL would store years before Christ that Python cannot read back.
FIRST_YEAR, LAST_YEAR = 1900, 9000
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")

# The words for the SLA states of metrics.SLA_STATES (pages add symbols and colours).
SLA_LABELS = {"on_time": "Tepat waktu", "at_risk": "Berisiko", "overdue": "Terlambat",
              "no_target": "Tanpa target"}


def parse_timestamp(text: str) -> datetime:
    """ISO 8601, in the years FIRST_YEAR to LAST_YEAR; a timestamp without an offset is WIB.
    Here, not in services.eventlog, so `manage.py --as-of` reads one without loading the
    event-log machinery."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"year {value.year} out of range")
    return value if value.tzinfo is not None else value.replace(tzinfo=WIB)


def format_wib(instant: datetime) -> str:
    """An instant as "20 Nov 2026 14.05 WIB"."""
    local = instant.astimezone(WIB)
    return f"{format_day(local.date())} {local:%H.%M} WIB"


def format_number(value: float | None, *, digits: int = 0) -> str:
    """A number as written in Indonesian: 1234.5 -> "1.234,5"; "–" when there is none."""
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def format_percent(value: float | None, *, digits: int = 1) -> str:
    """A share as "63,6%"; "–" when there is none."""
    if value is None or value != value:
        return "–"
    return f"{format_number(value * 100, digits=digits)}%"


def format_day(day: date) -> str:
    """A date as "20 Nov 2026"."""
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {day.year}"


def format_minutes(minutes: float | None) -> str:
    """Working minutes as "1 hari 2 jam 5 menit" (a working day is 450 minutes); "–" when
    there are none."""
    if minutes is None or minutes != minutes:
        return "–"
    from services.catalog.waktu import WORKDAY_MINUTES

    total = round(minutes)
    days, rest = divmod(total, WORKDAY_MINUTES)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} hari" if days else "", f"{hours} jam" if hours else "",
             f"{mins} menit" if mins or not (days or hours) else ""]
    return " ".join(part for part in parts if part)


def age_against_target(age: float, target: float | None) -> str:
    """The age of open work against its target: "32 menit dari target 15 menit"."""
    if target is None:
        return f"{format_minutes(age)} (tanpa target)"
    return f"{format_minutes(age)} dari target {format_minutes(target)}"
