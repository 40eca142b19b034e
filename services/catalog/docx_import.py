"""Word documents (.docx) in the PermenPAN-RB 35/2012 layout, read into the rows that
`table_import` turns into a definition (docs/catalog.md, "Word documents").

A document holds, per SOP, an identity table (the cell "Nomor SOP" finds it) and a procedure
table (the header row "No", "Kegiatan"). Merged cells are read from the table grid: a cell
merged across columns gives its text to its first column; one merged down the rows repeats
its Mutu Baku for every row it covers, but its symbol counts only in the row where it starts.

A lane cell holding a drawn symbol becomes a mark the table reader understands: "◇" for a
decision (a diamond), "□" for any other symbol (process, terminator, picture). Connectors,
arrows and off-page connectors are not symbols of a step. The text of text boxes ("Ya",
"Tidak → 3") is kept beside the mark, so the decision's targets reach the reader.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from lxml import etree

from services.catalog.definition import CatalogError
from services.catalog.table_import import (
    ImportedTable,
    Row,
    is_header_row,
    office_package,
    plain,
    single_table,
)

_NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "pic": "http://schemas.openxmlformats.org/drawingml/2006/picture",
    "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
    "v": "urn:schemas-microsoft-com:vml",
}
_W = f"{{{_NS['w']}}}"
# A package this large unpacked is not an SOP (and would fill the memory of a small server).
MAX_UNPACKED_BYTES = 60_000_000
MAX_PACKAGE_PARTS = 3_000

DECISION_MARK, SYMBOL_MARK = "◇", "□"
_DECISION_GEOMETRY = {"diamond", "flowChartDecision"}
_NOT_A_STEP_GEOMETRY = {"flowChartConnector", "flowChartOffpageConnector"}
_NOT_A_STEP_PREFIXES = ("line", "straightConnector", "bentConnector", "curvedConnector")
# VML shape types (o:spt): 110 is the decision; connectors, arrows and text boxes are not steps.
_VML_DECISION = {"110"}
_VML_NOT_A_STEP = {"13", "32", "33", "34", "35", "36", "37", "38", "39", "40", "66", "67",
                   "68", "69", "70", "120", "177", "202"}
_VML_SHAPES = ("rect", "roundrect", "oval", "shape", "image")
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,2}|[a-zA-Z])[.)]\s+")
_IDENTITY_TOP = ("nomor sop", "tanggal pembuatan", "tanggal revisi", "tanggal efektif",
                 "disahkan oleh", "nama sop")
_IDENTITY_BOTTOM = ("dasar hukum", "kualifikasi pelaksana", "keterkaitan",
                    "peralatan/perlengkapan", "peringatan", "pencatatan dan pendataan")
_IDENTITY_LABELS = set(_IDENTITY_TOP + _IDENTITY_BOTTOM)


@dataclass(frozen=True)
class _GridCell:
    tc: etree._Element
    starts_row: bool  # False for the rows below the first of a vertically merged cell
    starts_column: bool  # False for the columns right of the first of a horizontal span


def docx_tables(data: bytes, *, source: str) -> list[ImportedTable]:
    """One table (with its identity rows) per SOP in the document, in document order.

    Each procedure table takes the identity table printed before it (or, when none is, the
    one right after it). A procedure table right after another is its continuation on the
    next page (Word tables split by hand repeat their header).
    """
    office_package(data, source=source, kind="dokumen Word (.docx)")
    body = _document_body(data, source=source)
    groups: list[tuple[list[Row], list[Row] | None]] = []
    waiting: list[Row] | None = None  # an identity table not yet given to a procedure table
    last = ""
    for table in body.findall(f"{_W}tbl"):
        grid = _grid(table)
        kind = _table_kind(grid)
        if kind == "identity":
            if last == "procedure" and groups and groups[-1][1] is None:
                groups[-1] = (groups[-1][0], _identity_rows(grid))
            else:
                waiting = _identity_rows(grid)
        elif kind == "procedure":
            rows = _procedure_rows(grid)
            if last == "procedure" and groups:
                groups[-1][0].extend(rows[_header_index(rows) + 2:])
            else:
                groups.append((rows, waiting))
                waiting = None
        else:
            continue
        last = kind
    if not groups:
        raise CatalogError(source, "tidak ada tabel prosedur (tabel dengan baris judul 'No', "
                                   "'Kegiatan', 'Pelaksana', 'Mutu Baku'). Periksa bahwa "
                                   "langkah SOP ada dalam tabel Word, bukan gambar")
    return [_imported(rows, identity or [], source) for rows, identity in groups]


def _document_body(data: bytes, *, source: str) -> etree._Element:
    not_word = CatalogError(source, "bukan dokumen Word (.docx). Unggah dokumen yang disimpan "
                                    "sebagai .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            infos = package.infolist()
            if len(infos) > MAX_PACKAGE_PARTS or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                raise CatalogError(source, "dokumen terlalu besar setelah dibuka; pecah menjadi "
                                           "beberapa dokumen")
            document = package.read("word/document.xml")
    except (zipfile.BadZipFile, KeyError):
        raise not_word from None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(document, parser)
    except etree.XMLSyntaxError:
        raise CatalogError(source, "dokumen Word ini rusak (isinya tidak bisa dibaca). Buka di "
                                   "Word, simpan ulang sebagai .docx, lalu unggah lagi") from None
    body = root.find(f"{_W}body")
    if body is None:
        raise not_word
    return body


def _grid(table: etree._Element) -> list[list[_GridCell]]:
    """Every grid position of a table: which cell covers it, and whether it starts there."""
    grid: list[list[_GridCell]] = []
    for tr in table.findall(f"{_W}tr"):
        row: list[_GridCell] = []
        before = tr.find(f"{_W}trPr/{_W}gridBefore")
        for _ in range(int(before.get(f"{_W}val", "0")) if before is not None else 0):
            row.append(_GridCell(etree.Element(f"{_W}tc"), True, True))
        for tc in tr.findall(f"{_W}tc"):
            span_element = tc.find(f"{_W}tcPr/{_W}gridSpan")
            span = int(span_element.get(f"{_W}val", "1")) if span_element is not None else 1
            merge = tc.find(f"{_W}tcPr/{_W}vMerge")
            continues = merge is not None and merge.get(f"{_W}val", "continue") == "continue"
            column = len(row)
            owner = tc
            if continues and grid and column < len(grid[-1]):
                owner = grid[-1][column].tc  # the text and symbols live in the first row
            for offset in range(max(span, 1)):
                row.append(_GridCell(owner, not continues, offset == 0))
        grid.append(row)
    return grid


def _table_kind(grid: list[list[_GridCell]]) -> str:
    texts = [[_text(cell.tc) for cell in row] for row in grid]
    if any(is_header_row(row) for row in texts):
        return "procedure"
    if any(_label(text) == "nomor sop" for row in texts for text in row):
        return "identity"
    return "other"


def _header_index(rows: list[Row]) -> int:
    return next(i for i, row in enumerate(rows) if is_header_row(row))


def _procedure_rows(grid: list[list[_GridCell]]) -> list[Row]:
    """The table as rows of cell texts; lane cells carry their symbols as marks."""
    header_at = next(i for i, row in enumerate(grid)
                     if is_header_row([_text(c.tc) for c in row]))
    header = [_text(cell.tc) for cell in grid[header_at]]
    lanes_row = [_text(cell.tc) for cell in grid[header_at + 1]] if header_at + 1 < len(grid) else []
    lane_columns = _lane_columns(header, lanes_row)
    rows: list[Row] = []
    for index, row in enumerate(grid):
        if index <= header_at + 1:
            # Header texts repeat across their merged columns, as the text format prints them.
            rows.append([_text(cell.tc) for cell in row])
            continue
        cells: Row = []
        for column, cell in enumerate(row):
            if not cell.starts_column:
                cells.append("")
            elif column in lane_columns:
                cells.append(_lane_text(cell.tc) if cell.starts_row else "")
            elif column < 2 and not cell.starts_row:
                cells.append("")  # a number or activity is one step's, never repeated
            else:
                cells.append(_text(cell.tc))
        if _is_column_numbers(cells):
            continue
        rows.append(cells)
    return rows


def _lane_columns(header: list[str], lanes_row: list[str]) -> set[int]:
    """Grid columns between "Kegiatan" and the Mutu Baku columns."""
    columns = set()
    for column in range(2, max(len(header), len(lanes_row))):
        below = plain(lanes_row[column]).casefold() if column < len(lanes_row) else ""
        above = plain(header[column]).casefold() if column < len(header) else ""
        if below == "kelengkapan" or above == "mutu baku":
            break
        columns.add(column)
    return columns


def _is_column_numbers(cells: Row) -> bool:
    """The row of column numbers ("1 2 3 ...") some forms print under the header."""
    texts = [plain(cell) for cell in cells if plain(cell)]
    return len(texts) > 2 and all(text.isdigit() for text in texts) and texts[:2] == ["1", "2"]


def _body(rows: list[Row]) -> list[Row]:
    return [row for row in rows if len(row) > 1 and plain(row[1])]


def _imported(rows: list[Row], identity_rows: list[Row], source: str) -> ImportedTable:
    header_at = _header_index(rows)
    # single_table checks the header (the Waktu column) and stops at the first blank row;
    # in a Word table an empty row ends nothing, so empty rows are dropped first.
    kept = rows[: header_at + 2] + _body(rows[header_at + 2:])
    table = single_table(kept, default_title=PurePath(source).stem, source=source)
    return ImportedTable(table.title, table.header, table.lane_header, table.rows, identity_rows)


# --- cell contents --------------------------------------------------------------------------


def _outside_fallback(elements: list[etree._Element]) -> Iterator[etree._Element]:
    """Elements not in an mc:Fallback: Word writes each shape twice (DrawingML and VML)."""
    for element in elements:
        if not any(ancestor.tag == f"{{{_NS['mc']}}}Fallback"
                   for ancestor in element.iterancestors()):
            yield element


def _paragraph_text(paragraph: etree._Element) -> str:
    """The paragraph's own text: not that of text boxes anchored in it."""
    parts = []
    for node in paragraph.iter(f"{_W}t", f"{_W}tab", f"{_W}br"):
        if any(a.tag == f"{_W}txbxContent" for a in node.iterancestors()):
            continue
        parts.append(node.text or "" if node.tag == f"{_W}t" else " ")
    return "".join(parts).strip()


