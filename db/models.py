"""SQLAlchemy 2 typed models.

Three groups of tables:

- the catalog (sop, sop_version, sop_lane, step, role), loaded from `sops/*.yaml`; a changed
  file becomes a new sop_version and a case keeps the version it started on;
- the work (sop_case, visit, visit_unit, case_schedule, event): `event` is the append-only
  audit trail, `visit` the projection of it that metrics read (one row per activation of a
  step), both written by the workflow engine in the same transaction;
- the organisation (unit, app_user, user_role) and the working calendar (work_hours,
  holiday_override, ramadan_period), plus app_setting for small admin settings;
- what the overdue digest sent (notification_sent), so a run never mails an item twice a day.

Every instant is a `UTCDateTime` (naive UTC in the database, aware in Python).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TARGET_KINDS = ("minutes", "schedule", "none")
CASE_STATUSES = ("active", "completed", "cancelled")
# "closed" ends a visit that was still open when its case was cancelled: not measured.
VISIT_OUTCOMES = ("complete", "approve", "return", "closed")
EVENT_KINDS = ("start", "begin", "complete", "approve", "return", "cancel", "correction")
HOLIDAY_OVERRIDE_KINDS = ("add", "remove")
REVIEW_KINDS = ("monitoring", "evaluasi")
WORK_REGIMES = ("normal", "ramadan")
# Where a catalog version came from: a reviewed file in sops/, or published on the Impor SOP page.
SOP_ORIGINS = ("file", "app")


# The overdue digest (docs/deploy.md, "Notifications"): a holder's own items, a head's summary.
NOTIFICATION_KINDS = ("tugas", "ringkasan")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


# --- catalog -----------------------------------------------------------------------------


class Role(Base):
    """A Pelaksana (swimlane), shared by every SOP that names it."""

    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class Sop(Base):
    __tablename__ = "sop"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    versions: Mapped[list[SopVersion]] = relationship(
        back_populates="sop", order_by="SopVersion.version"
    )


class SopVersion(Base):
    __tablename__ = "sop_version"
    __table_args__ = (UniqueConstraint("sop_id", "version"),
                      CheckConstraint(_in("origin", SOP_ORIGINS), name="origin"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    # sha256 of the normalised definition: an unchanged file loads as a no-op.
    content_hash: Mapped[str] = mapped_column(String(64))
    # Identity block (Nomor SOP, tanggal, pengesah, dasar hukum, ...), as in the YAML file.
    identity: Mapped[dict[str, Any]]
    source_path: Mapped[str] = mapped_column(String(300))
    loaded_at: Mapped[datetime]
    # "app" versions are not undone by the next `init`: a file counts as changed only against
    # the last version loaded from a file (docs/catalog.md, "Two ways in").
    origin: Mapped[str] = mapped_column(String(10), default="file", server_default="file")
    published_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    sop: Mapped[Sop] = relationship(back_populates="versions")
    lanes: Mapped[list[SopLane]] = relationship(order_by="SopLane.position")
    steps: Mapped[list[Step]] = relationship(order_by="Step.seq")


class SopLane(Base):
    __tablename__ = "sop_lane"

    sop_version_id: Mapped[int] = mapped_column(ForeignKey("sop_version.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))

    role: Mapped[Role] = relationship()


class Step(Base):
    __tablename__ = "step"
    __table_args__ = (
        UniqueConstraint("sop_version_id", "seq"),
        CheckConstraint(_in("target_kind", TARGET_KINDS), name="target_kind"),
        CheckConstraint(
            "(target_kind = 'minutes') = (target_minutes IS NOT NULL)", name="target_minutes"
        ),
        CheckConstraint("(approve_seq IS NULL) = (return_seq IS NULL)", name="decision_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_version_id: Mapped[int] = mapped_column(ForeignKey("sop_version.id"), index=True)
    seq: Mapped[int]
    # The step's label: the number printed in the source table, made unique where the table
    # repeats a number or leaves a row unnumbered (definition.step_labels; migration 0003).
    label: Mapped[str | None] = mapped_column(String(20))
    # The number as printed ("10" twice, gaps, one row unnumbered), as the catalog file says.
    printed_label: Mapped[str | None] = mapped_column(String(20))
    activity: Mapped[str] = mapped_column(Text)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    kelengkapan: Mapped[str] = mapped_column(Text, default="")
    waktu: Mapped[str] = mapped_column(String(120), default="")
    target_kind: Mapped[str] = mapped_column(String(10))
    target_minutes: Mapped[int | None]
    output: Mapped[str] = mapped_column(Text, default="")
    ket: Mapped[str] = mapped_column(Text, default="")
    approve_seq: Mapped[int | None]
    return_seq: Mapped[int | None]
    multi_unit: Mapped[bool] = mapped_column(Boolean, default=False)
    interpretation_note: Mapped[str | None] = mapped_column(Text)

    role: Mapped[Role] = relationship()


# --- organisation ------------------------------------------------------------------------


class Unit(Base):
    """An organisational unit: the Sekretariat, each Bidang, ..."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="bidang")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # May record steps on behalf of another role (Fungsional by default, and admins).
    is_recorder: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # Set by an admin: the overdue digest is not mailed to this user (migration 0006).
    email_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    unit: Mapped[Unit | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary="user_role", order_by="Role.name")


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"), primary_key=True)


