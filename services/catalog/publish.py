"""Publishing an imported SOP from the Impor SOP page as a catalog version (docs/catalog.md,
"Two ways in").

An upload is read by `table_import` (Word, text, CSV, XLSX), reviewed and corrected on the page
(`editable_steps` / `apply_edits`), compared with the version in force (`differences`), then
published: the same validation as a file in `sops/` (the definition goes through the YAML
reader), new Pelaksana created only when the admin confirmed them, the units the SOP names
matched or created, and the definition stored as the SOP's next version. Cases already running
keep the version they started on.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Role, Unit
from services.accounts import Actor, require_admin
from services.catalog.definition import CatalogError, Decision, SopDef, StepDef
from services.catalog.roles import role_code
from services.catalog.store import LoadStatus, catalog_entry, load_catalog
from services.catalog.table_import import read_table_bytes
from services.catalog.waktu import WaktuError, parse_waktu
from services.catalog.yaml_io import dump_sop_yaml, read_sop_text
from services.errors import InvalidInput

# The columns of the review grid, and the catalog fields they stand for in messages.
EDIT_COLUMNS = ("No.", "Kegiatan", "Pelaksana", "Kelengkapan", "Waktu", "Output",
                "T kembali ke", "Multi-unit", "Temuan")
NO_DECISION = "–"
_FIELD_LABELS = {"role": "Pelaksana", "waktu": "Waktu", "kelengkapan": "Kelengkapan",
                 "output": "Output", "decision": "Keputusan", "decision.return": "T kembali ke",
                 "decision.approve": "Keputusan", "code": "kode SOP", "name": "Nama SOP",
                 "lanes": "Pelaksana", "label": "No.", "activity": "Kegiatan"}
_UNIT_KINDS = (("sekretariat", "sekretariat"), ("bidang ", "bidang"), ("upt ", "lainnya"))


@dataclass(frozen=True)
class UnitNamed:
    name: str  # as the SOP writes it
    kind: str
    existing: str | None  # the unit it matches, or None: created on publish


@dataclass(frozen=True)
class Review:
    """What publishing this definition would do."""

    current_version: int | None  # the version in force, None for a new SOP
    unchanged: bool  # the same as the version in force: publishing adds nothing
    new_roles: tuple[str, ...]
    units: tuple[UnitNamed, ...]
    differences: pd.DataFrame


@dataclass(frozen=True)
class Published:
    code: str
    name: str
    version: int
    status: LoadStatus
    roles_created: tuple[str, ...]
    units_created: tuple[str, ...]


def read_upload(*, name: str, data: bytes) -> list[SopDef]:
    """Every SOP in an uploaded file; a bad file raises InvalidInput with one message."""
    try:
        return read_table_bytes(data, name=name)
    except CatalogError as error:
        raise InvalidInput(f"{error}.") from None


def problem_text(error: CatalogError, sop: SopDef) -> str:
    """A validation error as the page names things: the step's label and the column's title."""
    parts = []
    if error.step is not None and 1 <= error.step <= len(sop.steps):
        parts.append(f"Langkah {sop.label(error.step)}")
    if error.field is not None:
        parts.append(f"kolom {_FIELD_LABELS.get(error.field, error.field)}")
    return f"{', '.join(parts) or sop.name}: {error.problem}."


def validated(sop: SopDef) -> SopDef:
    """The definition as the catalog would load it from a file, or InvalidInput."""
    try:
        return replace(read_sop_text(dump_sop_yaml(sop), source=sop.source), source=sop.source)
    except CatalogError as error:
        raise InvalidInput(problem_text(error, sop)) from None


# --- editing --------------------------------------------------------------------------------


def editable_steps(sop: SopDef, *, findings: dict[int, list[str]]) -> pd.DataFrame:
    """The review grid: one row per step; `findings` are the linter's messages by seq."""
    labels = sop.labels()
    return pd.DataFrame(
        [(labels[s.seq], s.activity, s.role or "", s.kelengkapan, s.waktu, s.output,
          labels[s.decision.return_to] if s.decision else NO_DECISION, s.multi_unit,
          "\n".join(findings.get(s.seq, ())))
         for s in sop.steps],
        columns=list(EDIT_COLUMNS),
    )


