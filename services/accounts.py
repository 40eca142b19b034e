"""Users, their roles and units, and the acting user of every write (Actor)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import bcrypt
import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from db.engine import affected_rows
from db.models import AppSetting, Event, LoginSession, Role, SopReview, Unit, User, UserRole
from services.clock import utcnow
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.mail import normalise_address
from services.workflow.model import checked_name

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 72  # bcrypt reads at most 72 bytes
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# The Fungsional record steps for others from the Buku Agenda by default (docs/design.md, "Workflow").
RECORDER_ROLES = frozenset({"Fungsional"})


def _bcrypt_rounds() -> int:
    # Tests lower the cost to keep hundreds of hashes fast; never below bcrypt's minimum.
    return max(4, int(os.environ.get("PANTAU_BCRYPT_ROUNDS", "12")))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(_bcrypt_rounds())).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), password_hash.encode("utf-8"))
    except ValueError:
        return False


def check_password_rules(password: str) -> None:
    # The sign-in form trims what is typed (streamlit-authenticator strips the password), so a
    # password with an edge space could never be used: refuse it when it is set.
    if password != password.strip():
        raise InvalidInput("Kata sandi tidak boleh diawali atau diakhiri spasi.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Kata sandi minimal {MIN_PASSWORD_LENGTH} karakter.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"Kata sandi maksimal {MAX_PASSWORD_LENGTH} byte.")


@dataclass(frozen=True)
class Actor:
    """Who is acting: every write of the services takes one and checks it."""

    user_id: int | None
    username: str
    full_name: str
    roles: frozenset[str]
    unit_id: int | None
    is_admin: bool
    is_recorder: bool
    # A sign-in proved before this instant (a login cookie issued earlier) no longer counts.
    password_changed_at: datetime | None = None

    def holds(self, role: str) -> bool:
        return role in self.roles

    @property
    def may_record_for_others(self) -> bool:
        return self.is_recorder or self.is_admin


# The command line and the first-run setup act as the system: an administrator with no user
# row (events it records name no recorder).
SYSTEM = Actor(user_id=None, username="sistem", full_name="Sistem", roles=frozenset(),
               unit_id=None, is_admin=True, is_recorder=True)


def actor_from_user(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, full_name=user.full_name,
                 roles=frozenset(role.name for role in user.roles), unit_id=user.unit_id,
                 is_admin=user.is_admin, is_recorder=user.is_recorder,
                 password_changed_at=user.password_changed_at)


def load_actor(session: Session, *, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username)
                          .options(selectinload(User.roles)))
    if user is None or not user.is_active:
        raise NotFound(f"Pengguna '{username}' tidak ada atau tidak aktif.")
    return actor_from_user(user)


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Hanya admin yang boleh melakukan ini.")


def create_user(
    session: Session, *, actor: Actor, username: str, full_name: str, password: str,
    roles: Sequence[str], now: datetime, unit_code: str | None = None, is_admin: bool = False,
    is_recorder: bool | None = None, email: str | None = None, is_demo: bool = False,
    password_hash: str | None = None,
) -> User:
    """A new user. `password_hash` lets the demo set share one precomputed hash."""
    require_admin(actor)
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput("Nama pengguna 3-64 karakter: huruf kecil, angka, titik, garis bawah "
                           "atau tanda hubung, diawali huruf atau angka.")
    full_name = checked_name(full_name, what="Nama lengkap")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"Nama pengguna '{username}' sudah dipakai.")
    if password_hash is None:
        check_password_rules(password)
        password_hash = hash_password(password)
    role_rows, unit_id = _roles_and_unit(session, roles=roles, unit_code=unit_code,
                                         is_admin=is_admin)
    user = User(
        username=username, full_name=full_name, email=normalise_address(email),
        password_hash=password_hash,
        unit_id=unit_id, is_admin=is_admin,
        is_recorder=(bool(RECORDER_ROLES & set(roles)) or is_admin)
        if is_recorder is None else is_recorder,
        is_active=True, is_demo=is_demo, failed_login_count=0, created_at=now,
        password_changed_at=now,
    )
    user.roles = list(role_rows)
    session.add(user)
    session.flush()
    return user


def _roles_and_unit(session: Session, *, roles: Sequence[str], unit_code: str | None,
                    is_admin: bool) -> tuple[list[Role], int | None]:
    """Every account has a role or is an admin; a Bidang user belongs to a Bidang unit (the
    unit it submits for on a multi-unit step)."""
    if not roles and not is_admin:
        raise InvalidInput("Pilih paling sedikit satu peran, atau jadikan akun ini admin.")
    role_rows = list(session.scalars(select(Role).where(Role.name.in_(roles))))
    unknown = set(roles) - {role.name for role in role_rows}
    if unknown:
        raise InvalidInput(f"Peran tidak dikenal: {', '.join(sorted(unknown))}.")
    unit = session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    if unit_code and unit is None:
        raise InvalidInput(f"Unit '{unit_code}' tidak ada.")
    if "Bidang" in roles and (unit is None or unit.kind != "bidang"):
        raise InvalidInput("Pengguna dengan peran Bidang wajib punya unit Bidang-nya: unit itulah "
                           "yang ia serahkan pada langkah per unit.")
    return role_rows, unit.id if unit is not None else None


# --- login --------------------------------------------------------------------------------

SETUP_MARKER = "setup_completed"
FIRST_ADMIN_EXISTS = ("Akun admin sudah dibuat: penyiapan awal sudah selesai. Masuk dengan akun "
                      "yang ada.")


def has_users(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(User)) or 0) > 0


def login_credentials(session: Session) -> dict[str, Any]:
    """The credentials dict streamlit-authenticator's login form checks passwords against,
    built from the database (active users only). Lockout and sessions are not the library's:
    services/sessions.py counts failures and starts the session."""
    users = session.scalars(select(User).where(User.is_active.is_(True))
                            .options(selectinload(User.roles))).all()
    return {"usernames": {
        user.username: {
            "name": user.full_name,
            "email": user.email or "",
            "password": user.password_hash,
            "roles": [role.name for role in user.roles],
            "failed_login_attempts": 0,
            "logged_in": False,
        }
        for user in users
    }}


def create_first_admin(session: Session, *, username: str, full_name: str, password: str,
                       now: datetime) -> User:
    """The first-run setup: only while no user exists, and only once. Simultaneous setups
    on PostgreSQL all see no user; the marker row's key lets one in and makes the others
    wait for it, then fail (SQLite writers queue, and the later ones see the admin)."""
    if has_users(session):
        raise PermissionDenied(FIRST_ADMIN_EXISTS)
    session.add(AppSetting(key=SETUP_MARKER, value={"by": username}, updated_at=now))
    try:
        session.flush()
    except IntegrityError as error:
        raise PermissionDenied(FIRST_ADMIN_EXISTS) from error
    return create_user(session, actor=SYSTEM, username=username, full_name=full_name,
                       password=password, roles=[], is_admin=True, now=now)


# --- passwords ------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    """What the database keeps of a sign-in token (services/sessions.py)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def end_user_sessions(session: Session, *, user_id: int, now: datetime, reason: str,
                      keep_token: str | None = None) -> int:
    """End every live sign-in of a user, on every app process (a password change keeps the
    session that made it)."""
    query = update(LoginSession).where(LoginSession.user_id == user_id,
                                       LoginSession.ended_at.is_(None))
    if keep_token:
        query = query.where(LoginSession.token_hash != token_digest(keep_token))
    return affected_rows(session, query.values(ended_at=now, end_reason=reason)
                         .execution_options(synchronize_session=False))


