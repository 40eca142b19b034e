"""Signing in (docs/security.md, "Sign-in").

streamlit-authenticator draws the login form and checks the password against the users in the
database. The session is Pantau SOP's own (services/sessions.py): a random token, kept in the
browser's `pantau_sop` cookie and, hashed, in the database, looked up on every run. So a
login holds across a reload and a new tab, "Keluar" (or a password change, a reset, a
deactivation) ends it on every app process, and a cookie that names no live session is
treated as none and cleared.

Writing the cookie needs the browser: a small component of our own (`ui/cookie_writer/`) sets
or deletes it when it is drawn. The tab's latest write is kept in the session and drawn on
every run, so a page switch in the run that signed in (the root URL sends each role to its own
page) cannot lose it. Doing a write twice changes nothing, and a deletion leaves any token but
its own alone: Streamlit can draw an old deletion again after that page switch, and the
library's unconditional one then removed the cookie of the login after it. The browser sends
no answer back, because an answer starts a run, and that run swallowed a click made at the
same moment ("Masuk" just after the page opened, "Keluar" just after signing in).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import streamlit as st
import streamlit.components.v1 as components
import streamlit_authenticator as stauth
from sqlalchemy import Engine
from streamlit_authenticator.models import cookie_model as _library_cookie_model

from db.engine import read_session, write_session
from services import sessions
from services.accounts import Actor, login_credentials
from services.clock import utcnow
from services.demo import demo_info
from services.formatting import format_wib
from services.sessions import (
    MAX_FAILED_LOGINS,
    AccountLocked,
    end_session,
    record_failed_password,
    resume_session,
    start_session,
    well_formed,
)
from ui.messages import show

COOKIE_NAME = "pantau_sop"
LOGIN_FIELDS = {"Form name": "Masuk", "Username": "Nama pengguna", "Password": "Kata sandi",
                "Login": "Masuk"}
_TOKEN = "pantau_session_token"  # the live session of this browser tab
_STALE = "pantau_stale_cookie"  # a cookie this tab found dead (the browser may still send it)
_COOKIE_JOB = "pantau_cookie_job"  # this tab's latest cookie write, drawn on every run
_NOTICE = "pantau_sign_in_notice"
# The library's own cookie (a JWT it cannot revoke) is switched off: it gets a name nothing
# sets and a lifetime of zero, and a key of its own that signs nothing.
_LIBRARY_COOKIE = "pantau_sop_form"
_LIBRARY_KEY = secrets.token_urlsafe(48)


class _NoCookieManager:
    """What streamlit-authenticator gets instead of extra_streamlit_components' CookieManager,
    which only served the library's cookie (switched off above). That one is a component
    that reads the browser's cookies and answers with them: its answer started a second run
    a second or so after the login page opened, and a "Masuk" click sent while that run
    started was lost (the run carrying the click was interrupted by the answer's run, which
    carries none): the form stayed filled, with no message. Nothing here draws anything."""

    def __init__(self, key: str = "init") -> None:
        self.cookies: dict[str, str] = {}

    def get(self, cookie: str) -> None:
        return None

    def set(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the library's cookie is switched off (cookie_expiry_days=0)")

    def delete(self, *args: Any, **kwargs: Any) -> None:
        return None  # the library's logout, which the app does not use, deletes its cookie


# The library creates its cookie manager in CookieModel.__init__ through this module name.
_library_cookie_model.stx = SimpleNamespace(CookieManager=_NoCookieManager)

_cookie_component = components.declare_component(
    "pantau_cookie", path=str(Path(__file__).parent / "cookie_writer"))


@dataclass(frozen=True)
class CookieJob:
    """A write of the login cookie: set `token` (until `expires`), or delete the cookie if it
    still holds `token`."""

    kind: Literal["set", "delete"]
    token: str
    expires: datetime | None = None  # of a "set"
    id: str = field(default_factory=lambda: secrets.token_hex(8))


def browser_cookies() -> dict[str, str]:
    """The cookies the browser sent when this session's connection opened."""
    return dict(st.context.cookies)