def apply_edits(sop: SopDef, *, edited: pd.DataFrame) -> SopDef:
    """The definition with the grid's Pelaksana, Mutu Baku, "T" target and multi-unit.

    A Waktu the catalog does not understand, or a "T" that is not an earlier step, raises
    InvalidInput naming the step; nothing else is checked here (publishing validates all).
    """
    if len(edited) != len(sop.steps):
        raise InvalidInput("Jumlah langkah tidak boleh diubah di sini; perbaiki dokumennya.")
    by_label = {label: seq for seq, label in sop.labels().items()}
    steps: list[StepDef] = []
    for step, (_, row) in zip(sop.steps, edited.iterrows(), strict=True):
        label = sop.label(step.seq)
        waktu = _text(row["Waktu"])
        try:
            target = parse_waktu(waktu)
        except WaktuError as error:
            raise InvalidInput(f"Langkah {label}, kolom Waktu: {error}.") from None
        back = _text(row["T kembali ke"])
        decision = None
        if back and back != NO_DECISION:
            target_seq = by_label.get(back)
            if target_seq is None or target_seq >= step.seq or step.seq == len(sop.steps):
                raise InvalidInput(f"Langkah {label}: 'T' harus kembali ke langkah sebelumnya, "
                                   "dan langkah terakhir tidak bisa menjadi keputusan.")
            decision = Decision(approve=step.seq + 1, return_to=target_seq)
        role = _text(row["Pelaksana"]) or None
        steps.append(replace(
            step, role=role, kelengkapan=_text(row["Kelengkapan"]), waktu=waktu, target=target,
            output=_text(row["Output"]), decision=decision, multi_unit=bool(row["Multi-unit"]),
        ))
    return replace(sop, steps=tuple(steps))


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else \
        " ".join(str(value).split())


# --- comparing and publishing ---------------------------------------------------------------


def differences(current: SopDef | None, new: SopDef) -> pd.DataFrame:
    """What changes against the version in force, field by field (Bagian, Langkah, Kolom,
    Versi berlaku, Versi baru); empty when nothing does or the SOP is new."""
    columns = ["Bagian", "Langkah", "Kolom", "Versi berlaku", "Versi baru"]
    if current is None:
        return pd.DataFrame(columns=columns)
    rows: list[tuple[str, str, str, str, str]] = []
    for key in ("name", "lanes"):
        if getattr(current, key) != getattr(new, key):
            rows.append(("SOP", "", _FIELD_LABELS.get(key, key), _shown(getattr(current, key)),
                         _shown(getattr(new, key))))
    old_identity, new_identity = asdict(current.identity), asdict(new.identity)
    for key, value in new_identity.items():
        if old_identity[key] != value:
            rows.append(("Identitas", "", key.replace("_", " "), _shown(old_identity[key]),
                         _shown(value)))
    old_labels, new_labels = current.labels(), new.labels()
    for seq in range(1, max(len(current.steps), len(new.steps)) + 1):
        old = current.steps[seq - 1] if seq <= len(current.steps) else None
        step = new.steps[seq - 1] if seq <= len(new.steps) else None
        label = new_labels[seq] if step else old_labels[seq]
        if old is None or step is None:
            rows.append(("Langkah", label, "langkah", "–" if old is None else old.activity,
                         "–" if step is None else step.activity))
            continue
        for field, title in (("activity", "Kegiatan"), ("role", "Pelaksana"),
                             ("kelengkapan", "Kelengkapan"), ("waktu", "Waktu"),
                             ("output", "Output"), ("ket", "Ket"), ("multi_unit", "Multi-unit")):
            if getattr(old, field) != getattr(step, field):
                rows.append(("Langkah", label, title, _shown(getattr(old, field)),
                             _shown(getattr(step, field))))
        if old.decision != step.decision:
            rows.append(("Langkah", label, "Keputusan", _decision(old, old_labels),
                         _decision(step, new_labels)))
    return pd.DataFrame(rows, columns=columns)


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v)
    return "" if value is None else str(value)


def _decision(step: StepDef, labels: dict[int, str]) -> str:
    if step.decision is None:
        return "bukan keputusan"
    return f"Y → {labels[step.decision.approve]}, T → {labels[step.decision.return_to]}"


