"""The overdue digest by email (`manage.py notify`; docs/deploy.md, "Notifications").

Every working morning:

- each active user with an email address, not opted out, who holds at least one at-risk or
  overdue pending item (metrics.held_by: their role, and for a multi-unit step their unit)
  gets one message ("tugas") listing those items, each with a link to its Catat page;
- every Kadis and Sekretaris gets one summary ("ringkasan") of all at-risk and overdue items,
  grouped per SOP, worst first. Its counts are the totals of `compute_metrics` at the same
  as-of, so they equal `manage.py metrics --json`.

What went is recorded (notification_sent) per person, item and WIB day: a second run at the
same as-of, or later the same day, sends nobody an item twice, and a head one summary a day.
A message the server did not accept is not recorded, so the next run tries it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload

from db.engine import read_session, write_session
from db.models import NotificationSent, User
from services.accounts import Actor, require_admin
from services.calendar_admin import WEEKDAYS
from services.cases import case_titles
from services.catalog.roles import HEADS
from services.drilldown import Drill
from services.errors import InvalidInput, NotFound
from services.formatting import (
    MONTHS,
    SLA_LABELS,
    WIB,
    age_against_target,
    format_wib,
)
from services.mail import (
    Delivery,
    Letter,
    MailSettings,
    build_message,
    deliver,
    normalise_address,
    send_one,
)
from services.metrics import Metrics, PendingItem, compute_metrics, held_by, resolve_as_of

FLAGGED = ("overdue", "at_risk")
SUMMARY_KEY = "ringkasan"
# A summary of a large backlog stays readable: past this, an SOP's list ends with a link to
# all its items on the Kasus page.
SUMMARY_ITEMS_PER_SOP = 25
STATE_COLOURS = {"overdue": "#D55E00", "at_risk": "#E69F00"}  # as on the pages (ui/format.py)
PLACEHOLDER_BASE_URL = "https://PANTAU_BASE_URL"


def long_day(day: date) -> str:
    """ "Kamis, 6 Februari 2025"."""
    return f"{WEEKDAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


# --- what is sent ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """A pending item as a message lists it."""

    item: PendingItem
    unit_id: int | None  # the outstanding unit of a multi-unit step
    title: str
    sop_name: str
    activity: str
    link: str

    @property
    def key(self) -> str:
        """What notification_sent records of it: the visit, and the unit of a multi-unit step."""
        unit = f"u{self.unit_id}" if self.unit_id is not None else ""
        return f"v{self.item.visit_id}{unit}"


@dataclass(frozen=True)
class Recipient:
    user_id: int
    full_name: str
    address: str


@dataclass(frozen=True)
class Outgoing:
    recipient: Recipient
    kind: str  # "tugas" or "ringkasan" (db.models.NOTIFICATION_KINDS)
    items: tuple[DigestItem, ...]
    letter: Letter


@dataclass(frozen=True)
class DigestPlan:
    as_of: datetime
    day: date  # the WIB day of the as-of
    working_day: bool
    overdue: int  # of all pending items at the as-of (metrics totals)
    at_risk: int
    messages: tuple[Outgoing, ...]
    already_sent: int  # items left out because their person got them this day


def _items(session: Session, metrics: Metrics, *, base_url: str) -> tuple[pd.DataFrame,
                                                                         list[DigestItem]]:
    """The at-risk and overdue items (in the metrics' order: overdue first, oldest first) and
    their frame rows, for held_by."""
    frame = metrics.state.items
    flagged = frame["sla_state"].astype(str).isin(FLAGGED).to_numpy()
    rows = frame[flagged]
    pending = [item for item, keep in zip(metrics.pending, flagged, strict=True) if keep]
    titles = case_titles(session, case_ids=sorted({item.case_pk for item in pending}))
    names = {sop.code: sop.name for sop in metrics.sops}
    catalog = metrics.state.catalog
    items = []
    for item, multi, unit_id in zip(pending, rows["multi_unit"], rows["unit_id"], strict=True):
        steps = {step.seq: step.activity for step in catalog[item.sop_code].steps} \
            if item.sop_code in catalog else {}
        items.append(DigestItem(
            item=item, unit_id=int(unit_id) if multi else None,
            title=titles.get(item.case_pk, ("", item.case_id))[1],
            sop_name=names.get(item.sop_code, item.sop_code),
            activity=steps.get(item.seq, ""),
            link=f"{base_url}/catat?kasus={item.case_pk}"))
    return rows.reset_index(drop=True), items


def _recipients(session: Session) -> list[tuple[Recipient, User]]:
    users = session.scalars(
        select(User).where(User.is_active.is_(True), User.email.is_not(None),
                           User.email_opt_out.is_(False))
        .options(selectinload(User.roles)).order_by(User.full_name, User.id)).all()
    return [(Recipient(user_id=user.id, full_name=user.full_name, address=user.email), user)
            for user in users if user.email]


def plan_digest(session: Session, *, as_of: datetime | None = None,
                base_url: str | None = None) -> DigestPlan:
    """Who gets what at `as_of` (default now), leaving out what each person was already sent
    that WIB day. Reads only; nothing is sent or recorded."""
    as_of = resolve_as_of(session, as_of)
    base = (base_url or PLACEHOLDER_BASE_URL).rstrip("/")
    metrics = compute_metrics(session, as_of=as_of)
    day = as_of.astimezone(WIB).date()
    frame, items = _items(session, metrics, base_url=base)
    people = _recipients(session)
    sent = {(user_id, kind, key) for user_id, kind, key in session.execute(
        select(NotificationSent.user_id, NotificationSent.kind, NotificationSent.item_key)
        .where(NotificationSent.day == day,
               NotificationSent.user_id.in_([person.user_id for person, _ in people])))}
    overdue, at_risk = metrics.totals.overdue, metrics.totals.at_risk
    messages: list[Outgoing] = []
    skipped = 0
    for person, user in people:
        roles = [role.name for role in user.roles]
        if not roles:
            continue
        held = held_by(frame, roles=roles, unit_id=user.unit_id).to_numpy()
        own = [item for item, is_held in zip(items, held, strict=True) if is_held]
        new = tuple(item for item in own if (person.user_id, "tugas", item.key) not in sent)
        skipped += len(own) - len(new)
        if new:
            messages.append(Outgoing(person, "tugas", new, _task_letter(
                person, new, as_of=as_of, base_url=base)))
    for person, user in people:
        if not HEADS & {role.name for role in user.roles}:
            continue
        if (person.user_id, "ringkasan", SUMMARY_KEY) in sent:
            skipped += len(items)
            continue
        messages.append(Outgoing(person, "ringkasan", tuple(items), _summary_letter(
            person, items, as_of=as_of, overdue=overdue, at_risk=at_risk, base_url=base)))
    return DigestPlan(as_of=as_of, day=day,
                      working_day=metrics.state.calendar.is_working_day(day), overdue=overdue,
                      at_risk=at_risk, messages=tuple(messages), already_sent=skipped)


# --- the letters ---------------------------------------------------------------------------------

_FOOTER = ("Surel ini dikirim otomatis oleh Pantau SOP pada pagi hari kerja; satu langkah "
           "disebut paling banyak sekali sehari. Umur dihitung dalam jam kerja. Untuk berhenti "
           "menerimanya, kosongkan alamat surel Anda di Akun Saya atau hubungi admin.")


def _counts(items: Sequence[DigestItem]) -> tuple[int, int]:
    overdue = sum(item.item.sla_state == "overdue" for item in items)
    return overdue, len(items) - overdue


def _item_text(entry: DigestItem, *, with_sop: bool) -> str:
    item = entry.item
    lines = [f"- [{SLA_LABELS[item.sla_state]}] {entry.title} ({item.case_id})"]
    sop = f"{entry.sop_name} · " if with_sop else ""
    lines.append(f"  {sop}Langkah {item.label}: {entry.activity}")
    unit = f" · belum menyerahkan: {item.unit}" if item.unit else ""
    lines.append(f"  {item.role}{unit}")
    lines.append(f"  Umur {age_against_target(item.age_minutes, item.target_minutes)}")
    lines.append(f"  Catat: {entry.link}")
    return "\n".join(lines)


def _item_html(entry: DigestItem, *, with_sop: bool) -> str:
    item = entry.item
    colour = STATE_COLOURS[item.sla_state]
    sop = f"{escape(entry.sop_name)} · " if with_sop else ""
    unit = f" · belum menyerahkan: {escape(item.unit)}" if item.unit else ""
    return (
        f'<div style="border-left:4px solid {colour};padding:6px 10px;margin:0 0 10px 0;'
        'background:#fafafa">'
        f'<div style="font-size:12px;color:{colour};font-weight:bold">'
        f"{escape(SLA_LABELS[item.sla_state])}</div>"
        f'<div style="font-weight:bold">{escape(entry.title)} '
        f'<span style="color:#555;font-weight:normal">({escape(item.case_id)})</span></div>'
        f"<div>{sop}Langkah {escape(item.label)}: {escape(entry.activity)}</div>"
        f'<div style="color:#555">{escape(item.role)}{unit}</div>'
        f"<div>Umur {escape(age_against_target(item.age_minutes, item.target_minutes))}</div>"
        f'<div><a href="{escape(entry.link)}" style="color:#0b57d0">Buka Catat Langkah</a>'
        "</div></div>"
    )


def _page(title: str, intro: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        '<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;'
        'font-size:14px;line-height:1.45;color:#1f1f1f;background:#ffffff">'
        '<div style="max-width:640px;margin:0 auto">'
        f'<h1 style="font-size:18px;margin:0 0 8px 0">{escape(title)}</h1>'
        f'<p style="margin:0 0 14px 0">{intro}</p>{body}'
        f'<p style="font-size:12px;color:#666;margin-top:18px">{escape(_FOOTER)}</p>'
        "</div></body></html>"
    )


def _task_letter(person: Recipient, items: Sequence[DigestItem], *, as_of: datetime,
                 base_url: str) -> Letter:
    overdue, at_risk = _counts(items)
    subject = (f"[Pantau SOP] {len(items)} langkah menunggu Anda: {overdue} terlambat, "
               f"{at_risk} berisiko")
    intro = (f"Yth. {person.full_name},\n\nper {format_wib(as_of)} langkah SOP berikut "
             f"menunggu Anda: {overdue} terlambat, {at_risk} berisiko (mendekati Mutu Baku).")
    text = "\n\n".join([intro, *(_item_text(item, with_sop=True) for item in items),
                        f"Semua tugas Anda: {base_url}/tugas", _FOOTER]) + "\n"
    html = _page(
        "Langkah yang menunggu Anda",
        f"Yth. {escape(person.full_name)},<br>per {escape(format_wib(as_of))} langkah SOP "
        f"berikut menunggu Anda: <b>{overdue} terlambat</b>, <b>{at_risk} berisiko</b> "
        "(mendekati Mutu Baku).",
        "".join(_item_html(item, with_sop=True) for item in items)
        + f'<p><a href="{escape(base_url)}/tugas" style="color:#0b57d0">Semua tugas Anda '
          "di Tugas Saya</a></p>")
    return Letter(to_name=person.full_name, to_address=person.address, subject=subject,
                  text=text, html=html)


def _per_sop(items: Sequence[DigestItem]) -> list[list[DigestItem]]:
    """The items grouped by SOP, the SOP with the most overdue (then at-risk) items first;
    within an SOP, overdue first and oldest first (the metrics' order)."""
    groups: dict[str, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.item.sop_code, []).append(item)
    return sorted(groups.values(), key=lambda group: (
        -_counts(group)[0], -_counts(group)[1], group[0].sop_name.casefold()))


def _summary_letter(person: Recipient, items: Sequence[DigestItem], *, as_of: datetime,
                    overdue: int, at_risk: int, base_url: str) -> Letter:
    day = as_of.astimezone(WIB).date()
    subject = (f"[Pantau SOP] Ringkasan {day.day} {MONTHS[day.month - 1]} {day.year}: "
               f"{overdue} terlambat, {at_risk} berisiko")
    intro = (f"Yth. {person.full_name},\n\nper {format_wib(as_of)} ada {overdue} langkah "
             f"terlambat dan {at_risk} berisiko (mendekati Mutu Baku) di semua SOP.")
    text_parts = [intro]
    html_parts = []
    if not items:
        text_parts.append("Tidak ada langkah yang terlambat atau berisiko.")
        html_parts.append("<p>Tidak ada langkah yang terlambat atau berisiko.</p>")
    for group in _per_sop(items):
        late, risky = _counts(group)
        name = group[0].sop_name
        code = group[0].item.sop_code
        # The Kasus page lists all of an SOP's items in a state (the message lists at most
        # SUMMARY_ITEMS_PER_SOP of them).
        lists = [(f"daftar {word}", f"{base_url}/kasus?" + Drill(
                     view="tugas", sop_codes=(code,), status=status).link)
                 for count, word, status in ((late, "terlambat", "terlambat"),
                                             (risky, "berisiko", "berisiko")) if count]
        shown, rest = group[:SUMMARY_ITEMS_PER_SOP], len(group) - SUMMARY_ITEMS_PER_SOP
        text_parts.append(f"{name}: {late} terlambat, {risky} berisiko"
                          + "".join(f"\n  {label}: {link}" for label, link in lists))
        text_parts += [_item_text(item, with_sop=False) for item in shown]
        more_html = ""
        if rest > 0:
            text_parts.append(f"... dan {rest} langkah lainnya: lihat daftar di atas.")
            more_html = (f'<p style="margin:0 0 10px 0">... dan {rest} langkah lainnya: '
                         "lihat daftar di atas.</p>")
        html_parts.append(
            f'<h2 style="font-size:16px;margin:18px 0 4px 0">{escape(name)}</h2>'
            f'<p style="margin:0 0 8px 0">{late} terlambat, {risky} berisiko'
            + "".join(f' · <a href="{escape(link)}" style="color:#0b57d0">{label}</a>'
                      for label, link in lists) + "</p>"
            + "".join(_item_html(item, with_sop=False) for item in shown) + more_html)
    text_parts += [f"Dasbor Kepatuhan: {base_url}/dasbor", _FOOTER]
    html = _page(
        subject.removeprefix("[Pantau SOP] "),
        f"Yth. {escape(person.full_name)},<br>per {escape(format_wib(as_of))} ada "
        f"<b>{overdue} langkah terlambat</b> dan <b>{at_risk} berisiko</b> (mendekati Mutu "
        "Baku) di semua SOP, per SOP dari yang paling banyak terlambat.",
        "".join(html_parts)
        + f'<p><a href="{escape(base_url)}/dasbor" style="color:#0b57d0">Buka Dasbor '
          "Kepatuhan</a></p>")
    return Letter(to_name=person.full_name, to_address=person.address, subject=subject,
                  text="\n\n".join(text_parts) + "\n", html=html)


# --- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestRun:
    plan: DigestPlan
    sent: tuple[Outgoing, ...]
    failed: tuple[tuple[Outgoing, str], ...]


def _record(session: Session, outgoing: Outgoing, *, plan: DigestPlan, message_id: str,
            now: datetime) -> None:
    keys: list[tuple[str, int | None, int | None]] = [
        (item.key, item.item.visit_id, item.unit_id) for item in outgoing.items]
    if outgoing.kind == "ringkasan":
        keys.append((SUMMARY_KEY, None, None))
    session.add_all(NotificationSent(
        user_id=outgoing.recipient.user_id, kind=outgoing.kind, day=plan.day, item_key=key,
        visit_id=visit_id, unit_id=unit_id, as_of=plan.as_of, sent_at=now,
        message_id=message_id) for key, visit_id, unit_id in keys)
    session.flush()


def send_digest(engine: Engine, *, settings: MailSettings, plan: DigestPlan,
                now: datetime) -> DigestRun:
    """Send a plan's messages in one SMTP session. Each message the server accepts is
    recorded in its own transaction at once, so a run that breaks off keeps what went;
    MailServerError (nothing sent or recorded) when the server cannot be reached."""
    settings.require_complete()
    assert settings.server is not None and settings.sender is not None
    assert settings.sender_address is not None
    messages = [build_message(outgoing.letter, sender=settings.sender,
                              sender_address=settings.sender_address, now=now)
                for outgoing in plan.messages]
    sent: list[Outgoing] = []
    failed: list[tuple[Outgoing, str]] = []
    if not messages:
        return DigestRun(plan=plan, sent=(), failed=())
    delivery: Delivery
    for delivery in deliver(settings.server, messages):
        outgoing = plan.messages[delivery.index]
        if delivery.error is not None:
            failed.append((outgoing, delivery.error))
            continue
        with write_session(engine) as session:
            _record(session, outgoing, plan=plan,
                    message_id=str(messages[delivery.index]["Message-ID"]), now=now)
        sent.append(outgoing)
    return DigestRun(plan=plan, sent=tuple(sent), failed=tuple(failed))


def plan_now(engine: Engine, *, as_of: datetime | None, base_url: str | None) -> DigestPlan:
    with read_session(engine) as session:
        return plan_digest(session, as_of=as_of, base_url=base_url)


# --- the admin's part ----------------------------------------------------------------------------


def send_test_message(*, actor: Actor, settings: MailSettings, to: str,
                      now: datetime) -> str:
    """A short message to `to` through the configured server, so an admin sees the settings
    work; the address it went to. MailServerError or InvalidInput says why not."""
    require_admin(actor)
    address = normalise_address(to)
    if address is None:
        raise InvalidInput("Isi alamat surel tujuan pesan uji.")
    settings.require_complete()
    assert settings.server is not None and settings.sender is not None
    assert settings.sender_address is not None
    text = (f"Pesan uji dari Pantau SOP, dikirim oleh {actor.full_name} pada {format_wib(now)} "
            f"lewat {settings.server.shown_url}.\n\nBila pesan ini sampai, pengaturan surel "
            "sudah benar: ringkasan pagi (manage.py notify) akan terkirim lewat server yang "
            f"sama. Tautan di surel mengarah ke {settings.base_url}.\n")
    letter = Letter(
        to_name="", to_address=address,
        subject="[Pantau SOP] Pesan uji pengaturan surel", text=text,
        html=_page("Pesan uji pengaturan surel", escape(text).replace("\n", "<br>"), ""))
    send_one(settings.server, build_message(letter, sender=settings.sender,
                                            sender_address=settings.sender_address, now=now))
    return address


@dataclass(frozen=True)
class MailPreference:
    username: str
    full_name: str
    email: str | None
    is_active: bool
    opted_out: bool

    @property
    def receives(self) -> bool:
        return self.is_active and self.email is not None and not self.opted_out


def _preference(user: User) -> MailPreference:
    return MailPreference(username=user.username, full_name=user.full_name, email=user.email,
                          is_active=user.is_active, opted_out=user.email_opt_out)


def mail_preferences(session: Session) -> list[MailPreference]:
    return [_preference(user)
            for user in session.scalars(select(User).order_by(User.full_name, User.username))]


def own_mail_preference(session: Session, *, actor: Actor) -> MailPreference:
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("Akun Anda tidak ditemukan; masuk lagi.")
    return _preference(user)


def set_email_opt_out(session: Session, *, actor: Actor, username: str,
                      opted_out: bool) -> None:
    """An admin stops (or resumes) the digest for a user."""
    require_admin(actor)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"Pengguna '{username}' tidak ada.")
    user.email_opt_out = opted_out
    session.flush()
