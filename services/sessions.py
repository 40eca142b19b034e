"""Sign-in sessions kept in the database (docs/security.md, "Sign-in").

Sessions end with `end_session` (Keluar) or `accounts.end_user_sessions` (a password change or
reset, deactivation). A browser that signs in gets a random token in its login cookie; the database keeps only the
token's SHA-256, with the user, the expiry and, once it ends, when and why. Every page run
resumes the session here, so "Keluar", a password change or reset, and deactivation end a
session on every app process at once, and a cookie that names no live session (copied after
Keluar, expired, forged, malformed) counts as no cookie.

Failed passwords are counted by one UPDATE that increments and tests in the database, so
simultaneous wrong guesses cannot undercount, and the lockout is checked again in the same
statement that accepts a right password. They are counted twice: per account (five lock it)
and per client address (MAX_FAILED_PER_ADDRESS in a window lock the address, unknown user
names included), the address being the one the proxy forwards when the app sits behind it.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.engine import affected_rows
from db.models import LoginAddress, LoginSession, User
from services.accounts import Actor, actor_from_user, token_digest, verify_password
from services.errors import PermissionDenied

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MAX_FAILED_PER_ADDRESS = 20
ADDRESS_WINDOW = timedelta(minutes=15)
TRUSTED_PROXIES_ENV = "PANTAU_TRUSTED_PROXIES"
LOCAL = "lokal"  # the address of a browser on the server itself (no proxy in between)
LIFETIME_ENV = "PANTAU_COOKIE_EXPIRY_DAYS"
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def lifetime() -> timedelta:
    """How long a sign-in lasts (and its cookie): PANTAU_COOKIE_EXPIRY_DAYS, 1 day by default."""
    days = float(os.environ.get(LIFETIME_ENV, "1"))
    return timedelta(days=days) if days > 0 else timedelta(days=1)


def well_formed(token: str | None) -> bool:
    return token is not None and bool(_TOKEN.match(token))


class AccountLocked(PermissionDenied):
    """Too many wrong passwords: no sign-in until `until`, even with the right one."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__("Akun dikunci sementara karena kata sandi salah berulang kali.")


class AddressLocked(PermissionDenied):
    """Too many wrong sign-ins from one address: none from it until `until`."""

    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__("Terlalu banyak percobaan masuk yang salah dari alamat ini.")


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie; never stored
    actor: Actor
    expires_at: datetime


def record_failed_password(session: Session, *, username: str,
                           now: datetime) -> datetime | None:
    """Count one wrong password for `username`, atomically; lock the account for LOCKOUT at
    MAX_FAILED_LOGINS. Returns the end of the lockout when the account is locked."""
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    count = case((expired, 1), else_=User.failed_login_count + 1)
    row = session.execute(
        update(User).where(User.username == username)
        .values(failed_login_count=count,
                locked_until=case((and_(count >= MAX_FAILED_LOGINS,
                                        or_(User.locked_until.is_(None), expired)),
                                   now + LOCKOUT), else_=User.locked_until))
        .returning(User.locked_until)
        .execution_options(synchronize_session=False)).first()
    if row is None or row[0] is None or row[0] <= now:
        return None
    return row[0]


def client_address(*, peer: str | None, forwarded_for: str | None) -> str:
    """Who is signing in, as an address. Streamlit gives no peer for a loopback connection:
    that is the proxy (docs/deploy.md), or a browser on the server. Only from a trusted
    proxy (loopback, or one named in PANTAU_TRUSTED_PROXIES) is X-Forwarded-For believed,
    and then only its last entry, the one the proxy itself added; what a client writes into
    the header stays to its left."""
    trusted = {"::1", "127.0.0.1", *(name.strip() for name in os.environ.get(
        TRUSTED_PROXIES_ENV, "").split(",") if name.strip())}
    if peer is not None and peer not in trusted:
        return peer[:64]
    forwarded = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    return forwarded[-1][:64] if forwarded else LOCAL