def units_named(sop: SopDef) -> list[tuple[str, str]]:
    """(name, kind) of the units the SOP names: its own unit (the last line of the agency's
    header: "SEKRETARIAT", "BIDANG LAYANAN ...") and lanes that name one ("Bidang Deposit")."""
    candidates = list(sop.identity.instansi[-1:]) + list(sop.lanes)
    found: list[tuple[str, str]] = []
    for text in candidates:
        name = " ".join(text.split())
        folded = name.casefold()
        kind = next((kind for prefix, kind in _UNIT_KINDS
                     if folded.startswith(prefix) or folded == prefix.strip()), None)
        if kind is None or (kind == "bidang" and folded == "bidang"):
            continue  # the Bidang lane is every Bidang, not one unit
        shown = name.title() if name.isupper() else name
        if all(shown.casefold() != other.casefold() for other, _ in found):
            found.append((shown, kind))
    return found


def _unit_matches(session: Session, named: Sequence[tuple[str, str]]) -> list[UnitNamed]:
    units = list(session.scalars(select(Unit)))
    matched = []
    for name, kind in named:
        code = _unit_code(name)
        unit = next((u for u in units if u.name.casefold() == name.casefold() or u.code == code),
                    None)
        matched.append(UnitNamed(name, kind, unit.name if unit else None))
    return matched


def _unit_code(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40].strip("-")


def _content(sop: SopDef) -> str:
    """The hash of what the SOP says: the importer's reading notes are not part of it, so a
    document imported again unchanged is the version in force."""
    return replace(sop, steps=tuple(replace(s, interpretation_note=None) for s in sop.steps)
                   ).content_hash()


def review(session: Session, *, sop: SopDef) -> Review:
    entry = catalog_entry(session, code=sop.code)
    existing = set(session.scalars(select(Role.name).where(Role.name.in_(sop.lanes))))
    current = entry.sop if entry else None
    return Review(
        current_version=entry.version if entry else None,
        unchanged=current is not None and _content(current) == _content(sop),
        new_roles=tuple(lane for lane in sop.lanes if lane not in existing),
        units=tuple(_unit_matches(session, units_named(sop))),
        differences=differences(current, sop),
    )


def publish_sop(session: Session, *, actor: Actor, sop: SopDef,
                confirmed_roles: Collection[str], now: datetime) -> Published:
    """Store `sop` as its SOP's next catalog version (or its first)."""
    require_admin(actor)
    sop = validated(sop)
    plan = review(session, sop=sop)
    if plan.unchanged:
        raise InvalidInput(f"SOP '{sop.name}' sama dengan versi {plan.current_version} yang "
                           "berlaku; tidak ada versi baru yang diterbitkan.")
    unconfirmed = [role for role in plan.new_roles if role not in confirmed_roles]
    if unconfirmed:
        raise InvalidInput(f"Pelaksana baru belum dikonfirmasi: {', '.join(unconfirmed)}. "
                           "Centang konfirmasi Pelaksana baru, lalu terbitkan lagi.")
    _check_new_roles(session, plan.new_roles)
    created_units = []
    for unit in plan.units:
        if unit.existing is None:
            session.add(Unit(code=_free_unit_code(session, _unit_code(unit.name)),
                             name=unit.name[:120], kind=unit.kind, is_active=True,
                             created_at=now))
            created_units.append(unit.name)
    (result,) = load_catalog(session, sops=[sop], now=now, origin="app",
                             published_by_user_id=actor.user_id)
    return Published(code=sop.code, name=sop.name, version=result.version, status=result.status,
                     roles_created=plan.new_roles, units_created=tuple(created_units))


def _check_new_roles(session: Session, names: Sequence[str]) -> None:
    """A Pelaksana is stored as a role: a name of at most 80 characters whose code (40
    characters) no other role has."""
    codes = set(session.scalars(select(Role.code)))
    for name in names:
        code = role_code(name)
        if len(name) > 80 or not code or len(code) > 40 or code in codes:
            raise InvalidInput(f"Pelaksana '{name}' tidak bisa dibuat: nama terlalu panjang atau "
                               "mirip Pelaksana lain. Ganti nama lajur di dokumen lalu impor lagi.")
        codes.add(code)


def _free_unit_code(session: Session, code: str) -> str:
    taken = set(session.scalars(select(Unit.code).where(Unit.code.startswith(code[:36]))))
    candidate, number = code or "unit", 2
    while candidate in taken:
        candidate, number = f"{code[:36]}-{number}", number + 1
    return candidate
