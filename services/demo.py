"""A realistic, deterministic demo history for the five SOPs (`manage.py demo`).

The agency: a Sekretariat and four Bidang, one or two users for every role. The schedule:
Penyusunan LKj yearly (January, for the year before), Pengumpulan Data Kinerja and Monev
quarterly, e-Kinerja monthly, and a Perbaikan Data Kinerja whenever a Pengumpulan is returned.
Each visit's working time is drawn around its Mutu Baku (most within it, a tail of overruns,
the Kadis and Sekretaris a little slower), decision steps return now and then, a few events
are recorded after hours and a few cases are cancelled; cases still running at the end stay
open. The history is simulated in rounds (every running case advances one visit per round),
so the calendar arithmetic is one vectorised call per round, and the events then go through
the same replay as a CSV import: the demo obeys every workflow rule.

Deterministic for the same seed, years, scale and end time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import AppSetting, Case, Unit
from services.accounts import Actor, create_user, hash_password, require_admin
from services.calendar import WorkingCalendar, load_calendar_settings
from services.errors import InvalidInput
from services.formatting import MONTHS, WIB
from services.organisation import create_unit, multi_unit_ids
from services.workflow.engine import current_version_id, load_plan
from services.workflow.model import SopPlan, StepPlan
from services.workflow.replay import LogEvent, ReplayResult, replay

DEMO_PASSWORD = "demo-pantau-sop"
# The demo people's addresses are on a domain reserved for examples (RFC 2606): a digest sent
# from a demo database reaches nobody.
DEMO_MAIL_DOMAIN = "example.org"
DEMO_SETTING = "demo_dataset"
WORKDAY = 450

UNITS = [
    ("sekretariat", "Sekretariat", "sekretariat"),
    ("bidang-layanan", "Bidang Layanan dan Otomasi Perpustakaan", "bidang"),
    ("bidang-pengembangan", "Bidang Pengembangan dan Pembinaan Perpustakaan", "bidang"),
    ("bidang-arsip", "Bidang Pengelolaan Arsip", "bidang"),
    ("bidang-pembinaan-arsip", "Bidang Pembinaan Kearsipan", "bidang"),
]
# username, name, roles, unit, admin. Fictional people.
USERS = [
    ("kadis", "Dr. Hendra Saputra, M.Si.", ["Kadis"], "sekretariat", False),
    ("sekretaris", "Rina Marlina, S.E., M.M.", ["Sekretaris"], "sekretariat", False),
    ("fungsional", "Andi Pratama, S.Kom.", ["Fungsional"], "sekretariat", False),
    ("fungsional2", "Siti Rahmawati, S.A.P.", ["Fungsional"], "sekretariat", False),
    ("monev", "Yohanes Lim, S.E.", ["Pengelola Monev"], "sekretariat", False),
    ("arsiparis", "Dewi Lestari, A.Md.", ["Pengadministrasi"], "sekretariat", False),
    ("kabid.layanan", "Bambang Wijaya, S.Sos.", ["Bidang"], "bidang-layanan", False),
    ("kabid.pengembangan", "Nurhayati, S.IP.", ["Bidang"], "bidang-pengembangan", False),
    ("kabid.arsip", "Agus Setiawan, S.Hum.", ["Bidang"], "bidang-arsip", False),
    ("kabid.pembinaan", "Maria Ulfa, S.Kom.", ["Bidang"], "bidang-pembinaan-arsip", False),
    ("admin.demo", "Admin Demo", [], "sekretariat", True),
]
RETURN_REASONS = (
    "Data capaian indikator belum lengkap",
    "Lampiran bukti dukung belum dilampirkan",
    "Angka realisasi tidak sesuai dengan laporan Bidang",
    "Perbaiki format sesuai Permenpan-RB 53/2014",
    "Analisis capaian kinerja perlu diperdalam",
    "Masih ada salah ketik pada tabel capaian",
)
CANCEL_REASONS = ("Jadwal kegiatan diubah oleh Biro Organisasi",
                  "Digabung dengan kasus lain", "Permintaan data ditarik oleh Sekda")
# Share of visits within the Mutu Baku, per role: heads review among many other duties.
ON_TIME = {"Kadis": 0.68, "Sekretaris": 0.74}
ON_TIME_DEFAULT = 0.82
RETURN_CHANCE = (0.20, 0.10, 0.03)  # at a decision's first, second, later passes
CANCEL_CHANCE = 0.015
BEGIN_CHANCE = 0.35
AFTER_HOURS_CHANCE = 0.02
ON_BEHALF_CHANCE = 0.3
NO_TARGET_MINUTES = 60.0


@dataclass(frozen=True)
class DemoResult:
    cases: int
    events: int
    users: int


@dataclass
class _Slot:
    """A case to simulate: its SOP, title, period, start and (Monev) planned meeting."""

    sop: str
    title: str
    period: str
    start_ns: int
    meeting_ns: int | None = None


def load_demo(session: Session, *, actor: Actor, seed: int, years: int = 2, scale: int = 1,
              until: datetime | None = None, now: datetime,
              progress: Callable[[str, float], None] | None = None) -> DemoResult:
    """Fill an empty database with the demo agency and its history (one transaction)."""
    require_admin(actor)
    if not 1 <= years <= 10 or not 1 <= scale <= 10_000:
        raise InvalidInput("Data demo: years 1-10 dan scale 1-10000.")
    if session.scalar(select(func.count()).select_from(Case)):
        raise InvalidInput("Basis data sudah berisi kasus; data demo hanya untuk basis data baru.")
    report = progress or (lambda _label, _share: None)
    until = (until or now).astimezone(UTC).replace(second=0, microsecond=0)
    report("Membuat unit dan pengguna demo", 0.02)
    users = create_demo_people(session, actor=actor, now=now)
    calendar = WorkingCalendar(load_calendar_settings(session))
    plans = {code: load_plan(session, version_id=current_version_id(session, sop_code=code))
             for code in ("penyusunan-lkj", "pengumpulan-data-kinerja", "perbaikan-data-kinerja",
                          "e-kinerja", "monev-kinerja-periodik")}
    bidang = list(session.scalars(select(Unit.code).where(Unit.id.in_(multi_unit_ids(session)))
                                  .order_by(Unit.id)))
    report("Mensimulasikan riwayat kasus", 0.1)
    simulator = _Simulator(np.random.default_rng(seed), calendar, plans, users, bidang,
                           until_ns=pd.Timestamp(until).value)
    events = simulator.run(_slots(calendar, years=years, scale=scale, until=until,
                                  rng=np.random.default_rng(seed + 1)))
    report(f"Memeriksa dan menyimpan {len(events):,} kejadian".replace(",", "."), 0.5)
    result: ReplayResult = replay(session, events=events, actor=actor, now=max(now, until))
    session.merge(AppSetting(key=DEMO_SETTING, updated_at=now, value={
        "seed": seed, "years": years, "scale": scale, "until": until.isoformat(),
        "password": DEMO_PASSWORD, "usernames": [u[0] for u in USERS]}))
    report("Selesai", 1.0)
    return DemoResult(cases=result.cases, events=result.events, users=len(USERS))


def demo_info(session: Session) -> dict | None:
    """What the login page tells about a demo database (None for a real one)."""
    setting = session.get(AppSetting, DEMO_SETTING)
    return setting.value if setting is not None else None


def create_demo_people(session: Session, *, actor: Actor,
                       now: datetime) -> dict[str, list[str]]:
    """The demo's units and accounts (password DEMO_PASSWORD), usernames by role: also for a
    database filled from an exported demo log (the bench on PostgreSQL), so its people can
    sign in and the log's performers are theirs."""
    existing = set(session.scalars(select(Unit.code)))
    for code, name, kind in UNITS:
        if code not in existing:
            create_unit(session, actor=actor, code=code, name=name, kind=kind, now=now)
    shared_hash = hash_password(DEMO_PASSWORD)  # one hash: bcrypt is slow on purpose
    by_role: dict[str, list[str]] = {}
    for username, full_name, roles, unit, is_admin in USERS:
        create_user(session, actor=actor, username=username, full_name=full_name, password="",
                    roles=roles, unit_code=unit, is_admin=is_admin, is_demo=True, now=now,
                    password_hash=shared_hash, email=f"{username}@{DEMO_MAIL_DOMAIN}")
        for role in roles:
            by_role.setdefault(role, []).append(username)
    return by_role