def _paragraphs(tc: etree._Element) -> list[str]:
    return [text for p in tc.findall(f"{_W}p") if (text := _paragraph_text(p))]


def _text(tc: etree._Element) -> str:
    """A cell in the text format's form: several paragraphs as list items (HTML-escaped, as
    `table_import.plain` reads them)."""
    paragraphs = _paragraphs(tc)
    if len(paragraphs) <= 1:
        return html.escape(paragraphs[0]) if paragraphs else ""
    return "".join(f"<li>{html.escape(text)}</li>" for text in paragraphs)


def _lane_text(tc: etree._Element) -> str:
    """Marks for the symbols in a lane cell, then the text of its text boxes and its own."""
    parts = [_symbol(shape) for shape in _shapes(tc)]
    marks = [mark for mark in parts if mark]
    boxes = [" ".join(t.text or "" for t in box.iter(f"{_W}t"))
             for box in _outside_fallback(list(tc.iter(f"{_W}txbxContent")))]
    texts = [text for text in boxes + _paragraphs(tc) if text.strip()]
    return html.escape(" ".join(marks + texts))


def _shapes(tc: etree._Element) -> Iterator[etree._Element]:
    """Drawn shapes and pictures in a cell (a group counts by its members)."""
    yield from _outside_fallback(list(tc.iter(f"{{{_NS['wps']}}}wsp", f"{{{_NS['pic']}}}pic")))
    for pict in _outside_fallback(list(tc.iter(f"{_W}pict"))):
        for element in pict.iter():
            if (isinstance(element.tag, str) and element.tag.startswith(f"{{{_NS['v']}}}")
                    and element.tag.split("}")[1] in _VML_SHAPES):
                yield element