# --- work --------------------------------------------------------------------------------


class Case(Base):
    """One run of an SOP, e.g. "Penyusunan LKj Tahun 2025"."""

    __tablename__ = "sop_case"
    __table_args__ = (CheckConstraint(_in("status", CASE_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The case's public identifier (event-log case_id), unique across the database.
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    sop_version_id: Mapped[int] = mapped_column(ForeignKey("sop_version.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    title: Mapped[str] = mapped_column(String(200))
    period_label: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Number of the last event: the next event takes last_event_no + 1, and the unique
    # (case_id, event_no) of `event` makes the database refuse the loser of a race.
    last_event_no: Mapped[int] = mapped_column(Integer, default=0)
    # When the last event happened: a new event may not be dated before it.
    last_event_at: Mapped[datetime]

    sop_version: Mapped[SopVersion] = relationship()


class CaseSchedule(Base):
    """Due date of a "Sesuai jadwal yang telah ditentukan" step, set when the case starts."""

    __tablename__ = "case_schedule"

    case_id: Mapped[int] = mapped_column(ForeignKey("sop_case.id"), primary_key=True)
    step_seq: Mapped[int] = mapped_column(primary_key=True)
    due_at: Mapped[datetime]


class Visit(Base):
    """One activation of a step within a case (a return activates its target again)."""

    __tablename__ = "visit"
    __table_args__ = (
        CheckConstraint(
            f"outcome IS NULL OR {_in('outcome', VISIT_OUTCOMES)}", name="outcome"
        ),
        CheckConstraint("(ended_at IS NULL) = (outcome IS NULL)", name="ended_has_outcome"),
        # At most one open visit per case: SOPs are sequential, so a second open visit can
        # only come from a lost race.
        Index(
            "uq_visit_open_per_case",
            "case_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_visit_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sop_case.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id"), index=True)
    seq: Mapped[int]
    # 1 for the first visit of this step in the case, 2 after one return, ...
    pass_no: Mapped[int] = mapped_column(Integer, default=1)
    available_at: Mapped[datetime]
    begun_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(10))
    # Snapshot of the target when the visit opened (minutes, or the scheduled due date).
    target_minutes: Mapped[int | None]
    due_at: Mapped[datetime | None]
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    performer_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    step: Mapped[Step] = relationship()


class VisitUnit(Base):
    """A unit that must submit before a multi-unit visit completes."""

    __tablename__ = "visit_unit"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    submitted_at: Mapped[datetime | None]
    submitted_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))


class Event(Base):
    """The audit trail. Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("case_id", "event_no"),
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("ix_event_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sop_case.id"))
    event_no: Mapped[int]
    kind: Mapped[str] = mapped_column(String(12))
    step_seq: Mapped[int | None]
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    performer_role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id"))
    performer_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # Kelengkapan checklist, Output reference, correction payload, ...
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    corrects_event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))


# --- working calendar --------------------------------------------------------------------


class WorkHours(Base):
    """Working hours of one weekday (0 = Monday) under a regime (normal or Ramadan)."""

    __tablename__ = "work_hours"
    __table_args__ = (
        CheckConstraint(_in("regime", WORK_REGIMES), name="regime"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "start_minute <= break_start_minute AND break_start_minute <= break_end_minute"
            " AND break_end_minute <= end_minute AND end_minute <= 1440",
            name="ordered",
        ),
    )

    regime: Mapped[str] = mapped_column(String(10), primary_key=True)
    weekday: Mapped[int] = mapped_column(primary_key=True)
    start_minute: Mapped[int]
    break_start_minute: Mapped[int]
    break_end_minute: Mapped[int]
    end_minute: Mapped[int]


class HolidayOverride(Base):
    """A day the admin adds as a holiday, or removes from the national list."""

    __tablename__ = "holiday_override"
    __table_args__ = (CheckConstraint(_in("kind", HOLIDAY_OVERRIDE_KINDS), name="kind"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class RamadanPeriod(Base):
    __tablename__ = "ramadan_period"
    __table_args__ = (CheckConstraint("start_day <= end_day", name="ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    start_day: Mapped[date] = mapped_column(Date)
    end_day: Mapped[date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(80))


class AppSetting(Base):
    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]


# --- monitoring and evaluation (PermenPAN-RB 35/2012, docs/reports.md) ------------------


class SopReview(Base):
    """One save of a Tabel 7 monitoring form or of an SOP evaluation, for an SOP and a period.
    Saves are kept (the latest one is the form); each names who saved it and when."""

    __tablename__ = "sop_review"
    __table_args__ = (
        CheckConstraint(_in("kind", REVIEW_KINDS), name="kind"),
        Index("ix_sop_review_form", "kind", "sop_id", "period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"))
    sop_version_id: Mapped[int] = mapped_column(ForeignKey("sop_version.id"))
    period: Mapped[str] = mapped_column(String(40))  # as written in links: 2026-S1, 2026-Q3
    content: Mapped[dict[str, Any]]
    saved_by_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    saved_at: Mapped[datetime]


# --- sign-in sessions ------------------------------------------------------------------------


class LoginSession(Base):
    """A signed-in browser. Its cookie holds a random token; only the token's SHA-256 is
    stored. Every page run looks the session up, so ending it here (Keluar, a password change
    or reset, deactivation) ends it on every app process."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))
    client: Mapped[str | None] = mapped_column(String(64))


class LoginAddress(Base):
    """Wrong sign-ins from one client address (the one the proxy forwards), counted in a
    window, so that guessing across many user names, unknown ones included, is slowed too."""

    __tablename__ = "login_address"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


# --- notifications ---------------------------------------------------------------------------


class NotificationSent(Base):
    """One item of a digest message the SMTP server accepted. `manage.py notify` sends a person
    only what has no row for them on that WIB day, so a second run the same day (or at the
    same as-of) mails nothing twice. A summary also has a row of its own (item_key
    "ringkasan"): a head gets one summary a day."""

    __tablename__ = "notification_sent"
    __table_args__ = (
        UniqueConstraint("user_id", "day", "kind", "item_key"),
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    kind: Mapped[str] = mapped_column(String(12))
    day: Mapped[date] = mapped_column(Date)  # the WIB day of the run's as-of
    # "v<visit id>", "v<visit id>u<unit id>" for one unit of a multi-unit step, "ringkasan".
    item_key: Mapped[str] = mapped_column(String(40))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    as_of: Mapped[datetime]
    sent_at: Mapped[datetime]
    message_id: Mapped[str] = mapped_column(String(250))
