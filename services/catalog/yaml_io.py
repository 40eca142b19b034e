"""Catalog files (`sops/*.yaml`): strict reading with one-line errors, and writing.

The format is documented in docs/catalog.md. Reading validates everything a load needs, so a
file either yields a complete SopDef or a CatalogError naming the file, the step and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

from services.catalog.definition import (
    Approver,
    CatalogError,
    Decision,
    Identity,
    SopDef,
    StepDef,
)
from services.catalog.waktu import Target, WaktuError, parse_waktu

MAX_CATALOG_FILE_BYTES = 1_000_000
CODE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_TOP_KEYS = {"code", "name", "identity", "lanes", "steps"}
_REQUIRED_TOP_KEYS = ("code", "name", "lanes", "steps")
_STEP_KEYS = {
    "seq", "label", "activity", "role", "kelengkapan", "waktu", "target_kind",
    "target_minutes", "output", "ket", "decision", "multi_unit", "interpretation_note",
}
_IDENTITY_TEXT_KEYS = (
    "nomor_sop", "tanggal_pembuatan", "tanggal_revisi", "tanggal_efektif", "peringatan",
    "pencatatan_pendataan",
)
_IDENTITY_LIST_KEYS = (
    "instansi", "dasar_hukum", "kualifikasi_pelaksana", "keterkaitan", "peralatan_perlengkapan",
)
_APPROVER_KEYS = ("jabatan", "nama", "pangkat", "nip")


class _Reader:
    """Validates one parsed file; every complaint names where it is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str, *, step: int | None = None, field: str | None = None) -> NoReturn:
        raise CatalogError(self.source, problem, step=step, field=field)

    def mapping(self, value: Any, *, field: str | None, step: int | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail("harus berupa pemetaan (kunci: nilai)", step=step, field=field)
        return value

    def unknown_keys(
        self, data: Mapping[str, Any], allowed: Iterable[str], *, step: int | None = None,
        prefix: str = "",
    ) -> None:
        for key in data:
            if key not in allowed:
                self.fail("kolom tidak dikenal (salah ketik?)", step=step, field=f"{prefix}{key}")

    def text(
        self, data: Mapping[str, Any], key: str, *, step: int | None = None, required: bool = False,
        max_length: int = 2000, prefix: str = "",
    ) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.fail("wajib diisi", step=step, field=f"{prefix}{key}")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail("harus berupa teks", step=step, field=f"{prefix}{key}")
        result = str(value).strip()
        if required and not result:
            self.fail("wajib diisi", step=step, field=f"{prefix}{key}")
        if len(result) > max_length:
            self.fail(f"terlalu panjang (maksimal {max_length} karakter)", step=step,
                      field=f"{prefix}{key}")
        return result

    def text_list(self, data: Mapping[str, Any], key: str, *, prefix: str = "") -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail("harus berupa daftar teks", field=f"{prefix}{key}")
        return tuple(item.strip() for item in value)

    def integer(self, value: Any, *, step: int | None, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"harus berupa bilangan bulat, bukan {value!r}", step=step, field=field)
        return value

    def read(self, data: Any) -> SopDef:
        top = self.mapping(data, field=None)
        self.unknown_keys(top, _TOP_KEYS)
        for key in _REQUIRED_TOP_KEYS:
            if key not in top:
                self.fail("wajib ada", field=key)
        code = self.text(top, "code", required=True, max_length=80)
        if not CODE_PATTERN.match(code):
            self.fail(f"'{code}' harus huruf kecil, angka dan tanda hubung (mis. penyusunan-lkj)",
                      field="code")
        name = self.text(top, "name", required=True, max_length=200)
        lanes = self.lanes(top.get("lanes"))
        identity = self.identity(top.get("identity", {}))
        raw_steps = top.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.fail("harus berupa daftar langkah yang tidak kosong", field="steps")
        steps = tuple(
            self.step(raw, position, lanes) for position, raw in enumerate(raw_steps, start=1)
        )
        self.decisions(steps)
        return SopDef(code=code, name=name, lanes=lanes, steps=steps, identity=identity,
                      source=self.source)

    def lanes(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.fail("harus berupa daftar Pelaksana yang tidak kosong", field="lanes")
        lanes: list[str] = []
        for item in value:
            if not isinstance(item, str) or not item.strip():
                self.fail(f"Pelaksana {item!r} harus berupa teks", field="lanes")
            if item.strip() in lanes:
                self.fail(f"Pelaksana '{item.strip()}' tertulis dua kali", field="lanes")
            lanes.append(item.strip())
        return tuple(lanes)

    def identity(self, value: Any) -> Identity:
        data = self.mapping(value, field="identity")
        self.unknown_keys(
            data, (*_IDENTITY_TEXT_KEYS, *_IDENTITY_LIST_KEYS, "disahkan_oleh"), prefix="identity."
        )
        approver = self.mapping(data.get("disahkan_oleh", {}), field="identity.disahkan_oleh")
        self.unknown_keys(approver, _APPROVER_KEYS, prefix="identity.disahkan_oleh.")
        texts: dict[str, Any] = {key: self.text(data, key, prefix="identity.")
                                 for key in _IDENTITY_TEXT_KEYS}
        lists: dict[str, Any] = {key: self.text_list(data, key, prefix="identity.")
                                 for key in _IDENTITY_LIST_KEYS}
        return Identity(
            **texts,
            **lists,
            disahkan_oleh=Approver(
                **{key: self.text(approver, key, prefix="identity.disahkan_oleh.")
                   for key in _APPROVER_KEYS}
            ),
        )

    def step(self, value: Any, position: int, lanes: tuple[str, ...]) -> StepDef:
        raw = self.mapping(value, field=None, step=position)
        self.unknown_keys(raw, _STEP_KEYS, step=position)
        seq = self.integer(raw.get("seq"), step=position, field="seq")
        if seq != position:
            self.fail(f"seq {seq} harus {position}: langkah bernomor urut 1..n sesuai urutan tabel",
                      step=position, field="seq")
        label_value = raw.get("label")
        label = None if label_value is None else self.text(raw, "label", step=seq, max_length=20)
        role = self.text(raw, "role", step=seq, required=True, max_length=80)
        if role not in lanes:
            self.fail(f"Pelaksana '{role}' bukan salah satu lanes ({', '.join(lanes)})",
                      step=seq, field="role")
        waktu = self.text(raw, "waktu", step=seq, max_length=120)
        try:
            target = parse_waktu(waktu)
        except WaktuError as error:
            self.fail(str(error), step=seq, field="waktu")
        self.check_target(raw, target, seq)
        multi_unit = raw.get("multi_unit", False)
        if not isinstance(multi_unit, bool):
            self.fail("harus true atau false", step=seq, field="multi_unit")
        note = self.text(raw, "interpretation_note", step=seq) or None
        return StepDef(
            seq=seq,
            label=label or None,
            activity=self.text(raw, "activity", step=seq, required=True),
            role=role,
            kelengkapan=self.text(raw, "kelengkapan", step=seq),
            waktu=waktu,
            target=target,
            output=self.text(raw, "output", step=seq),
            ket=self.text(raw, "ket", step=seq),
            decision=self.decision(raw.get("decision"), seq),
            multi_unit=multi_unit,
            interpretation_note=note,
        )

    def check_target(self, raw: Mapping[str, Any], target: Target, seq: int) -> None:
        """target_kind / target_minutes, when written, must say what Waktu says."""
        if "target_kind" in raw and raw["target_kind"] != target.kind:
            self.fail(f"Waktu berarti '{target.kind}', bukan {raw['target_kind']!r}",
                      step=seq, field="target_kind")
        if "target_minutes" in raw and raw["target_minutes"] != target.minutes:
            expected = "kosong (null)" if target.minutes is None else f"{target.minutes}"
            self.fail(f"Waktu berarti {expected} menit kerja, bukan {raw['target_minutes']!r}",
                      step=seq, field="target_minutes")

    def decision(self, value: Any, seq: int) -> Decision | None:
        if value is None:
            return None
        data = self.mapping(value, field="decision", step=seq)
        self.unknown_keys(data, ("approve", "return"), step=seq, prefix="decision.")
        for key in ("approve", "return"):
            if key not in data:
                self.fail("wajib ada pada langkah keputusan", step=seq, field=f"decision.{key}")
        return Decision(
            approve=self.integer(data["approve"], step=seq, field="decision.approve"),
            return_to=self.integer(data["return"], step=seq, field="decision.return"),
        )

    def decisions(self, steps: tuple[StepDef, ...]) -> None:
        for step in steps:
            if step.decision is None:
                continue
            if step.decision.approve != step.seq + 1 or step.seq == len(steps):
                self.fail(
                    f"'Y' harus ke langkah berikutnya ({step.seq + 1}) dan langkah itu harus ada",
                    step=step.seq, field="decision.approve",
                )
            if not 1 <= step.decision.return_to < step.seq:
                self.fail("'T' harus kembali ke langkah sebelumnya", step=step.seq,
                          field="decision.return")


def read_sop_text(text: str, *, source: str) -> SopDef:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (baris {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "sintaks tidak valid"
        raise CatalogError(source, f"YAML tidak valid{where}: {problem}") from None
    return _Reader(source).read(data)


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_sop_file(path: Path) -> SopDef:
    source = display_path(path)
    if path.stat().st_size > MAX_CATALOG_FILE_BYTES:
        raise CatalogError(source, f"berkas lebih dari {MAX_CATALOG_FILE_BYTES} byte")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CatalogError(source, "bukan teks UTF-8") from None
    return read_sop_text(text, source=source)


def catalog_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.glob("*.yaml") if path.is_file())


def read_catalog(paths: Iterable[Path]) -> list[SopDef]:
    """Read and validate every file first; two files with one code is an error."""
    sops: list[SopDef] = []
    seen: dict[str, str] = {}
    for path in paths:
        sop = read_sop_file(path)
        if sop.code in seen:
            raise CatalogError(sop.source, f"code '{sop.code}' sudah dipakai di {seen[sop.code]}",
                               field="code")
        seen[sop.code] = sop.source
        sops.append(sop)
    return sops


# --- writing -----------------------------------------------------------------------------


class _CatalogDumper(yaml.SafeDumper):
    pass


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CatalogDumper.add_representer(str, _represent_text)


def sop_to_data(sop: SopDef) -> dict[str, Any]:
    """The catalog-file structure of an SOP (what write_sop_yaml writes)."""
    steps: list[dict[str, Any]] = []
    for step in sop.steps:
        item: dict[str, Any] = {
            "seq": step.seq,
            "label": step.label,
            "activity": step.activity,
            "role": step.role,
            "kelengkapan": step.kelengkapan,
            "waktu": step.waktu,
            "target_kind": step.target.kind,
            "target_minutes": step.target.minutes,
            "output": step.output,
            "ket": step.ket,
        }
        if step.decision is not None:
            item["decision"] = {"approve": step.decision.approve, "return": step.decision.return_to}
        if step.multi_unit:
            item["multi_unit"] = True
        if step.interpretation_note:
            item["interpretation_note"] = step.interpretation_note
        steps.append(item)
    return {
        "code": sop.code,
        "name": sop.name,
        "identity": sop.identity.to_dict(),
        "lanes": list(sop.lanes),
        "steps": steps,
    }


def dump_sop_yaml(sop: SopDef, *, header: str = "") -> str:
    body = yaml.dump(
        sop_to_data(sop), Dumper=_CatalogDumper, allow_unicode=True, sort_keys=False, width=100
    )
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + body