def _symbol(shape: etree._Element) -> str | None:
    """The mark of one shape: "◇", "□", or None when it is not a step's symbol."""
    tag = shape.tag.split("}")[1]
    if shape.tag == f"{{{_NS['pic']}}}pic":
        return SYMBOL_MARK
    if shape.tag == f"{{{_NS['wps']}}}wsp":
        if shape.find(f"{{{_NS['wps']}}}cNvCnPr") is not None:
            return None  # a connector
        box = shape.find(f"{{{_NS['wps']}}}cNvSpPr")
        if box is not None and box.get("txBox") in {"1", "true"}:
            return None  # a text box: its text is read, it is not a symbol
        geometry = shape.find(f".//{{{_NS['a']}}}prstGeom")
        prst = geometry.get("prst", "") if geometry is not None else ""
        if prst in _DECISION_GEOMETRY:
            return DECISION_MARK
        if (prst in _NOT_A_STEP_GEOMETRY or prst.startswith(_NOT_A_STEP_PREFIXES)
                or prst.endswith("Arrow")):
            return None
        return SYMBOL_MARK
    # VML: the shape type is "#_x0000_t110" (type attribute) or o:spt="110".
    kind = (shape.get("type") or "").rsplit("_t", 1)[-1] if tag == "shape" else ""
    spt = next((value for name, value in shape.attrib.items() if name.endswith("}spt")), kind)
    if spt in _VML_DECISION:
        return DECISION_MARK
    if spt in _VML_NOT_A_STEP:
        return None
    return SYMBOL_MARK