def change_own_password(session: Session, *, actor: Actor, current: str, new: str,
                        repeated: str, now: datetime, keep_token: str | None = None) -> None:
    """Change one's own password; every other sign-in of the account ends (`keep_token`
    names the one that made the change)."""
    user = session.get(User, actor.user_id)
    if user is None or not verify_password(current, user.password_hash):
        raise InvalidInput("Kata sandi saat ini salah.")
    if new != repeated:
        raise InvalidInput("Kata sandi baru dan ulangannya tidak sama.")
    if new == current:
        raise InvalidInput("Kata sandi baru harus berbeda dari yang lama.")
    check_password_rules(new)
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    session.flush()
    end_user_sessions(session, user_id=user.id, now=now, reason="sandi diganti",
                      keep_token=keep_token)


def reset_password(session: Session, *, actor: Actor, username: str, new: str,
                   now: datetime) -> None:
    require_admin(actor)
    user = _user(session, username)
    check_password_rules(new)
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.failed_login_count = 0
    user.locked_until = None
    session.flush()
    end_user_sessions(session, user_id=user.id, now=now, reason="sandi direset")


def set_own_email(session: Session, *, actor: Actor, email: str | None) -> str | None:
    """Set (or, empty, remove) one's own email address: where the overdue digest goes."""
    address = normalise_address(email)
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFound("Akun Anda tidak ditemukan; masuk lagi.")
    user.email = address
    session.flush()
    return address


