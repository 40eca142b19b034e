"""Import SOP tables (the seed's Word-to-text format, or the same table as CSV/XLSX) into
catalog definitions, ready to be written as `sops/*.yaml` for review.

The source table lost its swimlane marks, so the importer reads the performer of each step from
the text, in this order, and says so in `interpretation_note`:

1. a hand-off ("... diserahkan kepada Sekretaris") makes the Sekretaris the performer of the
   next step; without one the performer carries on; step 1 is the first lane that the text
   does not name as a sender;
2. a step that receives "dari Bidang" follows a step of the Bidang (when nothing stronger
   named that step's performer);
3. whoever reviews is not whom the work is returned to ("dikembalikan kepada pelaksana"), nor
   whom it hands to: such a step falls to the one who delegated the work to them;
4. a decision that does not name where the work goes back ("jika belum lengkap ...") returns
   to the step before it; the Bidang lane stands for every Bidang (a multi-unit step).

A reviewer confirms the reading; the linter points at what remains doubtful
(docs/catalog.md).

Mutu Baku cells do not always sit under their headers and stray flowchart labels ("T", "Y")
sit in lane columns, so the Waktu cell is found by its form; Kelengkapan is the text cell just
before it, Output and Ket the cells after it.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from services.catalog.definition import Approver, CatalogError, Decision, Identity, SopDef, StepDef
from services.catalog.reading import (
    commanded_role,
    first_performer,
    handoff_target,
    has_decision_wording,
    return_role_named,
    senders,
)
from services.catalog.roles import canonical_role
from services.catalog.waktu import WaktuError, looks_like_waktu, parse_waktu

Row = list[str]

MAX_IMPORT_BYTES = 5_000_000
# What a workbook may unpack to: a table of SOPs is far smaller, and a compressed archive can
# expand a thousandfold.
MAX_WORKBOOK_UNPACKED_BYTES = 10 * MAX_IMPORT_BYTES
# What openpyxl raises on a damaged or foreign archive: a part missing (KeyError), XML cut
# short (lxml's and ElementTree's errors are SyntaxErrors), no workbook part (OSError), cells
# or values it cannot read (ValueError, TypeError), compressed data cut short.
_DAMAGED_WORKBOOK = (zipfile.BadZipFile, KeyError, OSError, SyntaxError, ValueError, TypeError,
                     EOFError, zlib.error)
_HEADING = re.compile(r"^#{1,6}\s*SOP\s+(?P<title>.+?)\s*$", re.IGNORECASE)
_STRAY_FLOW_LABELS = {"Y", "T"}
_TAG = re.compile(r"<[^>]+>")
_LIST_ITEM = re.compile(r"<li>(.*?)</li>", re.IGNORECASE | re.DOTALL)
# Code words: "Laporan Kinerja" -> "lkj", "Monitoring Evaluasi" -> "monev" (docs/design.md, "Catalog").
_CODE_ABBREVIATIONS = (
    ("monitoring dan evaluasi", "monev"),
    ("monitoring evaluasi", "monev"),
    ("laporan kinerja", "lkj"),
)
_CODE_FILLER_WORDS = {"secara", "dan", "yang", "di", "untuk"}
_PANGKAT = re.compile(r"\b(?:Pembina|Pegawai|Penata|Pengatur|Juru)\b.*$")
_NIP = re.compile(r"NIP\.?\s*(?P<nip>[\d ]+\d)")


@dataclass(frozen=True)
class ImportedTable:
    title: str
    header: Row
    lane_header: Row
    rows: list[Row]
    identity_rows: list[Row]


def plain(text: str) -> str:
    """A cell as plain text: tags removed, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", text)).replace("*", " ").split())


def sop_code_for(name: str) -> str:
    text = name.casefold()
    for phrase, short in _CODE_ABBREVIATIONS:
        text = text.replace(phrase, short)
    words = [w for w in re.split(r"[^a-z0-9-]+", text) if w and w not in _CODE_FILLER_WORDS]
    return re.sub(r"-+", "-", "-".join(words)).strip("-")


# --- reading sources into rows -------------------------------------------------------------


