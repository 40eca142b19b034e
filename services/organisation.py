"""Units of the agency (the Sekretariat, each Bidang)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Unit
from services.accounts import Actor, require_admin
from services.errors import InvalidInput
from services.workflow.model import checked_name

UNIT_KINDS = ("sekretariat", "bidang", "lainnya")
_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class UnitView:
    id: int
    code: str
    name: str
    kind: str
    is_active: bool


def create_unit(session: Session, *, actor: Actor, code: str, name: str, kind: str,
                now: datetime) -> UnitView:
    require_admin(actor)
    if not _CODE.match(code) or len(code) > 40:
        raise InvalidInput("Kode unit: huruf kecil, angka dan tanda hubung (maks. 40).")
    name = checked_name(name, what="Nama unit")
    if kind not in UNIT_KINDS:
        raise InvalidInput(f"Jenis unit harus salah satu dari: {', '.join(UNIT_KINDS)}.")
    if session.scalar(select(Unit.id).where((Unit.code == code) | (Unit.name == name))):
        raise InvalidInput(f"Unit '{code}' atau '{name}' sudah ada.")
    unit = Unit(code=code, name=name, kind=kind, is_active=True, created_at=now)
    session.add(unit)
    session.flush()
    return _view(unit)


def list_units(session: Session, *, active_only: bool = False) -> list[UnitView]:
    query = select(Unit).order_by(Unit.kind.desc(), Unit.name)
    if active_only:
        query = query.where(Unit.is_active.is_(True))
    return [_view(unit) for unit in session.scalars(query)]


def multi_unit_ids(session: Session) -> tuple[int, ...]:
    """The units that submit a multi-unit step: every active Bidang."""
    return tuple(session.scalars(
        select(Unit.id).where(Unit.kind == "bidang", Unit.is_active.is_(True)).order_by(Unit.id)))


def _view(unit: Unit) -> UnitView:
    return UnitView(unit.id, unit.code, unit.name, unit.kind, unit.is_active)


def update_unit(session: Session, *, actor: Actor, code: str, name: str, kind: str,
                is_active: bool) -> None:
    require_admin(actor)
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise InvalidInput(f"Unit '{code}' tidak ada.")
    name = checked_name(name, what="Nama unit")
    if kind not in UNIT_KINDS:
        raise InvalidInput(f"Jenis unit harus salah satu dari: {', '.join(UNIT_KINDS)}.")
    clash = session.scalar(select(Unit.id).where(Unit.name == name, Unit.id != unit.id))
    if clash is not None:
        raise InvalidInput(f"Nama unit '{name}' sudah dipakai.")
    unit.name, unit.kind, unit.is_active = name, kind, is_active
    session.flush()
