"""Security claims of docs/security.md that no other data-layer test proves, on both backends."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db.engine import make_engine, read_session, write_session
from db.models import (
    AppSetting,
    Case,
    Event,
    HolidayOverride,
    RamadanPeriod,
    Unit,
    User,
    WorkHours,
)
from services.accounts import (
    SYSTEM,
    Actor,
    change_own_password,
    create_user,
    hash_password,
    load_actor,
    reset_password,
    update_user,
    verify_password,
)
from services.calendar import DayHours
from services.calendar_admin import (
    add_ramadan_period,
    delete_ramadan_period,
    remove_holiday,
    set_work_hours,
)
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.organisation import create_unit, update_unit
from services.settings import set_compliance_target
from services.workflow import engine as wf
from tests.conftest import REPO_ROOT
from tests.db.test_workflow_engine import act, events, start
from tests.organisation import NOW, PASSWORD, Organisation, build_organisation, wib

# --- every admin-only service refuses other users, whatever the page shows --------------------

ADMIN_ONLY: dict[str, Callable[[Session, Actor], Any]] = {
    "create_user": lambda s, a: create_user(
        s, actor=a, username="penyusup", full_name="Penyusup", password="sandi-penyusup",
        roles=["Kadis"], is_admin=True, now=NOW),
    "update_user (grant admin)": lambda s, a: update_user(
        s, actor=a, username="kadis", full_name="Drs. Kepala Dinas", roles=["Kadis"],
        unit_code="sekretariat", is_admin=True, is_recorder=True, is_active=True),
    "reset_password": lambda s, a: reset_password(
        s, actor=a, username="admin", new="sandi-diambil-alih", now=NOW),
    "create_unit": lambda s, a: create_unit(
        s, actor=a, code="unit-baru", name="Unit Baru", kind="bidang", now=NOW),
    "update_unit": lambda s, a: update_unit(
        s, actor=a, code="bidang-arsip", name="Bidang Arsip", kind="bidang", is_active=False),
    "set_compliance_target": lambda s, a: set_compliance_target(
        s, actor=a, value=0.1, now=NOW),
    "set_work_hours": lambda s, a: set_work_hours(
        s, actor=a, regime="normal", weekday=0, hours=DayHours(420, 720, 750, 900)),
    "add_ramadan_period": lambda s, a: add_ramadan_period(
        s, actor=a, start=date(2027, 2, 8), end=date(2027, 3, 9), label="Ramadan 1448 H"),
    "delete_ramadan_period": lambda s, a: delete_ramadan_period(
        s, actor=a, period_id=s.scalar(select(func.min(RamadanPeriod.id))) or 1),
    "remove_holiday": lambda s, a: remove_holiday(s, actor=a, day=date(2026, 8, 17), now=NOW),
}


def _everything_an_admin_controls(engine: Engine) -> tuple:
    with read_session(engine) as session:
        users = sorted(
            (u.username, u.full_name, u.is_admin, u.is_recorder, u.is_active, u.password_hash,
             tuple(sorted(r.name for r in u.roles)))
            for u in session.scalars(select(User)))
        tables = tuple(
            sorted(tuple(row) for row in session.execute(select(*model.__table__.columns)))
            for model in (Unit, AppSetting, WorkHours, RamadanPeriod, HolidayOverride))
    return users, tables


@pytest.mark.parametrize("action", ADMIN_ONLY)
def test_admin_only_services_refuse_every_other_user(org: Organisation, action: str) -> None:
    with write_session(org.engine) as session:  # so that delete_ramadan_period has a target
        add_ramadan_period(session, actor=SYSTEM, start=date(2026, 2, 18),
                           end=date(2026, 3, 19), label="Ramadan 1447 H")
    before = _everything_an_admin_controls(org.engine)
    for username in ("kadis", "sekretaris", "fungsional"):  # the heads, and a recorder
        with pytest.raises(PermissionDenied, match="Hanya admin"):
            with write_session(org.engine) as session:
                ADMIN_ONLY[action](session, org.actor(username))
    assert _everything_an_admin_controls(org.engine) == before
    with write_session(org.engine) as session:  # the same call is fine for an admin
        ADMIN_ONLY[action](session, org.actor("admin"))
    assert _everything_an_admin_controls(org.engine) != before


# --- passwords ----------------------------------------------------------------------------------


def _hash_of(engine: Engine, username: str) -> str:
    with read_session(engine) as session:
        return session.scalar(select(User.password_hash).where(User.username == username))


def test_passwords_are_kept_only_as_salted_bcrypt_hashes(org: Organisation) -> None:
    kadis, sekretaris = _hash_of(org.engine, "kadis"), _hash_of(org.engine, "sekretaris")
    assert kadis.startswith("$2b$") and len(kadis) == 60
    assert PASSWORD not in kadis
    assert kadis != sekretaris  # the same password, a different salt
    assert verify_password(PASSWORD, kadis) and verify_password(PASSWORD, sekretaris)
    assert not verify_password(PASSWORD + "x", kadis)
    assert not verify_password(PASSWORD, "bukan-hash")  # a damaged hash refuses, not crashes


def test_bcrypt_cost_is_12_unless_lowered_and_never_below_4(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PANTAU_BCRYPT_ROUNDS")
    assert hash_password("sandi-uji-biaya").startswith("$2b$12$")
    monkeypatch.setenv("PANTAU_BCRYPT_ROUNDS", "1")
    assert hash_password("sandi-uji-biaya").startswith("$2b$04$")


@pytest.mark.parametrize(("password", "message"), [
    ("pendek7", "Kata sandi minimal 8 karakter."),
    ("é" * 37, "Kata sandi maksimal 72 byte."),  # 37 characters, 74 bytes: bcrypt reads 72
    # the sign-in form trims what is typed: an edge space would make the password unusable
    ("sandi-dengan-spasi ", "tidak boleh diawali atau diakhiri spasi"),
    (" sandi-dengan-spasi", "tidak boleh diawali atau diakhiri spasi"),
])
def test_password_rules_hold_for_every_way_a_password_is_set(
        org: Organisation, password: str, message: str) -> None:
    attempts: list[Callable[[Session], Any]] = [
        lambda s: create_user(s, actor=SYSTEM, username="baru", full_name="Baru",
                              password=password, roles=[], now=NOW),
        lambda s: reset_password(s, actor=SYSTEM, username="kadis", new=password, now=NOW),
        lambda s: change_own_password(s, actor=org.actor("kadis"), current=PASSWORD,
                                      new=password, repeated=password, now=NOW),
    ]
    before = _hash_of(org.engine, "kadis")
    for attempt in attempts:
        with pytest.raises(InvalidInput, match=message):
            with write_session(org.engine) as session:
                attempt(session)
    assert _hash_of(org.engine, "kadis") == before
    with read_session(org.engine) as session:
        assert session.scalar(select(User).where(User.username == "baru")) is None
    with write_session(org.engine) as session:  # exactly 72 bytes is accepted
        reset_password(session, actor=SYSTEM, username="kadis", new="é" * 36, now=NOW)
    assert verify_password("é" * 36, _hash_of(org.engine, "kadis"))


def test_changing_ones_password_needs_the_current_one(org: Organisation) -> None:
    before = _hash_of(org.engine, "kadis")
    with pytest.raises(InvalidInput, match="Kata sandi saat ini salah."):
        with write_session(org.engine) as session:
            change_own_password(session, actor=org.actor("kadis"), current="tebakan-saja",
                                new="sandi-baru-kadis", repeated="sandi-baru-kadis", now=NOW)
    assert _hash_of(org.engine, "kadis") == before


# --- input bounds: refused with a message in Bahasa Indonesia, nothing written ----------------


def _start(title: str = "Kasus uji", **kwargs: Any) -> Callable[[Session, Organisation], Any]:
    return lambda s, org: wf.start_case(
        s, actor=org.actor("fungsional"), sop_code="penyusunan-lkj", title=title,
        at=wib(2026, 3, 2, 8), now=NOW, **kwargs)


BAD_INPUT: dict[str, tuple[Callable[[Session, Organisation], Any], str]] = {
    "case title too short": (_start(title=" ab "), "Judul kasus wajib diisi, 3 sampai 200"),
    "case title too long": (_start(title="x" * 201), "Judul kasus wajib diisi, 3 sampai 200"),
    "period too long": (_start(period_label="x" * 41),
                        "Periode terlalu panjang: 41 karakter, maksimal 40"),
    "start note too long": (_start(note="x" * 2001),
                            "Catatan terlalu panjang: 2001 karakter, maksimal 2000"),
    "username with spaces": (
        lambda s, org: create_user(s, actor=SYSTEM, username="budi santoso", full_name="Budi",
                                   password=PASSWORD, roles=[], now=NOW),
        "Nama pengguna 3-64 karakter"),
    "username with a quote": (
        lambda s, org: create_user(s, actor=SYSTEM, username="budi'--", full_name="Budi",
                                   password=PASSWORD, roles=[], now=NOW),
        "Nama pengguna 3-64 karakter"),
    "full name too long": (
        lambda s, org: create_user(s, actor=SYSTEM, username="budi", full_name="B" * 121,
                                   password=PASSWORD, roles=[], now=NOW),
        "Nama lengkap wajib diisi \\(maksimal 120 karakter\\)"),
    "unknown role": (
        lambda s, org: create_user(s, actor=SYSTEM, username="budi", full_name="Budi",
                                   password=PASSWORD, roles=["Raja"], now=NOW),
        "Peran tidak dikenal: Raja"),
    "unit code with spaces": (
        lambda s, org: create_unit(s, actor=SYSTEM, code="Bidang Baru", name="Bidang Baru",
                                   kind="bidang", now=NOW),
        "Kode unit: huruf kecil"),
    "unit name too long": (
        lambda s, org: create_unit(s, actor=SYSTEM, code="bidang-baru", name="B" * 121,
                                   kind="bidang", now=NOW),
        "Nama unit wajib diisi \\(maksimal 120 karakter\\)"),
}


def _row_counts(engine: Engine) -> tuple[int, ...]:
    with read_session(engine) as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (Case, Event, User, Unit))


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_refused_in_indonesian_and_writes_nothing(org: Organisation,
                                                               case: str) -> None:
    action, message = BAD_INPUT[case]
    before = _row_counts(org.engine)
    with pytest.raises(InvalidInput, match=message):
        with write_session(org.engine) as session:
            action(session, org)
    assert _row_counts(org.engine) == before


def test_step_details_are_bounded(org: Organisation) -> None:
    case = start(org).case_id
    with pytest.raises(InvalidInput, match="Output terlalu panjang: 201 karakter, maksimal 200"):
        act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9),
            details={"output": "x" * 201})
    with pytest.raises(InvalidInput, match="Kelengkapan dan Output terlalu panjang"):
        act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9),
            details={"output": "ND 12/SEKR", "kelengkapan": ["x" * 1000] * 5})
    assert len(events(org, case)) == 1
    act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9),
        details={"output": "ND 12/SEKR"})
    assert events(org, case)[-1].details == {"output": "ND 12/SEKR"}


# --- the audit trail ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_events_cannot_be_truncated_on_postgresql(postgres_databases) -> None:
    """PostgreSQL only: SQLite has no TRUNCATE (its DELETE trigger covers the same ground)."""
    engine = make_engine(postgres_databases.fresh())
    org = build_organisation(engine)
    start(org)
    with pytest.raises(DBAPIError, match="append-only"):
        with org.engine.begin() as connection:
            connection.execute(text("TRUNCATE event CASCADE"))
    with read_session(org.engine) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1
    engine.dispose()


# --- SQL: user input is only ever a bound parameter -------------------------------------------

INJECTIONS = [
    "x'); DROP TABLE event; --",
    "' OR '1'='1",
    "Robert\"; DELETE FROM app_user; --",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_sql_in_user_input_is_stored_and_matched_as_plain_text(org: Organisation,
                                                               payload: str) -> None:
    case = start(org, title=f"Kasus {payload}", period_label=payload[:40]).case_id
    act(org, "sekretaris", "complete", case, 1, wib(2026, 3, 2, 9), note=payload)
    with read_session(org.engine) as session:
        row = session.get(Case, case)
        assert (row.title, row.period_label) == (f"Kasus {payload}", payload[:40])
        assert session.scalar(select(func.count()).select_from(Event)) == 2
        assert session.scalar(select(func.count()).select_from(User)) == 9
    assert events(org, case)[-1].note == payload
    with pytest.raises(NotFound):  # a lookup by name matches the whole text, nothing else
        with read_session(org.engine) as session:
            load_actor(session, username=payload)
    with write_session(org.engine) as session:
        wf.cancel_case(session, actor=org.actor("admin"), case_id=case,
                       at=wib(2026, 3, 2, 10), reason=payload, now=NOW)
    assert case_row_reason(org, case) == payload


def case_row_reason(org: Organisation, case: int) -> str | None:
    with read_session(org.engine) as session:
        return session.scalar(select(Case.cancel_reason).where(Case.id == case))


# The only SQL strings built by interpolation, and why each is safe: no user input reaches them.
INTERPOLATED_SQL = {
    ("db/engine.py", "PRAGMA busy_timeout"),  # a module constant
    ("db/engine.py", "BEGIN "),  # "IMMEDIATE" or nothing
    # an ORM class's table and column names, and one "(?, ...)" per row; the rows' values
    # are bound as parameters
    ("services/workflow/replay.py", ") VALUES "),
}
SQL_CALLS = {"execute", "exec_driver_sql", "executemany", "executescript"}


def _builds_a_string(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):  # "..." + x, "..." % x
        return any(isinstance(side, ast.Constant) and isinstance(side.value, str)
                   or _builds_a_string(side) for side in (node.left, node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):  # "...".format(x)
        return (isinstance(node.func.value, ast.Constant) and node.func.attr == "format"
                or _builds_a_string(node.func.value))
    return False


def _imports_sqlalchemy_text(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy"
               and any(alias.name == "text" for alias in node.names) for node in ast.walk(tree))


def interpolated_sql_sites() -> set[tuple[str, str]]:
    sources = [REPO_ROOT / "app.py", REPO_ROOT / "manage.py"]
    for folder in ("db", "services", "ui", "pages"):
        sources += sorted((REPO_ROOT / folder).rglob("*.py"))
    found = set()
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        raw_text = _imports_sqlalchemy_text(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            is_sql = (isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS
                      or raw_text and isinstance(node.func, ast.Name) and node.func.id == "text")
            if is_sql and _builds_a_string(node.args[0]):
                found.add((path.relative_to(REPO_ROOT).as_posix(), ast.unparse(node.args[0])))
    return found


def test_sql_is_never_built_from_strings_outside_the_known_constant_sites() -> None:
    found = interpolated_sql_sites()
    unexplained = {(path, sql) for path, sql in found
                   if not any(path == known and marker in sql
                              for known, marker in INTERPOLATED_SQL)}
    assert not unexplained, ("SQL built by string interpolation; bind the values as "
                             f"parameters instead: {sorted(unexplained)}")
    # The scan does find the known sites (so it would find a new one too).
    assert {(path, marker) for path, marker in INTERPOLATED_SQL
            if any(p == path and marker in sql for p, sql in found)} == INTERPOLATED_SQL


def test_the_scan_flags_interpolated_sql() -> None:
    """The detector itself: each way of building SQL from a value is caught."""
    for source in ('session.execute(text(f"SELECT * FROM app_user WHERE username = \'{u}\'"))',
                   'connection.exec_driver_sql("DELETE FROM unit WHERE code = \'" + code + "\'")',
                   'cursor.execute("SELECT %s" % value)',
                   'cursor.execute("SELECT {}".format(value))'):
        call = ast.parse(source).body[0].value
        argument = call.args[0]
        if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Name):
            argument = argument.args[0]  # text(...)
        assert _builds_a_string(argument), source
    for source in ('session.execute(select(User).where(User.username == u))',
                   'cursor.execute("PRAGMA foreign_keys=ON")'):
        call = ast.parse(source).body[0].value
        assert not _builds_a_string(call.args[0]), source
