"""An SOP as the catalog defines it: identity block, lanes, steps (docs/design.md, "Catalog")."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from services.catalog.waktu import Target


@dataclass(frozen=True)
class Approver:
    """"Disahkan oleh": the official who signed the SOP."""

    jabatan: str = ""
    nama: str = ""
    pangkat: str = ""
    nip: str = ""


@dataclass(frozen=True)
class Identity:
    """The identity block printed with every SOP AP (PermenPAN-RB 35/2012)."""

    instansi: tuple[str, ...] = ()
    nomor_sop: str = ""
    tanggal_pembuatan: str = ""
    tanggal_revisi: str = ""
    tanggal_efektif: str = ""
    disahkan_oleh: Approver = field(default_factory=Approver)
    dasar_hukum: tuple[str, ...] = ()
    kualifikasi_pelaksana: tuple[str, ...] = ()
    keterkaitan: tuple[str, ...] = ()
    peralatan_perlengkapan: tuple[str, ...] = ()
    peringatan: str = ""
    pencatatan_pendataan: str = ""

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in data.items()
        }


@dataclass(frozen=True)
class Decision:
    """A decision step: "Y" continues to `approve`, "T" sends the work back to `return_to`."""

    approve: int
    return_to: int


@dataclass(frozen=True)
class StepDef:
    seq: int
    label: str | None
    activity: str
    role: str | None
    kelengkapan: str = ""
    waktu: str = ""
    target: Target = Target("none")
    output: str = ""
    ket: str = ""
    decision: Decision | None = None
    # Submitted by several units (e.g. every Bidang); completes when all have submitted.
    multi_unit: bool = False
    interpretation_note: str | None = None


@dataclass(frozen=True)
class SopDef:
    code: str
    name: str
    lanes: tuple[str, ...]
    steps: tuple[StepDef, ...]
    identity: Identity = field(default_factory=Identity)
    # Where it came from (a catalog file, or "seed.txt: tabel 3"), for messages only.
    source: str = ""

    def step(self, seq: int) -> StepDef:
        return self.steps[seq - 1]

    def labels(self) -> dict[int, str]:
        """The label of every step, by seq (see `step_labels`)."""
        return step_labels(self.steps)

    def label(self, seq: int) -> str:
        return self.labels()[seq]

    def content_hash(self) -> str:
        """Hash of everything but the source: an unchanged definition loads as a no-op."""
        content = asdict(self)
        content.pop("source")
        encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def step_labels(steps: Sequence[StepDef]) -> dict[int, str]:
    """One label per step, the number the SOP prints; unique within the SOP.

    Source tables skip numbers, repeat one ("10" twice) and leave a row unnumbered. A printed
    number used once is the label. A row without a number, or the second row printing a
    number already used, takes the label of the step before it plus the first free letter
    ("9" then "9a"), so no two steps share a label and none reads "nan" or a bare seq that
    another step prints. docs/design.md, "Step labels".
    """
    printed = [(step.label or "").strip() for step in steps]
    taken = {label for label in printed if label}
    labels: dict[int, str] = {}
    used: set[str] = set()
    previous = ""
    for step, label in zip(steps, printed, strict=True):
        if not label or label in used:
            base = previous or label or "0"
            label = next(f"{base}{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"
                         if f"{base}{letter}" not in taken and f"{base}{letter}" not in used)
        used.add(label)
        labels[step.seq] = label
        previous = label
    return labels


class CatalogError(ValueError):
    """A catalog definition that cannot be loaded. One line naming file, step and field."""

    def __init__(
        self, source: str, problem: str, *, step: int | None = None, field: str | None = None
    ) -> None:
        self.source, self.problem, self.step, self.field = source, problem, step, field
        where = [source]
        if step is not None:
            where.append(f"langkah {step}")
        if field is not None:
            where.append(f"kolom '{field}'")
        super().__init__(f"{', '.join(where)}: {problem}")
