"""Accounts and the calendar's admin side, on both backends."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.engine import read_session, write_session
from db.models import User
from services.accounts import (
    FIRST_ADMIN_EXISTS,
    SYSTEM,
    create_first_admin,
    delete_user,
    login_credentials,
    verify_password,
)
from services.calendar import WorkingCalendar, load_calendar_settings
from services.calendar_admin import add_holiday, add_ramadan_period, remove_holiday
from services.errors import InvalidInput, PermissionDenied
from tests.db.test_workflow_engine import start
from tests.organisation import NOW, PASSWORD, Organisation, wib


def test_first_admin_only_while_no_user_exists(engine: Engine) -> None:
    with write_session(engine) as session:
        admin = create_first_admin(session, username="Admin", full_name="Admin",
                                   password="sandi-admin-1", now=NOW)
    assert admin.username == "admin" and admin.is_admin
    assert verify_password("sandi-admin-1", admin.password_hash)
    with pytest.raises(PermissionDenied, match="Akun admin sudah dibuat"):
        with write_session(engine) as session:
            create_first_admin(session, username="lain", full_name="Lain",
                               password="sandi-admin-2", now=NOW)


def test_credentials_leave_out_inactive_users_and_hold_hashes(org: Organisation) -> None:
    with read_session(org.engine) as session:
        credentials = login_credentials(session)["usernames"]
    assert credentials["kadis"]["roles"] == ["Kadis"]
    assert verify_password(PASSWORD, credentials["kadis"]["password"])
    assert PASSWORD not in str(credentials)


def test_every_account_has_a_role_and_a_bidang_user_a_bidang_unit(org: Organisation) -> None:
    from services.accounts import create_user, update_user

    def create(**changes: object) -> None:
        arguments: dict = dict(actor=SYSTEM, username="baru", full_name="Baru",
                               password="sandi-baru-2026", roles=["Bidang"],
                               unit_code="bidang-arsip", now=NOW)
        with write_session(org.engine) as session:
            create_user(session, **{**arguments, **changes})

    with pytest.raises(InvalidInput, match="paling sedikit satu peran"):
        create(roles=[])
    with pytest.raises(InvalidInput, match="wajib punya unit Bidang"):
        create(unit_code=None)
    with pytest.raises(InvalidInput, match="wajib punya unit Bidang"):
        create(unit_code="sekretariat")
    create()  # a Bidang user of a Bidang unit
    create(username="pengurus", roles=[], unit_code=None, is_admin=True)  # an admin needs none
    with pytest.raises(InvalidInput, match="wajib punya unit Bidang"):
        with write_session(org.engine) as session:
            update_user(session, actor=SYSTEM, username="baru", full_name="Baru",
                        roles=["Bidang"], unit_code=None, is_admin=False, is_recorder=False,
                        is_active=True)


def test_user_in_the_audit_trail_is_never_deleted(org: Organisation) -> None:
    start(org, by="fungsional")
    with pytest.raises(InvalidInput, match="tercatat pada 1 kejadian"):
        with write_session(org.engine) as session:
            delete_user(session, actor=SYSTEM, username="fungsional")
    with pytest.raises(PermissionDenied):
        with write_session(org.engine) as session:
            delete_user(session, actor=org.actor("kadis"), username="monev")
    with write_session(org.engine) as session:
        delete_user(session, actor=SYSTEM, username="monev")


def test_calendar_changes_apply_to_working_time(org: Organisation) -> None:
    admin = org.actor("admin")
    with write_session(org.engine) as session:
        add_holiday(session, actor=admin, day=date(2025, 2, 4), name="Libur daerah", now=NOW)
        remove_holiday(session, actor=admin, day=date(2025, 5, 1), now=NOW)
        add_ramadan_period(session, actor=admin, start=date(2025, 3, 1), end=date(2025, 3, 30),
                           label="Ramadan 1446 H")
    with pytest.raises(PermissionDenied):
        with write_session(org.engine) as session:
            add_holiday(session, actor=org.actor("kadis"), day=date(2025, 2, 5), name="x",
                        now=NOW)
    with read_session(org.engine) as session:
        calendar = WorkingCalendar(load_calendar_settings(session))
    minutes = calendar.working_minutes(
        [wib(2025, 2, 4), wib(2025, 5, 1), wib(2025, 3, 3)],
        [wib(2025, 2, 5), wib(2025, 5, 2), wib(2025, 3, 4)])
    assert list(minutes) == [0, 450, 390]


def test_simultaneous_first_run_setups_make_one_admin_and_refuse_the_rest(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row 15 of issue 15: ten setups at once on PostgreSQL made one admin and nine raw
    IntegrityErrors. On PostgreSQL every setup has looked for users (and found none) before
    any goes on; SQLite writers queue, so there they only start together."""
    setups = 10
    barrier = threading.Barrier(setups, timeout=120)
    if engine.dialect.name == "postgresql":
        import services.accounts

        looked = services.accounts.has_users

        def has_users_then_wait(session: Session) -> bool:
            found = looked(session)
            barrier.wait()
            return found

        monkeypatch.setattr(services.accounts, "has_users", has_users_then_wait)
        gate = None
    else:
        gate = barrier
    made: list[str] = []
    refused: list[str] = []
    failures: list[str] = []

    def setup(number: int) -> None:
        try:
            if gate is not None:
                gate.wait()
            with write_session(engine) as session:
                create_first_admin(session, username=f"admin{number}", full_name="Admin",
                                   password="sandi-admin-1", now=NOW)
            made.append(f"admin{number}")
        except PermissionDenied as error:
            refused.append(str(error))
        except Exception as error:  # noqa: BLE001 - anything else is what this test is about
            failures.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=setup, args=(n,)) for n in range(setups)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(made) == 1
    assert refused == [FIRST_ADMIN_EXISTS] * (setups - 1)
    with read_session(engine) as session:
        assert session.scalars(select(User.username)).all() == made
