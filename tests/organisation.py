"""A small agency for tests: the catalog, four units and one user per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Engine

from db.engine import read_session, write_session
from services.accounts import SYSTEM, Actor, create_user, load_actor
from services.bootstrap import initialise
from services.organisation import create_unit
from tests.conftest import CATALOG_DIR

WIB = timezone(timedelta(hours=7))
PASSWORD = "rahasia-uji-123"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

UNITS = [
    ("sekretariat", "Sekretariat", "sekretariat"),
    ("bidang-layanan", "Bidang Layanan Perpustakaan", "bidang"),
    ("bidang-arsip", "Bidang Pengelolaan Arsip", "bidang"),
    ("bidang-deposit", "Bidang Deposit dan Pelestarian", "bidang"),
]
USERS = [
    # username, full name, roles, unit, admin
    ("kadis", "Drs. Kepala Dinas", ["Kadis"], "sekretariat", False),
    ("sekretaris", "Sekretaris Dinas", ["Sekretaris"], "sekretariat", False),
    ("fungsional", "Fungsional Monev", ["Fungsional"], "sekretariat", False),
    ("monev", "Pengelola Monev", ["Pengelola Monev"], "sekretariat", False),
    ("arsiparis", "Arsiparis", ["Pengadministrasi"], "sekretariat", False),
    ("layanan", "Kabid Layanan", ["Bidang"], "bidang-layanan", False),
    ("arsip", "Kabid Arsip", ["Bidang"], "bidang-arsip", False),
    ("deposit", "Kabid Deposit", ["Bidang"], "bidang-deposit", False),
    ("admin", "Admin Aplikasi", [], "sekretariat", True),
]


def wib(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=WIB)


@dataclass
class Organisation:
    engine: Engine

    def actor(self, username: str) -> Actor:
        with read_session(self.engine) as session:
            return load_actor(session, username=username)


def build_organisation(engine: Engine) -> Organisation:
    initialise(engine=engine, catalog_dir=CATALOG_DIR)
    with write_session(engine) as session:
        for code, name, kind in UNITS:
            create_unit(session, actor=SYSTEM, code=code, name=name, kind=kind, now=NOW)
        for username, full_name, roles, unit, is_admin in USERS:
            create_user(session, actor=SYSTEM, username=username, full_name=full_name,
                        password=PASSWORD, roles=roles, unit_code=unit, is_admin=is_admin, now=NOW)
    return Organisation(engine)