# --- the schedule ---------------------------------------------------------------------------


def _at_working_time(calendar: WorkingCalendar, day: date, rng: np.random.Generator,
                     spread_days: float = 0.0) -> int:
    """A working instant on or after `day` (08:00 plus some jitter), as UTC nanoseconds."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=7)
    minutes = 30 + rng.uniform(0, 120) + rng.uniform(0, spread_days * WORKDAY)
    return int(calendar.add_working_minutes([start], [minutes]).as_unit("ns").asi8[0])


def _slots(calendar: WorkingCalendar, *, years: int, scale: int, until: datetime,
           rng: np.random.Generator) -> list[_Slot]:
    first = date(until.year - years, until.month, 1)
    slots: list[_Slot] = []
    months = pd.date_range(first, until.date(), freq="MS")
    for replica in range(scale):
        suffix = f" #{replica + 1}" if scale > 1 else ""
        for month in months:
            year, number = month.year, month.month
            slots.append(_Slot("e-kinerja", f"e-Kinerja Bulan {MONTHS[number - 1]} {year}{suffix}",
                               f"{year}-{number:02d}",
                               _at_working_time(calendar, month.date(), rng, 3)))
            if number == 1:
                slots.append(_Slot("penyusunan-lkj", f"Penyusunan LKj Tahun {year - 1}{suffix}",
                                   str(year - 1),
                                   _at_working_time(calendar, date(year, 1, 12), rng, 3)))
            if number in (1, 4, 7, 10):
                quarter = (number - 1) // 3 or 4
                q_year = year if number != 1 else year - 1
                slots.append(_Slot("pengumpulan-data-kinerja",
                                   f"Pengumpulan Data Kinerja Triwulan {quarter} {q_year}{suffix}",
                                   f"{q_year}-T{quarter}",
                                   _at_working_time(calendar, month.date() + timedelta(days=6),
                                                    rng, 3)))
                start = _at_working_time(calendar, month.date() + timedelta(days=14), rng, 3)
                meeting = int(calendar.add_working_minutes(
                    np.array([start]), [WORKDAY * rng.uniform(7, 10)]).as_unit("ns").asi8[0])
                slots.append(_Slot("monev-kinerja-periodik",
                                   f"Monev Kinerja Triwulan {quarter} {q_year}{suffix}",
                                   f"{q_year}-T{quarter}", start, meeting))
        slots += _in_progress(calendar, until=until, rng=rng, suffix=suffix)
    return [slot for slot in slots if slot.start_ns < pd.Timestamp(until).value]


def _in_progress(calendar: WorkingCalendar, *, until: datetime, rng: np.random.Generator,
                 suffix: str) -> list[_Slot]:
    """Work started in the last few working days, so the history ends mid-flight: ad-hoc data
    requests of the Biro Organisasi besides the schedule."""
    month = f"{MONTHS[until.astimezone(WIB).month - 1]} {until.astimezone(WIB).year}"
    period = f"{until.year}-{until.month:02d}"
    slots = []
    for code, title, back_days in (
        ("pengumpulan-data-kinerja", f"Permintaan Data Kinerja Biro Organisasi {month}", 2.5),
        ("e-kinerja", f"e-Kinerja: data susulan {month}", 1.5),
        ("monev-kinerja-periodik", f"Monev Kinerja Tematik {month}", 4.0),
        ("penyusunan-lkj", f"Reviu LKj oleh Inspektorat {month}", 5.0),
    ):
        back = WORKDAY * rng.uniform(0.2, back_days)
        start = int(calendar.at_clock(calendar.clock([until]) - back).as_unit("ns").asi8[0])
        meeting = None
        if code == "monev-kinerja-periodik":
            meeting = int(calendar.add_working_minutes(
                np.array([start]), [WORKDAY * rng.uniform(3, 6)]).as_unit("ns").asi8[0])
        slots.append(_Slot(code, title + suffix, period, start, meeting))
    return slots


# --- the simulation -------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(ns: int) -> datetime:
    """Whole seconds, floored: people record minutes, and flooring keeps the order of events."""
    return _EPOCH + timedelta(seconds=ns // 1_000_000_000)


@dataclass
class _Case:
    slot: _Slot
    ref: str
    plan: SopPlan
    seq: int = 1
    t: int = 0
    passes: dict[int, int] = field(default_factory=dict)
    done: bool = False


class _Simulator:
    def __init__(self, rng: np.random.Generator, calendar: WorkingCalendar,
                 plans: dict[str, SopPlan], users: dict[str, list[str]], bidang: list[str],
                 *, until_ns: int) -> None:
        self.rng, self.calendar, self.plans = rng, calendar, plans
        self.users, self.bidang, self.until_ns = users, bidang, until_ns
        # Each Bidang's head submits for it; a unit the demo did not create uses any Bidang user.
        heads = {unit: name for name, _, roles, unit, _ in USERS if roles == ["Bidang"]}
        self.heads = [heads.get(unit, users["Bidang"][0]) for unit in bidang]
        self.events: list[LogEvent] = []
        self.counter: dict[str, int] = {}

    def _ref(self, code: str, start_ns: int) -> str:
        year = pd.Timestamp(start_ns, tz="UTC").tz_convert("Asia/Pontianak").year
        key = f"{code}-{year}"
        self.counter[key] = self.counter.get(key, 0) + 1
        return f"{key}-{self.counter[key]:03d}"

    def run(self, slots: list[_Slot]) -> list[LogEvent]:
        # Pengumpulan first: its returns start the Perbaikan cases.
        order = ("pengumpulan-data-kinerja", "perbaikan-data-kinerja", "penyusunan-lkj",
                 "e-kinerja", "monev-kinerja-periodik")
        spawned: list[_Slot] = []
        for code in order:
            own = sorted((s for s in slots if s.sop == code), key=lambda s: s.start_ns)
            if code == "perbaikan-data-kinerja":
                own = sorted(spawned, key=lambda s: s.start_ns)
            spawned += self._simulate(code, own)
        return self.events

    def _who(self, role: str) -> str:
        people = self.users.get(role, [])
        return people[int(self.rng.integers(len(people)))] if people else ""

    def _emit(self, case: _Case, kind: str, at_ns: int, seq: int | None = None, *,
              role: str | None = None, unit: str | None = None, performer: str | None = None,
              note: str | None = None, **extra: Any) -> bool:
        """Record an event unless it falls after the end of the history."""
        if at_ns > self.until_ns:
            case.done = True
            return False
        recorder = performer
        # A cancellation is its decider's own act (only they, or whoever started the case,
        # may cancel), so it is never recorded on someone's behalf.
        if performer and kind not in ("start", "cancel") and self.rng.random() < ON_BEHALF_CHANCE:
            recorder = self._who("Fungsional")
        self.events.append(LogEvent(
            line=len(self.events) + 2, case_ref=case.ref, sop_code=case.plan.code,
            sop_version=None, seq=seq, kind=kind,
            at=_instant(at_ns), performer_role=role, unit=unit,
            performer=performer or None, recorded_by=recorder or None, note=note, **extra))
        return True

    def _simulate(self, code: str, slots: list[_Slot]) -> list[_Slot]:
        plan = self.plans[code]
        spawned: list[_Slot] = []
        cases = []
        for slot in slots:
            case = _Case(slot, self._ref(code, slot.start_ns), plan, t=slot.start_ns, passes={})
            schedule = {}
            if slot.meeting_ns is not None:
                schedule = {s.seq: _instant(slot.meeting_ns)
                            for s in plan.steps if s.target_kind == "schedule"}
            starter = "fungsional" if plan.step(1).role != "Fungsional" else self._who("Fungsional")
            if self._emit(case, "start", slot.start_ns, role="Fungsional", performer=starter,
                          title=slot.title, period_label=slot.period, schedule=schedule):
                cases.append(case)
        while cases := [c for c in cases if not c.done]:
            self._round(plan, cases, spawned)
        return spawned

    def _durations(self, steps: list, cases: list[_Case]) -> np.ndarray:
        n = len(cases)
        target = np.array([
            s.target_minutes if s.target_minutes is not None else np.nan for s in steps], dtype=float)
        scheduled = np.array([s.target_kind == "schedule" for s in steps])
        if scheduled.any():
            index = np.flatnonzero(scheduled)
            meeting = np.array([cases[i].slot.meeting_ns or cases[i].t for i in index], dtype=np.int64)
            now = np.array([cases[i].t for i in index], dtype=np.int64)
            target[index] = np.maximum(self.calendar.working_minutes(now, meeting), 30.0)
        target = np.where(np.isnan(target), NO_TARGET_MINUTES, target)
        on_time = np.array([ON_TIME.get(s.role, ON_TIME_DEFAULT) for s in steps])
        within = self.rng.random(n) < on_time
        share_within = 0.25 + 0.75 * self.rng.beta(3.0, 1.6, n)
        share_over = 1.0 + np.exp(self.rng.normal(np.log(0.5), 0.8, n))
        return np.maximum(target * np.where(within, share_within, share_over), 2.0)

    def _later(self, start: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        ends = self.calendar.add_working_minutes(start, minutes).as_unit("ns").asi8
        # A few events are written up after hours (the same evening): no extra working time.
        late = self.rng.random(len(ends)) < AFTER_HOURS_CHANCE
        if late.any():
            local = ends[late] + 7 * 3_600_000_000_000
            midnight = local - local % 86_400_000_000_000
            evening = midnight + (17 * 60 + self.rng.integers(0, 150, late.sum())) * 60_000_000_000
            ends[late] = np.maximum(ends[late], evening - 7 * 3_600_000_000_000)
        return ends

    def _round(self, plan: SopPlan, cases: list[_Case], spawned: list[_Slot]) -> None:
        steps = [plan.step(case.seq) for case in cases]
        start = np.array([case.t for case in cases], dtype=np.int64)
        ends = self._later(start, self._durations(steps, cases))
        begins = self.calendar.add_working_minutes(
            start, self.rng.uniform(0.05, 0.3, len(cases)) *
            self.calendar.working_minutes(start, ends)).as_unit("ns").asi8
        begin_draw = self.rng.random(len(cases))
        decision_draw = self.rng.random(len(cases))
        cancel_draw = self.rng.random(len(cases))
        for i, (case, step) in enumerate(zip(cases, steps, strict=True)):
            performer = self._who(step.role)
            if cancel_draw[i] < CANCEL_CHANCE / len(plan.steps):
                reason = CANCEL_REASONS[int(self.rng.integers(len(CANCEL_REASONS)))]
                self._emit(case, "cancel", int(begins[i]), role="Sekretaris",
                           performer=self._who("Sekretaris"), note=reason)
                case.done = True
                continue
            if step.multi_unit:
                self._submit_units(case, step, int(start[i]))
                continue
            if begin_draw[i] < BEGIN_CHANCE and begins[i] < ends[i]:
                if not self._emit(case, "begin", int(begins[i]), step.seq, role=step.role,
                                  performer=performer):
                    continue
            pass_no = case.passes.get(step.seq, 0) + 1
            case.passes[step.seq] = pass_no
            if step.is_decision:
                returned = decision_draw[i] < RETURN_CHANCE[min(pass_no, 3) - 1]
                kind = "return" if returned else "approve"
                note = (RETURN_REASONS[int(self.rng.integers(len(RETURN_REASONS)))]
                        if returned else None)
                if not self._emit(case, kind, int(ends[i]), step.seq, role=step.role,
                                  performer=performer, note=note):
                    continue
                target = step.return_seq if returned else step.approve_seq
                assert target is not None  # a decision step has both
                case.seq = target
                if returned and plan.code == "pengumpulan-data-kinerja":
                    spawned.append(self._perbaikan_for(case, int(ends[i])))
            else:
                if not self._emit(case, "complete", int(ends[i]), step.seq, role=step.role,
                                  performer=performer):
                    continue
                case.seq = step.seq + 1
            case.t = int(ends[i])
            if case.seq > len(plan.steps):
                case.done = True

    def _submit_units(self, case: _Case, step: StepPlan, start_ns: int) -> None:
        """Every Bidang submits in its own time; the step ends with the last one."""
        heads = self.heads
        steps = [step] * len(self.bidang)
        ends = self._later(np.full(len(self.bidang), start_ns, dtype=np.int64),
                           self._durations(steps, [case] * len(self.bidang)))
        for index in np.argsort(ends, kind="stable"):
            if not self._emit(case, "complete", int(ends[index]), step.seq, role=step.role,
                              unit=self.bidang[index], performer=heads[index]):
                return
        case.passes[step.seq] = case.passes.get(step.seq, 0) + 1
        case.seq, case.t = step.seq + 1, int(ends.max())

    def _perbaikan_for(self, case: _Case, returned_ns: int) -> _Slot:
        start = int(self.calendar.add_working_minutes(
            np.array([returned_ns]), [self.rng.uniform(60, 600)]).as_unit("ns").asi8[0])
        title = case.slot.title.replace("Pengumpulan Data Kinerja", "Perbaikan Data Kinerja")
        self.counter[f"perbaikan:{case.ref}"] = number = self.counter.get(f"perbaikan:{case.ref}", 0) + 1
        if number > 1:
            title += f" (pengembalian ke-{number})"
        return _Slot("perbaikan-data-kinerja", title, case.slot.period, start)
