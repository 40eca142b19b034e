"""The catalog in the database: loading definitions as versions, and reading them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from db.models import Role, Sop, SopLane, SopVersion, Step
from services.catalog.definition import Approver, Decision, Identity, SopDef, StepDef
from services.catalog.roles import role_code
from services.catalog.waktu import Target

LoadStatus = Literal["created", "new_version", "unchanged"]


@dataclass(frozen=True)
class LoadResult:
    code: str
    version: int
    status: LoadStatus


Origin = Literal["file", "app"]


@dataclass(frozen=True)
class CatalogEntry:
    """The current version of an SOP as stored."""

    sop: SopDef
    version: int
    version_id: int
    loaded_at: datetime
    origin: str = "file"  # "file": sops/*.yaml; "app": published on the Impor SOP page


def ensure_roles(session: Session, *, names: Sequence[str]) -> dict[str, Role]:
    existing = {role.name: role for role in session.scalars(select(Role).where(Role.name.in_(names)))}
    for name in names:
        if name not in existing:
            role = Role(code=role_code(name), name=name)
            session.add(role)
            existing[name] = role
    session.flush()
    return existing


def load_catalog(session: Session, *, sops: Sequence[SopDef], now: datetime,
                 origin: Origin = "file", published_by_user_id: int | None = None,
                 ) -> list[LoadResult]:
    """Store each definition; a changed one becomes the SOP's next version.

    A file counts as changed against the last version loaded from a file, so a version
    published in the app stays in force through every `init` until the file itself changes
    (docs/catalog.md, "Two ways in"). Runs inside the caller's transaction, so a failure
    leaves nothing half-loaded.
    """
    return [_load_one(session, sop=sop, now=now, origin=origin,
                      published_by_user_id=published_by_user_id) for sop in sops]


def _latest(session: Session, sop_id: int, origin: Origin | None = None) -> SopVersion | None:
    query = select(SopVersion).where(SopVersion.sop_id == sop_id)
    if origin is not None:
        query = query.where(SopVersion.origin == origin)
    return session.scalar(query.order_by(SopVersion.version.desc()).limit(1))


def _load_one(session: Session, *, sop: SopDef, now: datetime, origin: Origin,
              published_by_user_id: int | None) -> LoadResult:
    content_hash = sop.content_hash()
    stored = session.scalar(select(Sop).where(Sop.code == sop.code))
    if stored is None:
        stored = Sop(code=sop.code, name=sop.name, created_at=now)
        session.add(stored)
        session.flush()
        status: LoadStatus = "created"
        number = 1
    else:
        latest = _latest(session, stored.id)
        compared = [latest]
        if origin == "file":
            compared.append(_latest(session, stored.id, "file"))
        if latest is not None and any(v is not None and v.content_hash == content_hash
                                      for v in compared):
            return LoadResult(sop.code, latest.version, "unchanged")
        status = "new_version"
        number = (latest.version if latest else 0) + 1
        stored.name = sop.name
    roles = ensure_roles(session, names=sop.lanes)
    labels = sop.labels()
    version = SopVersion(
        sop_id=stored.id, version=number, name=sop.name, content_hash=content_hash,
        identity=sop.identity.to_dict(), source_path=sop.source[:300], loaded_at=now,
        origin=origin, published_by_user_id=published_by_user_id,
    )
    session.add(version)
    session.flush()
    session.add_all(
        SopLane(sop_version_id=version.id, position=position, role_id=roles[lane].id)
        for position, lane in enumerate(sop.lanes)
    )
    session.add_all(
        Step(
            sop_version_id=version.id, seq=step.seq, label=labels[step.seq],
            printed_label=step.label, activity=step.activity,
            role_id=roles[step.role].id if step.role else None, kelengkapan=step.kelengkapan,
            waktu=step.waktu, target_kind=step.target.kind, target_minutes=step.target.minutes,
            output=step.output, ket=step.ket,
            approve_seq=step.decision.approve if step.decision else None,
            return_seq=step.decision.return_to if step.decision else None,
            multi_unit=step.multi_unit, interpretation_note=step.interpretation_note,
        )
        for step in sop.steps
    )
    session.flush()
    return LoadResult(sop.code, number, status)


def _current_versions_query() -> Select[SopVersion]:
    latest = (
        select(SopVersion.sop_id, func.max(SopVersion.version).label("version"))
        .group_by(SopVersion.sop_id).subquery()
    )
    return (
        select(SopVersion)
        .join(latest, (SopVersion.sop_id == latest.c.sop_id)
              & (SopVersion.version == latest.c.version))
        .options(
            selectinload(SopVersion.sop),
            selectinload(SopVersion.lanes).selectinload(SopLane.role),
            selectinload(SopVersion.steps).selectinload(Step.role),
        )
    )


def current_catalog(session: Session) -> list[CatalogEntry]:
    """The current version of every SOP, by name."""
    entries = [_entry(version) for version in session.scalars(_current_versions_query())]
    return sorted(entries, key=lambda entry: entry.sop.name.casefold())


def catalog_entry(session: Session, *, code: str) -> CatalogEntry | None:
    version = session.scalar(_current_versions_query().join(Sop).where(Sop.code == code))
    return _entry(version) if version is not None else None


def _entry(version: SopVersion) -> CatalogEntry:
    return CatalogEntry(sop=_definition(version), version=version.version,
                        version_id=version.id, loaded_at=version.loaded_at,
                        origin=version.origin)


def _definition(version: SopVersion) -> SopDef:
    identity: dict[str, Any] = dict(version.identity)
    approver = Approver(**identity.pop("disahkan_oleh", {}))
    fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                              for key, value in identity.items()}
    return SopDef(
        code=version.sop.code,
        name=version.name,
        lanes=tuple(lane.role.name for lane in version.lanes),
        steps=tuple(
            StepDef(
                seq=step.seq, label=step.printed_label, activity=step.activity,
                role=step.role.name,
                kelengkapan=step.kelengkapan, waktu=step.waktu,
                target=Target.stored(step.target_kind, step.target_minutes),
                output=step.output, ket=step.ket,
                decision=(Decision(step.approve_seq, step.return_seq)
                          if step.approve_seq is not None and step.return_seq is not None
                          else None),
                multi_unit=step.multi_unit, interpretation_note=step.interpretation_note,
            )
            for step in version.steps
        ),
        identity=Identity(disahkan_oleh=approver, **fields),
        source=version.source_path,
    )


def entry_as_json(entry: CatalogEntry) -> dict[str, Any]:
    """The `manage.py sops --json` shape of one SOP."""
    sop = entry.sop
    return {
        "code": sop.code,
        "name": sop.name,
        "version": entry.version,
        "origin": entry.origin,
        "lanes": list(sop.lanes),
        "steps": [
            {
                "seq": step.seq,
                "label": step.label,
                "activity": step.activity,
                "role": step.role,
                "waktu": step.waktu,
                "target_kind": step.target.kind,
                "target_minutes": step.target.minutes,
                "kelengkapan": step.kelengkapan,
                "output": step.output,
                "decision": (
                    {"approve": step.decision.approve, "return": step.decision.return_to}
                    if step.decision else None
                ),
            }
            for step in sop.steps
        ],
    }