def client_address() -> str:
    """This browser's address (the proxy's forwarded one behind nginx; services/sessions)."""
    peer = st.context.ip_address
    forwarded = st.context.headers.get("X-Forwarded-For") if st.context.headers else None
    return sessions.client_address(peer=peer if isinstance(peer, str) else None,
                                   forwarded_for=forwarded)


def sign_in(engine: Engine) -> Actor | None:
    """The signed-in user, or None after drawing the login page."""
    now = utcnow()
    try:
        actor = _resumed(engine, now)
        if actor is None:
            actor = _login_form(engine, now)
    finally:
        _write_cookie()
    return actor


def request_sign_out(engine: Engine) -> None:
    """The Keluar button: end the session everywhere, clear the cookie, show the login."""
    token = st.session_state.pop(_TOKEN, None)
    with write_session(engine) as session:
        end_session(session, token=token, now=utcnow())
    st.session_state[_STALE] = token
    if token is not None:
        _queue_cookie(CookieJob("delete", token))
    _forget_form_login()
    st.rerun()


def current_token() -> str | None:
    token: str | None = st.session_state.get(_TOKEN)
    return token


def _resumed(engine: Engine, now: datetime) -> Actor | None:
    """The user of this tab's session, or of the browser's cookie."""
    token: str | None = st.session_state.get(_TOKEN)
    from_cookie = token is None
    if token is None:
        token = browser_cookies().get(COOKIE_NAME)
        if token is None or token == st.session_state.get(_STALE):
            return None
    with read_session(engine) as session:
        actor = resume_session(session, token=token, now=now)
    if actor is not None:
        st.session_state[_TOKEN] = token
        return actor
    # The session ended (Keluar elsewhere, a password change, deactivation, expiry), or the
    # cookie is not one of ours: treat it as none, and clear it from the browser.
    st.session_state.pop(_TOKEN, None)
    st.session_state[_STALE] = token
    _queue_cookie(CookieJob("delete", token))
    _forget_form_login()
    if not from_cookie or well_formed(token):  # one of ours that ended, not a stray cookie
        st.session_state[_NOTICE] = ("warning", "Sesi Anda sudah berakhir (keluar di perangkat "
                                     "lain, kata sandi diganti, akun dinonaktifkan, atau masa "
                                     "berlakunya habis); silakan masuk lagi.")
    return None


def _login_form(engine: Engine, now: datetime) -> Actor | None:
    with read_session(engine) as session:
        credentials = login_credentials(session)
        demo = demo_info(session)
    before = {name: user["failed_login_attempts"]
              for name, user in credentials["usernames"].items()}
    address = client_address()
    column = st.columns([1, 2, 1])[1]
    with column:
        st.title("Pantau SOP")
        st.caption("Pemantauan pelaksanaan SOP Administrasi Pemerintahan")
        with read_session(engine) as session:
            address_lock = sessions.address_locked_until(session, address=address, now=now)
        if address_lock is not None:
            show(_addresslocked_text(address_lock), kind="error")
            return None
        # A failed attempt is told from an old one by starting each run from "no attempt".
        if st.session_state.get("authentication_status") is False:
            st.session_state["authentication_status"] = None
        authenticator = stauth.Authenticate(
            credentials, cookie_name=_LIBRARY_COOKIE, cookie_key=_LIBRARY_KEY,
            cookie_expiry_days=0, auto_hash=False,
            login_sleep_time=float(os.environ.get("PANTAU_LOGIN_SLEEP_TIME", "0.7")))
        authenticator.login(location="main", fields=LOGIN_FIELDS, key="masuk")
        actor = _after_form(engine, credentials, before, now, address=address)
        if actor is None:
            _messages(demo)
    return actor