def read_table_file(path: Path) -> list[SopDef]:
    """Every SOP in a seed text file (.txt/.md), CSV file or XLSX workbook."""
    source = path.name
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise CatalogError(source, f"berkas lebih dari {MAX_IMPORT_BYTES} byte")
    suffix = path.suffix.casefold()
    if suffix == ".xlsx":
        return _from_workbook(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogError(source, "bukan teks UTF-8") from None
    if suffix == ".csv":
        try:
            rows = [[cell for cell in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error:
            raise CatalogError(source, "CSV rusak (sebuah kolom terlalu panjang, atau tanda kutip "
                                       "tidak ditutup); simpan ulang tabelnya sebagai CSV "
                                       "UTF-8") from None
        return [_sop_from_table(_single_table(rows, default_title=path.stem, source=source),
                                source=f"{source}: tabel 1")]
    return parse_seed_text(text, source=source)


def parse_seed_text(text: str, *, source: str) -> list[SopDef]:
    """Every SOP section ("### SOP <name>" followed by its table and identity block)."""
    sections: list[tuple[str, list[Row]]] = []
    for line in text.splitlines():
        heading = _HEADING.match(line.strip())
        if heading:
            sections.append((heading.group("title"), []))
        elif sections:
            sections[-1][1].append(line.split("\t"))
    if not sections:
        raise CatalogError(source, "tidak ada judul SOP ('### SOP <nama>') di berkas ini")
    sops = []
    for number, (title, rows) in enumerate(sections, start=1):
        where = f"{source}: tabel {number}"
        sops.append(_sop_from_table(_single_table(rows, default_title=title, source=where),
                                    source=where))
    return sops


def _from_workbook(path: Path) -> list[SopDef]:
    sops = []
    for number, (title, rows) in enumerate(_workbook_rows(path), start=1):
        table = _single_table(rows, default_title=title, source=f"{path.name}: {title}")
        sops.append(_sop_from_table(table, source=f"{path.name}: lembar {number}"))
    return sops


def _workbook_rows(path: Path) -> list[tuple[str, list[Row]]]:
    """Every sheet's title and cells as text; a file that is not a whole .xlsx workbook is
    refused in one line, before openpyxl reads it or while it does."""
    from openpyxl import load_workbook

    source = path.name
    resave = ("buka di Excel atau LibreOffice lalu simpan ulang sebagai .xlsx, atau impor "
              "tabelnya sebagai .csv")
    try:
        with zipfile.ZipFile(path) as archive:
            parts = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError):
        raise CatalogError(source, f"bukan berkas Excel .xlsx (isinya bukan arsip ZIP); "
                                   f"{resave}") from None
    if "[Content_Types].xml" not in parts or "xl/workbook.xml" not in parts:
        raise CatalogError(source, f"arsip ZIP ini bukan buku kerja Excel; {resave}")
    if sum(parts.values()) > MAX_WORKBOOK_UNPACKED_BYTES:
        raise CatalogError(source, f"isi buku kerja lebih dari {MAX_WORKBOOK_UNPACKED_BYTES} "
                                   "byte setelah dibuka")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            sheets = [(sheet.title, [["" if cell is None else str(cell) for cell in row]
                                     for row in sheet.iter_rows(values_only=True)])
                      for sheet in workbook.worksheets]
        finally:
            workbook.close()
    except _DAMAGED_WORKBOOK:
        raise CatalogError(source, f"buku kerja rusak dan tidak dapat dibaca; {resave}") from None
    if not sheets:
        raise CatalogError(source, "buku kerja tidak berisi lembar kerja")
    return sheets


def _is_blank(row: Row) -> bool:
    return not any(cell.strip() for cell in row)


def _single_table(rows: list[Row], *, default_title: str, source: str) -> ImportedTable:
    header_index = next(
        (i for i, row in enumerate(rows)
         if len(row) > 1 and plain(row[0]).casefold().rstrip(".") == "no"
         and plain(row[1]).casefold() in {"aktivitas", "kegiatan"}),
        None,
    )
    if header_index is None or header_index + 1 >= len(rows):
        raise CatalogError(source, "tidak ada baris judul tabel ('No.', 'Aktivitas', ...)")
    body: list[Row] = []
    index = header_index + 2
    while index < len(rows) and not _is_blank(rows[index]):
        if len(rows[index]) > 1 and plain(rows[index][1]):
            body.append(rows[index])
        index += 1
    if not body:
        raise CatalogError(source, "tabel tidak berisi langkah")
    return ImportedTable(
        title=default_title,
        header=rows[header_index],
        lane_header=rows[header_index + 1],
        rows=body,
        identity_rows=rows[index:],
    )


# --- turning a table into a definition ------------------------------------------------------


def _lanes(table: ImportedTable) -> list[str]:
    """Lane names from the header rows, up to the Mutu Baku columns.

    Most tables name the lanes in the second header row, but some put one in the first
    ("Pelaksana ... Kadis"), so each column takes whichever row names it.
    """
    lanes: list[str] = []
    for column in range(2, len(table.lane_header)):
        text = plain(table.lane_header[column])
        if text.casefold() == "kelengkapan":
            break
        if not text and column < len(table.header):
            text = plain(table.header[column])
        role = canonical_role(text) or text
        if text and text.casefold() != "pelaksana" and role not in lanes:
            lanes.append(role)
    return lanes


def _mutu_baku_columns(table: ImportedTable) -> tuple[int, int]:
    """Header positions of Kelengkapan and Waktu, for rows where no Waktu value is found."""
    labels = [plain(cell).casefold() for cell in table.lane_header]
    kelengkapan = labels.index("kelengkapan") if "kelengkapan" in labels else len(labels)
    return kelengkapan, kelengkapan + 1


def _mutu_baku(row: Row, table: ImportedTable) -> tuple[str, str, str, str]:
    """(kelengkapan, waktu, output, ket) of one row, the Waktu cell found by its form."""
    cells = [plain(cell) for cell in row]
    waktu_at = next((i for i in range(2, len(cells)) if looks_like_waktu(cells[i])), None)
    if waktu_at is None:
        _, waktu_at = _mutu_baku_columns(table)
    before = [c for c in cells[2:waktu_at] if c and c not in _STRAY_FLOW_LABELS]

    def cell(i: int) -> str:
        return cells[i] if i < len(cells) else ""

    return (before[-1] if before else "", cell(waktu_at), cell(waktu_at + 1), cell(waktu_at + 2))


@dataclass
class _Reading:
    role: str | None
    reason: str
    strong: bool  # named by the text (a hand-off into this step), not carried or guessed


def _read_performers(activities: list[str], labels: list[str], lanes: list[str]) -> list[_Reading]:
    """The performer of every step, by the rules of the module docstring."""
    readings: list[_Reading] = []
    for index, activity in enumerate(activities):
        if index == 0:
            readings.append(_Reading(first_performer(activity, lanes),
                                     "langkah pertama: lajur pertama yang tidak disebut sebagai "
                                     "pengirim", False))
            continue
        previous = readings[-1]
        handed_to = handoff_target(activities[index - 1])
        if handed_to in lanes:
            readings.append(_Reading(handed_to, f"langkah {labels[index - 1]} menyerahkan "
                                                f"kepada {handed_to}", True))
        else:
            readings.append(_Reading(previous.role, f"tidak ada serah terima di langkah "
                                                    f"{labels[index - 1]}, Pelaksana sama", False))
    for index in range(len(activities) - 1):  # rule 2: "dari X" in the next step
        sent_by = [role for role in senders(activities[index + 1]) if role in lanes]
        if len(sent_by) == 1 and not readings[index].strong and readings[index].role != sent_by[0]:
            readings[index] = _Reading(sent_by[0], f"langkah {labels[index + 1]} menerima dari "
                                                   f"{sent_by[0]}", True)
    for index, activity in enumerate(activities):  # rule 3: not to oneself
        reading = readings[index]
        handed = _delegation(readings[:index], activities[:index], reading.role)
        if reading.strong or handed is None:
            continue
        delegator, ordered = handed
        returned = return_role_named(activity)
        # Work handed to (or received from) the carried performer is someone else's step; work
        # returned to the lane that was ordered to do it is reviewed by whoever ordered it.
        if reading.role in senders(activity) | {handoff_target(activity)} or (
                ordered and returned is not None and returned[1] == reading.role):
            readings[index] = _Reading(delegator, f"{reading.role} tidak memeriksa atau menerima "
                                                  f"pekerjaannya sendiri; dibaca sebagai "
                                                  f"{delegator} yang menugasinya", False)
    return readings


def _delegation(readings: list[_Reading], activities: list[str],
                role: str | None) -> tuple[str, bool] | None:
    """Who last handed work to `role`, and whether they ordered it ("memerintahkan")."""
    for reading, activity in zip(reversed(readings), reversed(activities), strict=True):
        if handoff_target(activity) == role and reading.role not in (role, None):
            return reading.role, commanded_role(activity) == role
    return None


def _sop_from_table(table: ImportedTable, *, source: str) -> SopDef:
    lanes = _lanes(table)
    identity, name = _identity(table.identity_rows)
    name = name or table.title
    activities = [plain(row[1]) for row in table.rows]
    labels = [plain(row[0]) or f"(baris {seq})" for seq, row in enumerate(table.rows, start=1)]
    readings = _read_performers(activities, labels, lanes)
    steps: list[StepDef] = []
    for seq, (row, activity, reading) in enumerate(zip(table.rows, activities, readings,
                                                       strict=True), start=1):
        kelengkapan, waktu, output, ket = _mutu_baku(row, table)
        try:
            target = parse_waktu(waktu)
        except WaktuError as error:
            raise CatalogError(source, str(error), step=seq, field="waktu") from None
        note = f"Pelaksana dibaca dari teks ({reading.reason}); periksa."
        if reading.role == "Bidang":
            note += " Lajur Bidang dibaca sebagai setiap Bidang: diserahkan per unit."
        steps.append(StepDef(
            seq=seq, label=plain(row[0]) or None, activity=activity, role=reading.role,
            kelengkapan=kelengkapan, waktu=waktu, target=target, output=output, ket=ket,
            multi_unit=reading.role == "Bidang", interpretation_note=note,
        ))
    steps = _with_decisions(steps)
    return SopDef(code=sop_code_for(name), name=name, lanes=tuple(lanes), steps=tuple(steps),
                  identity=identity, source=source)


def _with_decisions(steps: list[StepDef]) -> list[StepDef]:
    """A "dikembalikan kepada X" step returns to the nearest preceding step performed by X; a
    decision that names no one ("jika belum lengkap, ... dilengkapi") to the step before it."""
    result = []
    for step in steps:
        if step.seq == len(steps) or not has_decision_wording(step.activity):
            result.append(step)
            continue
        named = return_role_named(step.activity)
        if named is None:
            target: int | None = step.seq - 1 if step.seq > 1 else None
            why = "teks tidak menyebut kepada siapa dikembalikan: ke langkah sebelumnya"
        else:
            target = next((s.seq for s in reversed(steps[: step.seq - 1]) if s.role == named[1]),
                          None)
            why = f"dikembalikan kepada {named[0]}: langkah terdekat oleh {named[1]}"
        if target is None:
            result.append(step)
            continue
        result.append(replace(step, decision=Decision(approve=step.seq + 1, return_to=target),
                              interpretation_note=f"{step.interpretation_note} Keputusan: {why}."))
    return result


# --- identity block -------------------------------------------------------------------------


def _list_items(cell: str) -> tuple[str, ...]:
    items = [plain(item) for item in _LIST_ITEM.findall(cell)]
    if items:
        return tuple(item for item in items if item)
    text = plain(cell)
    return (text,) if text else ()


def _pairs(rows: list[Row]) -> Iterator[tuple[str, list[str]]]:
    for row in rows:
        cells = [c for c in row if c.strip()]
        if cells:
            yield plain(cells[0]).casefold(), cells


def parse_approver(text: str) -> Approver:
    """"Kepala Dinas ... Drs. Nama, MM. Pembina Utama Muda (IV/c) NIP. ..." -> parts."""
    flat = plain(text)
    nip_match = _NIP.search(flat)
    nip = " ".join(nip_match.group("nip").split()) if nip_match else ""
    rest = _NIP.sub("", flat).strip()
    jabatan = ""
    title_at = re.search(r"\b(?:Drs?|Dr|Ir|H|Prof)\.", rest)
    if title_at and title_at.start() > 0:
        jabatan, rest = rest[: title_at.start()].strip(), rest[title_at.start():]
    pangkat_match = _PANGKAT.search(rest)
    pangkat = pangkat_match.group(0).strip() if pangkat_match else ""
    nama = rest[: pangkat_match.start()].strip() if pangkat_match else rest.strip()
    return Approver(jabatan=jabatan, nama=nama, pangkat=pangkat, nip=nip)


def _identity(rows: list[Row]) -> tuple[Identity, str]:
    fields: dict[str, Any] = {}
    instansi: list[str] = []
    name = ""
    pairs = list(_pairs(rows))
    for index, (key, cells) in enumerate(pairs):
        following = pairs[index + 1][1] if index + 1 < len(pairs) else []
        value = plain(cells[1]) if len(cells) > 1 else ""
        if key == "nomor sop":
            fields["nomor_sop"] = value
        elif key.startswith("tanggal "):
            fields[key.replace(" ", "_")] = value
        elif key == "disahkan oleh":
            fields["disahkan_oleh"] = parse_approver(cells[1] if len(cells) > 1 else "")
        elif key == "nama sop":
            name = value
        elif key == "dasar hukum" and following:
            fields["dasar_hukum"] = _list_items(following[0])
            fields["kualifikasi_pelaksana"] = _list_items(following[1]) if len(following) > 1 else ()
        elif key == "keterkaitan" and following:
            fields["keterkaitan"] = _list_items(following[0])
            fields["peralatan_perlengkapan"] = (
                _list_items(following[1]) if len(following) > 1 else ())
        elif key == "peringatan" and following:
            fields["peringatan"] = plain(following[0])
            fields["pencatatan_pendataan"] = plain(following[1]) if len(following) > 1 else ""
        elif not fields and len(cells) == 1 and plain(cells[0]) and not key.startswith("<"):
            instansi.append(plain(cells[0]))
    identity = Identity(instansi=tuple(instansi), **fields)
    return identity, name


