"""The admin's side of the working calendar: holidays added or removed, Ramadan periods,
working hours (docs/design.md, "Working time")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from db.engine import affected_rows
from db.models import HolidayOverride, RamadanPeriod, WorkHours
from services.accounts import Actor, require_admin
from services.calendar import DayHours, WorkingCalendar, load_calendar_settings
from services.errors import InvalidInput, NotFound
from services.workflow.model import checked_name

WEEKDAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


@dataclass(frozen=True)
class HolidayView:
    day: date
    name: str
    source: str  # "nasional" | "ditambah admin" | "dihapus admin"


def holidays_of_year(session: Session, *, year: int) -> list[HolidayView]:
    """National holidays and cuti bersama of the year, with the admin's changes."""
    settings = load_calendar_settings(session)
    national = dict(WorkingCalendar(settings.__class__(normal=settings.normal))
                    .holidays_between(date(year, 1, 1), date(year, 12, 31)))
    views = [HolidayView(day, name, "dihapus admin" if day in settings.removed_holidays
                         else "nasional") for day, name in national.items()]
    views += [HolidayView(day, name, "ditambah admin")
              for day, name in settings.added_holidays.items() if day.year == year]
    return sorted(views, key=lambda view: view.day)


def add_holiday(session: Session, *, actor: Actor, day: date, name: str, now: datetime) -> None:
    require_admin(actor)
    existing = session.get(HolidayOverride, day)
    if existing is not None and existing.kind == "add":
        raise InvalidInput(f"{day:%d-%m-%Y} sudah menjadi hari libur tambahan.")
    if existing is not None:
        session.delete(existing)  # the national holiday it removed comes back
        session.flush()
        return
    session.add(HolidayOverride(day=day, kind="add", name=checked_name(name, what="Nama hari libur"),
                                created_at=now, created_by_user_id=actor.user_id))
    session.flush()


def remove_holiday(session: Session, *, actor: Actor, day: date, now: datetime) -> None:
    """Make a holiday a working day: drop the admin's own, or override a national one."""
    require_admin(actor)
    existing = session.get(HolidayOverride, day)
    if existing is not None and existing.kind == "add":
        session.delete(existing)
        session.flush()
        return
    if existing is not None:
        raise InvalidInput(f"{day:%d-%m-%Y} sudah dijadikan hari kerja.")
    national = dict(WorkingCalendar(load_calendar_settings(session))
                    .holidays_between(day, day))
    if day not in national:
        raise NotFound(f"{day:%d-%m-%Y} bukan hari libur.")
    session.add(HolidayOverride(day=day, kind="remove", name=national[day], created_at=now,
                                created_by_user_id=actor.user_id))
    session.flush()


def ramadan_periods(session: Session) -> list[RamadanPeriod]:
    return list(session.scalars(select(RamadanPeriod).order_by(RamadanPeriod.start_day)))


def add_ramadan_period(session: Session, *, actor: Actor, start: date, end: date,
                       label: str) -> None:
    require_admin(actor)
    if end < start or (end - start).days > 40:
        raise InvalidInput("Periode Ramadan: tanggal akhir setelah tanggal awal, paling lama "
                           "40 hari.")
    for period in ramadan_periods(session):
        if period.start_day <= end and start <= period.end_day:
            raise InvalidInput(f"Bertumpang tindih dengan periode '{period.label}'.")
    label = label.strip() or f"Ramadan {start.year}"
    session.add(RamadanPeriod(start_day=start, end_day=end, label=label[:80]))
    session.flush()


def delete_ramadan_period(session: Session, *, actor: Actor, period_id: int) -> None:
    require_admin(actor)
    if affected_rows(session, delete(RamadanPeriod).where(RamadanPeriod.id == period_id)) != 1:
        raise NotFound("Periode Ramadan tidak ditemukan.")


def set_work_hours(session: Session, *, actor: Actor, regime: str, weekday: int,
                   hours: DayHours | None) -> None:
    """Working hours of a weekday (None: not a working day)."""
    require_admin(actor)
    if regime not in ("normal", "ramadan") or not 0 <= weekday <= 6:
        raise InvalidInput("Hari atau rezim jam kerja tidak dikenal.")
    session.execute(delete(WorkHours).where(WorkHours.regime == regime,
                                            WorkHours.weekday == weekday))
    if hours is not None:
        if not (0 <= hours.start_minute <= hours.break_start_minute <= hours.break_end_minute
                <= hours.end_minute <= 1440) or hours.minutes <= 0:
            raise InvalidInput(f"Jam kerja {WEEKDAYS[weekday]} tidak runtut: mulai <= "
                               "istirahat <= selesai istirahat <= pulang.")
        session.add(WorkHours(regime=regime, weekday=weekday, start_minute=hours.start_minute,
                              break_start_minute=hours.break_start_minute,
                              break_end_minute=hours.break_end_minute,
                              end_minute=hours.end_minute))
    session.flush()