# --- identity table -------------------------------------------------------------------------


def _label(text: str) -> str:
    return " ".join(plain(text).casefold().rstrip(":").split())


def _identity_rows(grid: list[list[_GridCell]]) -> list[Row]:
    """The identity table as the text format's identity block: the instansi lines, then
    "label, value" rows, then each pair of lower labels followed by their values."""
    seen: set[int] = set()
    instansi: list[Row] = []
    top: list[Row] = []
    bottom: list[Row] = []
    for r, row in enumerate(grid):
        pair_labels: list[str] = []
        pair_values: list[str] = []
        for c, cell in enumerate(row):
            if id(cell.tc) in seen or not cell.starts_row or not cell.starts_column:
                continue
            label = _label(_text(cell.tc))
            if label not in _IDENTITY_LABELS:
                continue
            seen.add(id(cell.tc))
            right = next((other for other in row[c + 1:] if other.tc is not cell.tc), None)
            if label in _IDENTITY_TOP and right is not None \
                    and _label(_text(right.tc)) not in _IDENTITY_LABELS:
                seen.add(id(right.tc))
                top.append([_text(cell.tc), _value(right.tc, label)])
            else:
                below = grid[r + 1][c] if r + 1 < len(grid) and c < len(grid[r + 1]) else None
                value = ""
                if below is not None and _label(_text(below.tc)) not in _IDENTITY_LABELS:
                    seen.add(id(below.tc))
                    value = _value(below.tc, label)
                pair_labels.append(_text(cell.tc))
                pair_values.append(value)
        if pair_labels:
            bottom += [pair_labels, pair_values]
    first = grid[0][0] if grid and grid[0] else None
    if first is not None and id(first.tc) not in seen:  # the agency's name, beside the labels
        instansi = [[html.escape(line)] for line in _paragraphs(first.tc)]
    return instansi + top + bottom


def _value(tc: etree._Element, label: str) -> str:
    """A value cell; list items lose the numbers typed before them ("1. Peraturan ...")."""
    paragraphs = _paragraphs(tc)
    if label in _IDENTITY_BOTTOM:
        paragraphs = [_ENUMERATOR.sub("", text) for text in paragraphs]
    if label == "disahkan oleh" or len(paragraphs) > 1:
        return "".join(f"<li>{html.escape(text)}</li>" for text in paragraphs)
    return html.escape(paragraphs[0]) if paragraphs else ""
