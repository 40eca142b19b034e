"""Sign-in sessions and the lockout (services/sessions.py) on both backends: a session lives
until Keluar, a password change or reset, deactivation or its expiry, on every process; wrong
passwords are counted atomically, even all at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db.engine import make_engine, read_session, write_session
from db.models import LoginSession, User
from services.accounts import SYSTEM, change_own_password, reset_password, update_user
from services.sessions import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    AccountLocked,
    end_session,
    record_failed_password,
    resume_session,
    start_session,
)
from tests.organisation import NOW, PASSWORD, Organisation


def _start(org: Organisation, username: str = "kadis", now=NOW):  # type: ignore[no-untyped-def]
    with write_session(org.engine) as session:
        return start_session(session, username=username, now=now, client="10.0.0.7")


def _resume(org: Organisation, token: str | None, now=NOW):  # type: ignore[no-untyped-def]
    with read_session(org.engine) as session:
        return resume_session(session, token=token, now=now)


def test_a_session_resumes_until_it_ends_and_keeps_only_a_hash(org: Organisation) -> None:
    signed = _start(org)
    assert signed.actor.username == "kadis" and signed.expires_at == NOW + timedelta(days=1)
    actor = _resume(org, signed.token)
    assert actor is not None and actor.username == "kadis"
    with read_session(org.engine) as session:
        stored = session.scalar(select(LoginSession))
    assert stored.token_hash != signed.token and signed.token not in stored.token_hash
    assert stored.client == "10.0.0.7"
    assert _resume(org, signed.token, now=NOW + timedelta(days=1)) is None  # expired
    with write_session(org.engine) as session:
        end_session(session, token=signed.token, now=NOW)
    assert _resume(org, signed.token) is None  # Keluar: the copied cookie is dead too


@pytest.mark.parametrize("token", [None, "", "x", "a" * 42, "a" * 44, "é" * 43,
                                   "eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImthZGlzIn0.",
                                   "a" * 43])
def test_anything_but_a_live_token_is_no_session(org: Organisation, token: str | None) -> None:
    _start(org)
    assert _resume(org, token) is None


def test_a_password_change_reset_or_deactivation_ends_sessions(org: Organisation) -> None:
    mine, other = _start(org, "sekretaris"), _start(org, "sekretaris")
    with write_session(org.engine) as session:
        change_own_password(session, actor=org.actor("sekretaris"), current=PASSWORD,
                            new="sandi-baru-2026", repeated="sandi-baru-2026", now=NOW,
                            keep_token=mine.token)
    assert _resume(org, mine.token) is not None  # the session that changed it stays
    assert _resume(org, other.token) is None
    with write_session(org.engine) as session:
        reset_password(session, actor=SYSTEM, username="sekretaris", new="sandi-lain-2026",
                       now=NOW)
    assert _resume(org, mine.token) is None
    kadis = _start(org, "kadis")
    with write_session(org.engine) as session:
        update_user(session, actor=SYSTEM, username="kadis", full_name="Drs. Kepala Dinas",
                    roles=["Kadis"], unit_code="sekretariat", is_admin=False,
                    is_recorder=False, is_active=False, now=NOW)
    assert _resume(org, kadis.token) is None
    with pytest.raises(Exception, match="tidak aktif"):
        _start(org, "kadis")


def test_five_wrong_passwords_lock_for_fifteen_minutes_even_the_right_one(
        org: Organisation) -> None:
    with write_session(org.engine) as session:
        for _ in range(MAX_FAILED_LOGINS - 1):
            assert record_failed_password(session, username="kadis", now=NOW) is None
        assert record_failed_password(session, username="kadis", now=NOW) == NOW + LOCKOUT
    with pytest.raises(AccountLocked) as locked:
        _start(org, now=NOW + timedelta(minutes=14))
    assert locked.value.until == NOW + LOCKOUT
    _start(org, now=NOW + LOCKOUT + timedelta(seconds=1))  # over: the count starts again
    with read_session(org.engine) as session:
        user = session.scalar(select(User).where(User.username == "kadis"))
    assert (user.failed_login_count, user.locked_until) == (0, None)


def test_an_expired_lockout_counts_again_from_one(org: Organisation) -> None:
    with write_session(org.engine) as session:
        for _ in range(MAX_FAILED_LOGINS):
            record_failed_password(session, username="kadis", now=NOW)
        later = NOW + LOCKOUT + timedelta(minutes=1)
        assert record_failed_password(session, username="kadis", now=later) is None
        count = session.scalar(select(User.failed_login_count).where(User.username == "kadis"))
    assert count == 1


def test_thirty_wrong_guesses_at_once_are_all_counted(org: Organisation,
                                                      database_url: str) -> None:
    """Three waves of ten concurrent wrong passwords (a read-modify-write count lost most of
    them); then the right password is refused."""
    engine = make_engine(database_url, pool_size=10, max_overflow=0)
    try:
        for _wave in range(3):
            barrier = threading.Barrier(10)

            def guess(barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                with write_session(engine) as session:
                    record_failed_password(session, username="kadis", now=NOW)

            threads = [threading.Thread(target=guess) for _ in range(10)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        with read_session(engine) as session:
            count = session.scalar(select(User.failed_login_count)
                                   .where(User.username == "kadis"))
            sessions = session.scalar(select(func.count()).select_from(LoginSession))
        assert count == 30 and sessions == 0
        with pytest.raises(AccountLocked):
            _start(org, now=NOW + timedelta(minutes=1))
    finally:
        engine.dispose()
