"""Signing in with streamlit-authenticator, on users kept in the database (DESIGN section 10).

Each run builds the authenticator's credentials from the database (active users, bcrypt
hashes, roles, and the failure count of a running lockout) and writes back what the login
widget changed: a success resets the count and stamps the login (login callback), a failure
raises the count and locks the account for 15 minutes at 5.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st
import streamlit_authenticator as stauth
from sqlalchemy import Engine
from streamlit_authenticator.utilities import LoginError

from db.engine import REPO_ROOT, read_session, write_session
from services.accounts import (
    MAX_FAILED_LOGINS,
    Actor,
    load_actor,
    locked_until,
    login_credentials,
    record_failed_logins,
    record_login,
)
from services.clock import utcnow
from services.demo import demo_info
from services.errors import NotFound
from services.formatting import format_wib

COOKIE_NAME = "pantau_sop"
COOKIE_KEY_FILE = REPO_ROOT / "data" / "cookie_key"
LOGIN_FIELDS = {"Form name": "Masuk", "Username": "Nama pengguna", "Password": "Kata sandi",
                "Login": "Masuk"}


def cookie_key() -> str:
    """From .streamlit/secrets.toml (cookie_key) or PANTAU_COOKIE_KEY; otherwise a random key
    generated once into data/ (never committed, never a constant in the code). Every app
    process behind one proxy must share it."""
    try:
        configured = st.secrets.get("cookie_key")
    except FileNotFoundError:
        configured = None
    configured = configured or os.environ.get("PANTAU_COOKIE_KEY")
    if configured:
        if len(configured) < 32:
            raise RuntimeError("The cookie key must be at least 32 characters.")
        return configured
    return _generated_key(COOKIE_KEY_FILE)


def _generated_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _authenticator(credentials: dict) -> stauth.Authenticate:  # type: ignore[type-arg]
    return stauth.Authenticate(
        credentials, cookie_name=COOKIE_NAME, cookie_key=cookie_key(),
        cookie_expiry_days=_cookie_lifetime_days(),
        auto_hash=False,
        login_sleep_time=float(os.environ.get("PANTAU_LOGIN_SLEEP_TIME", "0.7")),
    )


def sign_in(engine: Engine) -> tuple[Actor, stauth.Authenticate] | None:
    """The signed-in user, or None after rendering the login page."""
    now = utcnow()
    with read_session(engine) as session:
        credentials = login_credentials(session, now=now)
        demo = demo_info(session)
    before = {name: user["failed_login_attempts"]
              for name, user in credentials["usernames"].items()}
    column = st.columns([1, 2, 1])[1]
    header = column.container()
    authenticator = _authenticator(credentials)
    if st.session_state.pop(SIGN_OUT, False):
        # Signing out in a run that completes: the component that deletes the login cookie
        # reaches the browser (a rerun right after it could drop it, and a reload would sign
        # the user back in). The login form follows in this same run.
        authenticator.logout(location="unrendered")
    refusal = None
    try:
        with column:
            authenticator.login(location="main", max_login_attempts=MAX_FAILED_LOGINS,
                                fields=LOGIN_FIELDS, key="masuk",
                                callback=_record_success(engine))
    except LoginError as error:
        refusal = str(error)
    locked_now = _record_failures(engine, credentials, before)
    if st.session_state.get("authentication_status"):
        try:
            with read_session(engine) as session:
                actor = load_actor(session, username=st.session_state["username"])
        except NotFound:
            authenticator.logout(location="unrendered")
            st.rerun()
        if not _proof_predates_password(actor, authenticator):
            return actor, authenticator
        # The password was changed or reset after this session (or its cookie) proved it.
        authenticator.logout(location="unrendered")
        st.session_state.pop(SIGNED_IN_AT, None)
        st.session_state[PASSWORD_CHANGED] = True
        st.rerun()
    with header:
        st.title("Pantau SOP")
        st.caption("Pemantauan pelaksanaan SOP Administrasi Pemerintahan")
    with column:
        _login_messages(engine, refusal, locked_now, demo, now)
    return None


def _login_messages(engine: Engine, refusal: str | None, locked_now: datetime | None,
                    demo: dict | None, now: datetime) -> None:  # type: ignore[type-arg]
    if locked_now is not None or refusal == "Maximum number of login attempts exceeded":
        attempted = st.session_state.get("masuk_attempted")
        until = locked_now
        if until is None and attempted:
            with read_session(engine) as session:
                until = locked_until(session, username=attempted, now=now)
        st.error("Akun ini dikunci sementara karena kata sandi salah "
                 f"{MAX_FAILED_LOGINS} kali berturut-turut."
                 + (f" Coba lagi setelah {format_wib(until)}." if until else ""))
    elif st.session_state.pop(PASSWORD_CHANGED, False):
        st.warning("Kata sandi akun ini telah diubah sejak Anda masuk; silakan masuk lagi "
                   "dengan kata sandi yang baru.")
    elif refusal:
        st.error("Sesi tidak berlaku lagi; silakan masuk kembali.")
    elif st.session_state.get("authentication_status") is False:
        st.error("Nama pengguna atau kata sandi salah.")
    if demo:
        st.info(
            "Ini basis data **demo**. Akun demo: "
            + ", ".join(f"`{name}`" for name in demo.get("usernames", []))
            + f"; kata sandi semuanya `{demo['password']}`.",
            icon=":material/science:")


SIGN_OUT = "pantau_keluar"
SIGNED_IN_AT = "pantau_password_proved_at"
PASSWORD_CHANGED = "pantau_password_changed"


def request_sign_out() -> None:
    """The Keluar button: sign out at the start of the next run (see sign_in)."""
    st.session_state[SIGN_OUT] = True
    st.rerun()


def _record_success(engine: Engine):  # type: ignore[no-untyped-def]
    def record(event: dict) -> None:  # type: ignore[type-arg]
        now = utcnow()
        with write_session(engine) as session:
            record_login(session, username=event["username"], now=now)
        password_proved(now)
    return record


def password_proved(at: datetime) -> None:
    """This session knew the current password at `at` (a form login, a password change)."""
    st.session_state[SIGNED_IN_AT] = at


def _cookie_lifetime_days() -> float:
    return float(os.environ.get("PANTAU_COOKIE_EXPIRY_DAYS", "1"))


def _proof_predates_password(actor: Actor, authenticator: stauth.Authenticate) -> bool:
    """Whether this session proved the password before its last change. A session signed in
    by a login cookie counts from the cookie's issue: the library signs only the user name
    and the expiry, so the issue is the expiry less the cookie lifetime."""
    if actor.password_changed_at is None:
        return False
    proved = st.session_state.get(SIGNED_IN_AT)
    if proved is None:
        cookie = authenticator.cookie_controller.get_cookie()  # verified by the library
        try:
            proved = datetime.fromtimestamp(
                float(cookie["exp_date"]) - _cookie_lifetime_days() * 86400, tz=UTC)
        except (KeyError, TypeError, ValueError):
            return True  # no proof we can date: ask for the password
        password_proved(proved)
    return proved < actor.password_changed_at


def _record_failures(engine: Engine, credentials: dict,  # type: ignore[type-arg]
                     before: dict[str, int]) -> datetime | None:
    """Store failures the widget counted; the end of the lockout if one just started."""
    for name, user in credentials["usernames"].items():
        failures = user.get("failed_login_attempts", 0)
        if failures > before.get(name, 0):
            st.session_state["masuk_attempted"] = name
            with write_session(engine) as session:
                return record_failed_logins(session, username=name, failures=failures,
                                            now=utcnow())
    return None