def _after_form(engine: Engine, credentials: dict[str, Any], before: dict[str, int],
                now: datetime, *, address: str) -> Actor | None:
    """A right password starts a session (unless the account or the address is locked); a
    wrong one is counted in the database, for the account and for the address."""
    if st.session_state.get("authentication_status"):
        username = str(st.session_state["username"])
        try:
            with write_session(engine) as session:
                signed = start_session(session, username=username, now=now, client=address)
        except AccountLocked as locked:
            _forget_form_login()
            st.session_state[_NOTICE] = ("error", locked_text(locked.until))
            return None
        except sessions.AddressLocked as locked:
            _forget_form_login()
            st.session_state[_NOTICE] = ("error", _addresslocked_text(locked.until))
            return None
        st.session_state[_TOKEN] = signed.token
        st.session_state.pop(_STALE, None)
        _queue_cookie(CookieJob("set", signed.token, expires=signed.expires_at))
        st.rerun()  # the page without the form; the cookie is written by the next runs
    if st.session_state.get("authentication_status") is False:  # a wrong attempt, this run
        with write_session(engine) as session:
            until = sessions.record_failed_address(session, address=address, now=now)
        if until is not None:
            st.session_state[_NOTICE] = ("error", _addresslocked_text(until))
    for name, user in credentials["usernames"].items():
        if user.get("failed_login_attempts", 0) > before.get(name, 0):
            with write_session(engine) as session:
                until = record_failed_password(session, username=name, now=now)
            if until is not None:
                st.session_state[_NOTICE] = ("error", locked_text(until))
    return None


def _addresslocked_text(until: datetime) -> str:
    return (f"Terlalu banyak percobaan masuk yang salah dari perangkat atau jaringan ini. "
            f"Coba lagi setelah {format_wib(until)}.")


def locked_text(until: datetime) -> str:
    return (f"Akun ini dikunci sementara karena kata sandi salah {MAX_FAILED_LOGINS} kali "
            f"berturut-turut. Coba lagi setelah {format_wib(until)}.")


def _messages(demo: dict[str, Any] | None) -> None:
    notice = st.session_state.pop(_NOTICE, None)
    if notice is not None:
        kind, text = notice
        show(text, kind=kind)
    elif st.session_state.get("authentication_status") is False:
        show("Nama pengguna atau kata sandi salah.", kind="error")
    if demo:
        st.info("Ini basis data **demo**. Akun demo: "
                + ", ".join(f"`{name}`" for name in demo.get("usernames", []))
                + f"; kata sandi semuanya `{demo['password']}`.", icon=":material/science:")


def _forget_form_login() -> None:
    """The login form's state (the library keeps it in the session), as after its logout."""
    for key in ("authentication_status", "username", "name"):
        st.session_state[key] = None


def _queue_cookie(job: CookieJob) -> None:
    st.session_state[_COOKIE_JOB] = job


def _write_cookie() -> None:
    """Draw this tab's latest cookie write (module docstring), on every run.

    Always in a block of its own, drawn on every run, write or not: the page's elements after
    it then keep their places when the first write comes. Otherwise each moves down one place,
    and the browser mounts a widget at its new place afresh, with its default value: a filter
    seeded from the URL (the period of a shared link) then came back at its first option on
    the next click."""
    slot = st.container(key="pantau-cookie-slot")  # an empty block takes no room on screen
    job: CookieJob | None = st.session_state.get(_COOKIE_JOB)
    if job is not None:
        with slot:
            draw_cookie_job(job)


def draw_cookie_job(job: CookieJob) -> None:
    """The component that does `job` in the browser when it is drawn."""
    _cookie_component(
        kind=job.kind, name=COOKIE_NAME, token=job.token,
        # milliseconds since 1970, which every browser's Date reads alike
        expires=round(job.expires.timestamp() * 1000) if job.expires is not None else None,
        id=job.id,
        key=f"pantau-cookie-{job.id}")  # a new component per job, so the browser does it
