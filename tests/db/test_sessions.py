"""Sign-in sessions and the lockout (services/sessions.py) on both backends: a session lives
until Keluar, a password change or reset, deactivation or its expiry, on every process; wrong
passwords are counted atomically, even all at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.engine import make_engine, read_session, write_session
from db.models import LoginAddress, LoginSession, User
from services.accounts import SYSTEM, change_own_password, reset_password, update_user
from services.sessions import (
    LOCAL,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    MAX_FAILED_PER_ADDRESS,
    AccountLocked,
    AddressLocked,
    PasswordCheck,
    address_locked_until,
    check_current_password,
    client_address,
    end_session,
    record_failed_address,
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


def _three_waves_of_ten(engine: Engine, write: Callable[[Session], object]) -> None:
    """Thirty writes, in three waves of ten threads released together by a barrier."""
    for _wave in range(3):
        barrier = threading.Barrier(10)

        def one(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            with write_session(engine) as session:
                write(session)

        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def test_thirty_wrong_guesses_at_once_are_all_counted(org: Organisation,
                                                      database_url: str) -> None:
    """Three waves of ten concurrent wrong passwords (a read-modify-write count lost most of
    them); then the right password is refused."""
    engine = make_engine(database_url, pool_size=10, max_overflow=0)
    try:
        _three_waves_of_ten(engine, lambda session: record_failed_password(
            session, username="kadis", now=NOW))
        with read_session(engine) as session:
            count = session.scalar(select(User.failed_login_count)
                                   .where(User.username == "kadis"))
            sessions = session.scalar(select(func.count()).select_from(LoginSession))
        assert count == 30 and sessions == 0
        with pytest.raises(AccountLocked):
            _start(org, now=NOW + timedelta(minutes=1))
    finally:
        engine.dispose()


# --- per client address ------------------------------------------------------------------------


def test_the_address_is_the_proxys_last_forwarded_one_and_a_client_cannot_forge_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # nginx appends the address it saw; what the client sent stays to its left
    assert client_address(peer=None, forwarded_for="6.6.6.6, 203.0.113.9") == "203.0.113.9"
    assert client_address(peer=None, forwarded_for=None) == LOCAL  # a browser on the server
    # a direct connection from elsewhere: its own address, whatever header it sends
    assert client_address(peer="198.51.100.4", forwarded_for="10.0.0.1") == "198.51.100.4"
    monkeypatch.setenv("PANTAU_TRUSTED_PROXIES", "10.9.9.9, 10.9.9.8")
    assert client_address(peer="10.9.9.8", forwarded_for="1.2.3.4") == "1.2.3.4"
    assert client_address(peer="10.9.9.7", forwarded_for="1.2.3.4") == "10.9.9.7"


def test_twenty_wrong_sign_ins_from_one_address_lock_it_for_every_account(
        org: Organisation) -> None:
    address = "203.0.113.9"
    for attempt in range(MAX_FAILED_PER_ADDRESS - 1):
        with write_session(org.engine) as session:
            assert record_failed_address(session, address=address,
                                         now=NOW + timedelta(seconds=attempt)) is None
    with write_session(org.engine) as session:
        until = record_failed_address(session, address=address, now=NOW + timedelta(minutes=1))
    assert until == NOW + timedelta(minutes=1) + LOCKOUT
    with pytest.raises(AddressLocked), write_session(org.engine) as session:
        start_session(session, username="kadis", now=NOW + timedelta(minutes=2), client=address)
    with write_session(org.engine) as session:  # another address signs in
        assert start_session(session, username="kadis", now=NOW + timedelta(minutes=2),
                             client="198.51.100.4").actor.username == "kadis"
    later = until + timedelta(seconds=1)  # the lock ended: a fresh window, one failure
    with write_session(org.engine) as session:
        assert record_failed_address(session, address=address, now=later) is None
        assert session.scalar(select(LoginAddress.failed_count)
                              .where(LoginAddress.address == address)) == 1
        assert address_locked_until(session, address=address, now=later) is None


def test_failures_spread_beyond_the_window_do_not_add_up(org: Organisation) -> None:
    for attempt in range(MAX_FAILED_PER_ADDRESS * 2):  # one every 10 minutes: never 20 in 15
        with write_session(org.engine) as session:
            assert record_failed_address(session, address="a", now=NOW + timedelta(
                minutes=10 * attempt)) is None


def test_thirty_wrong_sign_ins_from_one_address_at_once_are_all_counted(
        org: Organisation, database_url: str) -> None:
    engine = make_engine(database_url, pool_size=10, max_overflow=0)
    try:
        _three_waves_of_ten(engine, lambda session: record_failed_address(
            session, address="203.0.113.9", now=NOW))
        with read_session(engine) as session:
            assert session.scalar(select(LoginAddress.failed_count)) == 30
            assert address_locked_until(session, address="203.0.113.9", now=NOW) is not None
    finally:
        engine.dispose()


def test_a_wrong_current_password_counts_toward_the_lockout(org: Organisation) -> None:
    kadis = org.actor("kadis")

    def check(password: str, at: datetime):  # type: ignore[no-untyped-def]
        with write_session(org.engine) as session:
            return check_current_password(session, actor=kadis, password=password, now=at)

    for attempt in range(MAX_FAILED_LOGINS - 1):
        assert check("salah-salah", NOW + timedelta(seconds=attempt)) == PasswordCheck(
            matches=False, locked_until=None)
    fifth = check("salah-salah", NOW + timedelta(seconds=10))
    assert not fifth.matches and fifth.locked_until == NOW + timedelta(seconds=10) + LOCKOUT
    assert check(PASSWORD, NOW + timedelta(minutes=1)) == PasswordCheck(  # locked: no match
        matches=False, locked_until=fifth.locked_until)
    assert check(PASSWORD, NOW + LOCKOUT + timedelta(minutes=1)).matches