def record_failed_address(session: Session, *, address: str,
                          now: datetime) -> datetime | None:
    """Count one wrong sign-in from `address`, atomically; lock the address for LOCKOUT at
    MAX_FAILED_PER_ADDRESS within ADDRESS_WINDOW. Returns the end of its lockout, if any."""
    dialect_insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(dialect_insert(LoginAddress).values(
        address=address, failed_count=0, window_started_at=now).on_conflict_do_nothing())
    fresh = or_(LoginAddress.window_started_at <= now - ADDRESS_WINDOW,
                and_(LoginAddress.locked_until.is_not(None), LoginAddress.locked_until <= now))
    count = case((fresh, 1), else_=LoginAddress.failed_count + 1)
    row = session.execute(
        update(LoginAddress).where(LoginAddress.address == address)
        .values(failed_count=count,
                window_started_at=case((fresh, now), else_=LoginAddress.window_started_at),
                locked_until=case((count >= MAX_FAILED_PER_ADDRESS, now + LOCKOUT),
                                  (fresh, None), else_=LoginAddress.locked_until))
        .returning(LoginAddress.locked_until)
        .execution_options(synchronize_session=False)).first()
    return row[0] if row is not None and row[0] is not None and row[0] > now else None


def address_locked_until(session: Session, *, address: str, now: datetime) -> datetime | None:
    until = session.scalar(select(LoginAddress.locked_until)
                           .where(LoginAddress.address == address))
    return until if until is not None and until > now else None


@dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    locked_until: datetime | None  # the account is locked (now, or by this wrong password)


def check_current_password(session: Session, *, actor: Actor, password: str,
                           now: datetime) -> PasswordCheck:
    """Whether `password` is the user's, for a form that asks for it again (Akun Saya). A
    wrong one counts toward the lockout like a wrong sign-in, and a locked account never
    matches. Nothing is raised, so the caller's transaction keeps the count."""
    until = locked_until(session, username=actor.username, now=now)
    if until is not None:
        return PasswordCheck(matches=False, locked_until=until)
    stored = session.scalar(select(User.password_hash).where(User.username == actor.username))
    if stored is not None and verify_password(password, stored):
        return PasswordCheck(matches=True, locked_until=None)
    return PasswordCheck(matches=False, locked_until=record_failed_password(
        session, username=actor.username, now=now))


def locked_until(session: Session, *, username: str, now: datetime) -> datetime | None:
    until = session.scalar(select(User.locked_until).where(User.username == username))
    return until if until is not None and until > now else None


def start_session(session: Session, *, username: str, now: datetime,
                  client: str | None = None) -> SignedIn:
    """A new session for a user whose password was just verified. The account must be active
    and not locked at this very moment (checked in the statement that resets the count), and
    its client address not locked either."""
    if client is not None:
        until = address_locked_until(session, address=client, now=now)
        if until is not None:
            raise AddressLocked(until)
    accepted = affected_rows(session, update(User).where(
        User.username == username, User.is_active.is_(True),
        or_(User.locked_until.is_(None), User.locked_until <= now),
    ).values(failed_login_count=0, locked_until=None, last_login_at=now)
        .execution_options(synchronize_session=False))
    if accepted != 1:
        until = locked_until(session, username=username, now=now)
        if until is not None:
            raise AccountLocked(until)
        raise PermissionDenied("Akun ini tidak ada atau tidak aktif.")
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    token = secrets.token_urlsafe(32)
    expires = now + lifetime()
    session.add(LoginSession(token_hash=token_digest(token), user_id=user.id, created_at=now,
                             expires_at=expires, last_seen_at=now,
                             client=(client or None) and client[:64]))
    session.flush()
    return SignedIn(token=token, actor=actor_from_user(user), expires_at=expires)


def resume_session(session: Session, *, token: str | None, now: datetime) -> Actor | None:
    """The user of a live session, or None: no such token, malformed, ended, expired, or the
    user is no longer active."""
    if not well_formed(token):
        return None
    assert token is not None
    row = session.execute(
        select(LoginSession, User).join(User, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == token_digest(token))).first()
    if row is None:
        return None
    login, user = row
    if login.ended_at is not None or login.expires_at <= now or not user.is_active:
        return None
    return actor_from_user(user)


def end_session(session: Session, *, token: str | None, now: datetime,
                reason: str = "keluar") -> None:
    if well_formed(token):
        assert token is not None
        session.execute(update(LoginSession).where(
            LoginSession.token_hash == token_digest(token), LoginSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
            .execution_options(synchronize_session=False))
