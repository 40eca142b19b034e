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

A table that kept its swimlane marks (a Word document with its flowchart symbols, or a mark
such as "X", "√", "●" typed in a lane column) says who performs a step: the lane holding the
mark is the performer, a diamond ("◇", a decision symbol) makes the step a decision, and
"Tidak → 3" / "Ya → 5" written beside it names its targets. The rules above then only read
the rows without a mark (docs/catalog.md, "Word documents").
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from services.catalog.definition import (
    Approver,
    CatalogError,
    Decision,
    Identity,
    SopDef,
    StepDef,
    step_labels,
)
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
# Marks of the lane that performs a step: typed marks, and what the Word reader writes for a
# drawn symbol ("□" a process or terminator, "◇" a decision).
SYMBOL_MARKS = frozenset({"x", "√", "✓", "✔", "●", "•", "○", "◯", "□", "■", "▭", "▢", "◻", "◼"})
DECISION_MARKS = frozenset({"◇", "◆", "♦", "⬦", "⬥"})
# "Tidak → 3", "T: 3", "Ya ke langkah 5": a decision's target written beside its symbol.
_TARGET = re.compile(
    r"\b(?P<answer>ya|tidak|y|t)\b\s*(?:→|->|:|ke)?\s*(?:langkah\s+)?(?P<label>\d+[a-z]?)\b",
    re.IGNORECASE,
)
_FLOW_WORDS = frozenset({"y", "t", "ya", "tidak", "→", "->", ":", "ke", "langkah"})
_TANGGAL_KEYS = ("tanggal_pembuatan", "tanggal_revisi", "tanggal_efektif")


@dataclass(frozen=True)
class ImportedTable:
    title: str
    header: Row
    lane_header: Row
    rows: list[Row]
    identity_rows: list[Row]


@dataclass(frozen=True)
class LaneMark:
    """What a row's lane cells say: the lanes holding a mark, whether one is a decision
    symbol, and the targets written beside it (as printed labels)."""

    lanes: tuple[str, ...]
    decision: bool = False
    approve_label: str | None = None
    return_label: str | None = None


def mark_tokens(cell: str) -> tuple[bool, bool]:
    """(has a mark, has a decision mark) of one lane cell."""
    tokens = {token.casefold() for token in plain(cell).split()}
    decision = bool(tokens & DECISION_MARKS)
    return decision or bool(tokens & SYMBOL_MARKS), decision