# --- administration -------------------------------------------------------------------------


@dataclass(frozen=True)
class UserView:
    username: str
    full_name: str
    email: str | None
    roles: tuple[str, ...]
    unit_code: str | None
    unit_name: str | None
    is_admin: bool
    is_recorder: bool
    is_active: bool
    is_demo: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    events: int


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username)
                          .options(selectinload(User.roles)))
    if user is None:
        raise NotFound(f"Pengguna '{username}' tidak ada.")
    return user


def list_users(session: Session) -> list[UserView]:
    counts = dict(session.execute(
        select(Event.recorded_by_user_id, func.count()).group_by(Event.recorded_by_user_id)).all())
    performed = dict(session.execute(
        select(Event.performer_user_id, func.count()).group_by(Event.performer_user_id)).all())
    users = session.scalars(select(User).options(selectinload(User.roles), selectinload(User.unit))
                            .order_by(User.username)).all()
    return [UserView(
        username=u.username, full_name=u.full_name, email=u.email,
        roles=tuple(role.name for role in u.roles),
        unit_code=u.unit.code if u.unit else None, unit_name=u.unit.name if u.unit else None,
        is_admin=u.is_admin, is_recorder=u.is_recorder, is_active=u.is_active, is_demo=u.is_demo,
        locked_until=u.locked_until, last_login_at=u.last_login_at,
        events=counts.get(u.id, 0) + performed.get(u.id, 0),
    ) for u in users]


def role_holders(session: Session) -> pd.DataFrame:
    """One row per active user and role held: user_id, username, full_name, unit_id (-1 for
    none), role."""
    rows = session.execute(
        select(User.id, User.username, User.full_name, func.coalesce(User.unit_id, -1), Role.name)
        .join(UserRole, UserRole.user_id == User.id).join(Role, Role.id == UserRole.role_id)
        .where(User.is_active).order_by(User.full_name, Role.name)).all()
    return pd.DataFrame(rows, columns=["user_id", "username", "full_name", "unit_id", "role"])


def update_user(session: Session, *, actor: Actor, username: str, full_name: str,
                roles: Sequence[str], unit_code: str | None, is_admin: bool, is_recorder: bool,
                is_active: bool, email: str | None = None, now: datetime | None = None) -> None:
    require_admin(actor)
    user = _user(session, username)
    if user.id == actor.user_id and (not is_admin or not is_active):
        raise InvalidInput("Anda tidak dapat mencabut hak admin atau menonaktifkan akun Anda "
                           "sendiri.")
    full_name = checked_name(full_name, what="Nama lengkap")
    address = normalise_address(email)
    role_rows, unit_id = _roles_and_unit(session, roles=roles, unit_code=unit_code,
                                         is_admin=is_admin)
    user.full_name = full_name
    user.email = address
    user.roles = list(role_rows)
    user.unit_id = unit_id
    user.is_admin, user.is_recorder, user.is_active = is_admin, is_recorder, is_active
    session.flush()
    if not is_active:
        end_user_sessions(session, user_id=user.id, now=now or utcnow(), reason="dinonaktifkan")


def delete_user(session: Session, *, actor: Actor, username: str) -> None:
    """Delete a user who never appears in the audit trail; others can only be deactivated."""
    require_admin(actor)
    user = _user(session, username)
    if user.id == actor.user_id:
        raise InvalidInput("Anda tidak dapat menghapus akun Anda sendiri.")
    in_trail = session.scalar(select(func.count()).select_from(Event).where(
        (Event.performer_user_id == user.id) | (Event.recorded_by_user_id == user.id)))
    if in_trail:
        raise InvalidInput(f"{user.full_name} tercatat pada {in_trail} kejadian; akun yang "
                           "sudah tercatat tidak dihapus, nonaktifkan saja.")
    reviews = session.scalar(select(func.count()).select_from(SopReview).where(
        SopReview.saved_by_user_id == user.id))
    if reviews:
        raise InvalidInput(f"{user.full_name} menyimpan {reviews} formulir monitoring/evaluasi; "
                           "akun yang sudah tercatat tidak dihapus, nonaktifkan saja.")
    user.roles = []
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    session.delete(user)
    session.flush()