def is_flow_text(cell: str) -> bool:
    """A lane cell holding only marks and flow labels ("Y", "Tidak → 3"), never Mutu Baku."""
    text = _TARGET.sub(" ", plain(cell))
    return all(token.casefold() in _FLOW_WORDS | SYMBOL_MARKS | DECISION_MARKS
               for token in text.split())


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
    """Every SOP in a Word document (.docx), seed text file (.txt/.md), CSV file or XLSX
    workbook."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise CatalogError(path.name, _TOO_LARGE)
    return read_table_bytes(path.read_bytes(), name=path.name)


_TOO_LARGE = f"berkas lebih dari {MAX_IMPORT_BYTES // 1_000_000} MB; pecah menjadi beberapa berkas"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
TABLE_SUFFIXES = (".docx", ".txt", ".md", ".csv", ".xlsx")


def office_package(data: bytes, *, source: str, kind: str) -> None:
    """Refuse what is not an Office Open XML package (a ZIP), saying what it is instead.

    A password-protected Word or Excel file is not a ZIP but an OLE container holding an
    "EncryptedPackage" stream; an old .doc/.xls is an OLE container without one.
    """
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_STREAM in data:
            raise CatalogError(source, "berkas dilindungi kata sandi. Buka di Word atau Excel, "
                                       "hapus kata sandinya, simpan, lalu unggah lagi")
        raise CatalogError(source, f"berkas format lama (.doc/.xls). Simpan ulang sebagai {kind} "
                                   "lalu unggah lagi")
    if not data.startswith(b"PK\x03\x04"):
        raise CatalogError(source, f"bukan {kind}. Unggah berkas yang disimpan sebagai {kind}")


def read_table_bytes(data: bytes, *, name: str) -> list[SopDef]:
    """Every SOP in one file, by its suffix (an upload or a file on disk)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise CatalogError(name, _TOO_LARGE)
    suffix = Path(name).suffix.casefold()
    if suffix == ".docx":
        from services.catalog.docx_import import docx_tables

        return [_sop_from_table(table, source=f"{name}: tabel {number}")
                for number, table in enumerate(docx_tables(data, source=name), start=1)]
    if suffix == ".doc":
        raise CatalogError(name, "berkas Word format lama (.doc). Simpan ulang sebagai .docx "
                                 "lalu unggah lagi")
    if suffix == ".xlsx":
        office_package(data, source=name, kind="Excel (.xlsx)")
        return _from_workbook(data, name=name)
    if suffix not in TABLE_SUFFIXES:
        raise CatalogError(name, "jenis berkas tidak dikenal. Unggah .docx, .txt, .csv atau .xlsx")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogError(name, "bukan teks UTF-8") from None
    if suffix == ".csv":
        try:
            rows = [[cell for cell in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error:
            raise CatalogError(name, "CSV rusak (sebuah kolom terlalu panjang, atau tanda kutip "
                                     "tidak ditutup); simpan ulang tabelnya sebagai CSV "
                                     "UTF-8") from None
        return [_sop_from_table(single_table(rows, default_title=Path(name).stem,
                                              source=name), source=f"{name}: tabel 1")]
    return parse_seed_text(text, source=name)


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
        sops.append(_sop_from_table(single_table(rows, default_title=title, source=where),
                                    source=where))
    return sops


def _from_workbook(data: bytes, *, name: str) -> list[SopDef]:
    sops = []
    for number, (title, rows) in enumerate(_workbook_rows(data, name=name), start=1):
        table = single_table(rows, default_title=title, source=f"{name}: {title}")
        sops.append(_sop_from_table(table, source=f"{name}: lembar {number}"))
    return sops


def _workbook_rows(data: bytes, *, name: str) -> list[tuple[str, list[Row]]]:
    """Every sheet's title and cells as text; a file that is not a whole .xlsx workbook is
    refused in one line, before openpyxl reads it or while it does."""
    from openpyxl import load_workbook

    resave = ("buka di Excel atau LibreOffice lalu simpan ulang sebagai .xlsx, atau impor "
              "tabelnya sebagai .csv")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError):
        raise CatalogError(name, f"bukan berkas Excel .xlsx (isinya bukan arsip ZIP); "
                                 f"{resave}") from None
    if "[Content_Types].xml" not in parts or "xl/workbook.xml" not in parts:
        raise CatalogError(name, f"arsip ZIP ini bukan buku kerja Excel; {resave}")
    if sum(parts.values()) > MAX_WORKBOOK_UNPACKED_BYTES:
        raise CatalogError(name, f"isi buku kerja lebih dari {MAX_WORKBOOK_UNPACKED_BYTES} "
                                 "byte setelah dibuka")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheets = [(sheet.title, [["" if cell is None else str(cell) for cell in row]
                                     for row in sheet.iter_rows(values_only=True)])
                      for sheet in workbook.worksheets]
        finally:
            workbook.close()
    except _DAMAGED_WORKBOOK:
        raise CatalogError(name, f"buku kerja rusak dan tidak dapat dibaca; {resave}") from None
    if not sheets:
        raise CatalogError(name, "buku kerja tidak berisi lembar kerja")
    return sheets


def _is_blank(row: Row) -> bool:
    return not any(cell.strip() for cell in row)


_ACTIVITY_HEADERS = {"aktivitas", "kegiatan", "uraian kegiatan"}


def is_header_row(row: Sequence[str]) -> bool:
    """The first header row of a procedure table: "No." then "Kegiatan" (or "Aktivitas")."""
    return (len(row) > 1 and plain(row[0]).casefold().rstrip(".") == "no"
            and plain(row[1]).casefold() in _ACTIVITY_HEADERS)


def single_table(rows: list[Row], *, default_title: str, source: str) -> ImportedTable:
    header_index = next((i for i, row in enumerate(rows) if is_header_row(row)), None)
    if header_index is None or header_index + 1 >= len(rows):
        raise CatalogError(source, "tidak ada baris judul tabel ('No.', 'Aktivitas', ...)")
    headers = {plain(cell).casefold() for cell in rows[header_index] + rows[header_index + 1]}
    if "waktu" not in headers:
        raise CatalogError(source, "tabel prosedur tidak punya kolom Waktu (Mutu Baku). Tambahkan "
                                   "kolom Waktu di bawah Mutu Baku lalu impor lagi")
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


def _lane_columns(table: ImportedTable) -> list[tuple[int, str]]:
    """(column, lane) of each Pelaksana column, up to the Mutu Baku columns.

    Most tables name the lanes in the second header row, but some put one in the first
    ("Pelaksana ... Kadis"), so each column takes whichever row names it.
    """
    columns: list[tuple[int, str]] = []
    for column in range(2, len(table.lane_header)):
        text = plain(table.lane_header[column])
        if text.casefold() == "kelengkapan":
            break
        if not text and column < len(table.header):
            text = plain(table.header[column])
        if text and text.casefold() != "pelaksana":
            columns.append((column, canonical_role(text) or text))
    return columns


def _lanes(table: ImportedTable) -> list[str]:
    lanes: list[str] = []
    for _, lane in _lane_columns(table):
        if lane not in lanes:
            lanes.append(lane)
    return lanes


def _lane_mark(row: Row, columns: list[tuple[int, str]]) -> LaneMark | None:
    """The lanes of a row that hold a mark, or None when none does."""
    marked: list[str] = []
    decision = False
    targets: dict[str, str] = {}
    for column, lane in columns:
        cell = row[column] if column < len(row) else ""
        has_mark, is_decision = mark_tokens(cell)
        if has_mark and lane not in marked:
            marked.append(lane)
        decision = decision or is_decision
        for match in _TARGET.finditer(plain(cell)):
            answer = "approve" if match.group("answer").casefold() in {"y", "ya"} else "return"
            targets.setdefault(answer, match.group("label"))
    if not marked:
        return None
    return LaneMark(tuple(marked), decision, targets.get("approve"), targets.get("return"))


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
    before = [c for c in cells[2:waktu_at] if c and c not in _STRAY_FLOW_LABELS
              and not is_flow_text(c)]

    def cell(i: int) -> str:
        return cells[i] if i < len(cells) else ""

    return (before[-1] if before else "", cell(waktu_at), cell(waktu_at + 1), cell(waktu_at + 2))


@dataclass
class _Reading:
    role: str | None
    reason: str
    strong: bool  # named by the table (a mark) or the text (a hand-off), not carried or guessed
    marked: bool = False  # the lane's mark says it


def _marked_reading(mark: LaneMark) -> _Reading:
    # The Bidang lane stands for every Bidang: when a symbol spans it and other lanes, the
    # step is the Bidang's multi-unit step (docs/catalog.md, "Word documents").
    role = "Bidang" if "Bidang" in mark.lanes else mark.lanes[0]
    if len(mark.lanes) == 1:
        return _Reading(role, f"tanda di lajur {role}", True, marked=True)
    return _Reading(role, f"tanda di lajur {', '.join(mark.lanes)}: dibaca {role}", True)


def _read_performers(activities: list[str], labels: list[str], lanes: list[str],
                     marks: Sequence[LaneMark | None]) -> list[_Reading]:
    """The performer of every step: its mark, else the rules of the module docstring."""
    readings: list[_Reading] = []
    for index, activity in enumerate(activities):
        mark = marks[index]
        if mark is not None:
            readings.append(_marked_reading(mark))
            continue
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
    columns = _lane_columns(table)
    identity, name = _identity(table.identity_rows)
    name = name or table.title
    activities = [plain(row[1]) for row in table.rows]
    labels = [plain(row[0]) or f"(baris {seq})" for seq, row in enumerate(table.rows, start=1)]
    marks = [_lane_mark(row, columns) for row in table.rows]
    readings = _read_performers(activities, labels, lanes, marks)
    steps: list[StepDef] = []
    for seq, (row, activity, reading) in enumerate(zip(table.rows, activities, readings,
                                                       strict=True), start=1):
        kelengkapan, waktu, output, ket = _mutu_baku(row, table)
        try:
            target = parse_waktu(waktu)
        except WaktuError as error:
            raise CatalogError(source, str(error), step=seq, field="waktu") from None
        notes = [] if reading.marked else [
            f"Pelaksana dibaca dari {'tabel' if reading.strong and marks[seq - 1] else 'teks'} "
            f"({reading.reason}); periksa."]
        if reading.role == "Bidang":
            notes.append("Lajur Bidang dibaca sebagai setiap Bidang: diserahkan per unit.")
        steps.append(StepDef(
            seq=seq, label=plain(row[0]) or None, activity=activity, role=reading.role,
            kelengkapan=kelengkapan, waktu=waktu, target=target, output=output, ket=ket,
            multi_unit=reading.role == "Bidang", interpretation_note=" ".join(notes) or None,
        ))
    steps = _with_decisions(steps, marks, source=source)
    return SopDef(code=sop_code_for(name), name=name, lanes=tuple(lanes), steps=tuple(steps),
                  identity=identity, source=source)


def _noted(step: StepDef, note: str) -> str:
    return f"{step.interpretation_note} {note}" if step.interpretation_note else note


def _with_decisions(steps: list[StepDef], marks: Sequence[LaneMark | None], *,
                    source: str) -> list[StepDef]:
    """Which steps decide, and where "T" returns to.

    A row with a symbol decides when the symbol is a diamond; its "Tidak → N" names the
    target. Otherwise (and for rows without a symbol, when the text is worded as a decision)
    a "dikembalikan kepada X" step returns to the nearest preceding step performed by X, and
    a decision that names no one ("jika belum lengkap, ... dilengkapi") to the step before it.
    """
    by_label = {label: seq for seq, label in step_labels(steps).items()}
    result = []
    for step, mark in zip(steps, marks, strict=True):
        decides = mark.decision if mark is not None else has_decision_wording(step.activity)
        if not decides:
            result.append(step)
            continue
        if step.seq == len(steps):
            result.append(step if mark is None else replace(step, interpretation_note=_noted(
                step, "Simbol keputusan di langkah terakhir: tidak ada langkah 'Ya'; dibaca "
                      "sebagai langkah biasa.")))
            continue
        if mark is not None and mark.approve_label is not None \
                and by_label.get(mark.approve_label) != step.seq + 1:
            raise CatalogError(source, f"'Ya' menunjuk langkah {mark.approve_label}; 'Ya' harus "
                                       "ke langkah berikutnya", step=step.seq, field="decision")
        target, why = _return_target(step, steps, mark, by_label, source=source)
        if target is None:
            unresolved = "Simbol keputusan tanpa langkah tujuan 'Tidak'; dibaca sebagai langkah biasa."
            result.append(replace(step, interpretation_note=_noted(step, unresolved))
                          if mark is not None else step)
            continue
        noted = step.interpretation_note if why is None else _noted(step, f"Keputusan: {why}.")
        result.append(replace(step, decision=Decision(approve=step.seq + 1, return_to=target),
                              interpretation_note=noted))
    return result


def _return_target(step: StepDef, steps: list[StepDef], mark: LaneMark | None,
                   by_label: dict[str, int], *, source: str) -> tuple[int | None, str | None]:
    """(seq "T" returns to, the reading to note; None when the table wrote it)."""
    if mark is not None and mark.return_label is not None:
        target = by_label.get(mark.return_label)
        if target is None or target >= step.seq:
            raise CatalogError(source, f"'Tidak' menunjuk langkah {mark.return_label}; 'Tidak' "
                                       "harus kembali ke langkah sebelumnya", step=step.seq,
                               field="decision")
        return target, None
    named = return_role_named(step.activity)
    if named is None:
        return (step.seq - 1 if step.seq > 1 else None,
                "teks tidak menyebut kepada siapa dikembalikan: ke langkah sebelumnya")
    found = next((s.seq for s in reversed(steps[: step.seq - 1]) if s.role == named[1]), None)
    return found, f"dikembalikan kepada {named[0]}: langkah terdekat oleh {named[1]}"


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
        elif key.replace(" ", "_") in _TANGGAL_KEYS:
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


