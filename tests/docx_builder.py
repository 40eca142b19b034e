"""Word documents in the official layout (PermenPAN-RB 35/2012), written from a catalog SOP with
python-docx, for the import tests: an identity table, then the procedure table with a column per
Pelaksana holding each step's symbol, and the Mutu Baku columns.

Each seed SOP is drawn the way real documents are, one way per SOP: DrawingML shapes with
their VML fallback (as Word saves them), VML only (older Word), typed marks ("√", "X", "●"),
a diamond for each decision, "Ya"/"Tidak" text boxes beside it, connector arrows in lanes that
perform nothing, cells merged across and down, and a row of column numbers under the header.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml import parse_xml
from docx.table import Table, _Cell

from services.catalog.definition import Decision, Identity, SopDef, StepDef
from services.catalog.waktu import parse_waktu

_DECLARATIONS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:o="urn:schemas-microsoft-com:office:office"'
)
_ids = count(1)


@dataclass(frozen=True)
class Style:
    """How one document draws its symbols."""

    symbols: str  # "drawingml", "vml" or "text"
    mark: str = "□"  # the typed mark when symbols == "text"
    decision_mark: str = "◇"
    decision_shape: bool = False  # a drawn diamond even when the other marks are typed
    column_numbers: bool = False
    merge_output_and_ket: bool = False
    upper_case_lanes: bool = False


STYLES = {
    "penyusunan-lkj": Style("drawingml", column_numbers=True),
    "pengumpulan-data-kinerja": Style("vml", upper_case_lanes=True),
    "perbaikan-data-kinerja": Style("text", mark="√", merge_output_and_ket=True),
    "e-kinerja": Style("text", mark="X", decision_shape=True),
    "monev-kinerja-periodik": Style("text", mark="●"),
}
# Decisions whose "Tidak" target the document writes beside the diamond (the others leave it
# to the text: "dikembalikan kepada ...").
WRITTEN_TARGETS = {("penyusunan-lkj", 4)}


def _run(xml: str) -> object:
    return parse_xml(f"<w:r {_DECLARATIONS}>{xml}</w:r>")


def _drawingml(prst: str, text: str = "", *, text_box: bool = False) -> str:
    shape_id = next(_ids)
    body = (f"<wps:txbx><w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
            "</w:txbxContent></wps:txbx>" if text else "")
    non_visual = '<wps:cNvSpPr txBox="1"/>' if text_box else (
        "<wps:cNvCnPr/>" if "Connector" in prst else "<wps:cNvSpPr/>")
    vml_type = {"flowChartDecision": "110", "straightConnector1": "32"}.get(prst, "109")
    return (
        '<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="1" '
        'behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1">'
        '<wp:simplePos x="0" y="0"/><wp:positionH relativeFrom="column"><wp:posOffset>0'
        '</wp:posOffset></wp:positionH><wp:positionV relativeFrom="paragraph"><wp:posOffset>0'
        '</wp:posOffset></wp:positionV><wp:extent cx="540000" cy="360000"/>'
        f'<wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="{shape_id}" name="Bentuk {shape_id}"/><wp:cNvGraphicFramePr/>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/'
        f'wordprocessingShape"><wps:wsp>{non_visual}<wps:spPr><a:xfrm><a:off x="0" y="0"/>'
        f'<a:ext cx="540000" cy="360000"/></a:xfrm><a:prstGeom prst="{prst}"><a:avLst/>'
        f'</a:prstGeom></wps:spPr>{body}<wps:bodyPr/></wps:wsp></a:graphicData></a:graphic>'
        '</wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict>'
        f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t{vml_type}" o:spt="{vml_type}" '
        'style="position:absolute;width:42pt;height:28pt"/>'
        + (f"<v:textbox><w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
           "</w:txbxContent></v:textbox>" if text else "")
        + "</w:pict></mc:Fallback></mc:AlternateContent>"
    )


def _vml(kind: str, text: str = "") -> str:
    """Older Word: VML only. `kind`: rect, decision, line, text box."""
    shape_id = next(_ids)
    box = (f"<v:textbox><w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p>"
           "</w:txbxContent></v:textbox>" if text else "")
    if kind == "rect":
        return f'<w:pict><v:rect id="_x0000_s{shape_id}" style="width:42pt;height:28pt"/></w:pict>'
    if kind == "line":
        return f'<w:pict><v:line id="_x0000_s{shape_id}" from="0,0" to="0,20pt"/></w:pict>'
    spt = {"decision": "110", "text box": "202"}[kind]
    return (f'<w:pict><v:shapetype id="_x0000_t{spt}" o:spt="{spt}"/>'
            f'<v:shape id="_x0000_s{shape_id}" type="#_x0000_t{spt}" '
            f'style="width:42pt;height:28pt">{box}</v:shape></w:pict>')


def _shape(cell: _Cell, style: Style, kind: str, text: str = "") -> None:
    """Anchor a shape in the cell's first paragraph (as Word does for a floating shape)."""
    paragraph = cell.paragraphs[0]._p
    if style.symbols == "vml":
        xml = _vml(kind, text)
    else:
        prst = {"rect": "flowChartProcess", "decision": "flowChartDecision",
                "line": "straightConnector1", "text box": "rect",
                "terminator": "flowChartTerminator"}[kind]
        xml = _drawingml(prst, text, text_box=kind == "text box")
    paragraph.append(_run(xml))


def _mark(cell: _Cell, step: StepDef, style: Style, *, first_or_last: bool) -> None:
    decision = step.decision is not None
    if style.symbols == "text" and not (decision and style.decision_shape):
        cell.paragraphs[0].add_run(style.decision_mark if decision else style.mark)
    else:
        kind = "decision" if decision else ("terminator" if first_or_last and
                                            style.symbols == "drawingml" else "rect")
        _shape(cell, style if style.symbols != "text" else Style("drawingml"), kind)


def _identity_table(document: DocumentObject, sop: SopDef) -> None:
    identity, approver = sop.identity, sop.identity.disahkan_oleh
    table = document.add_table(rows=12, cols=3)
    table.style = "Table Grid"
    instansi = table.cell(0, 0).merge(table.cell(5, 0))
    for number, line in enumerate(identity.instansi):
        paragraph = instansi.paragraphs[0] if number == 0 else instansi.add_paragraph()
        paragraph.add_run(line).bold = True
    top = [("Nomor SOP", [identity.nomor_sop]),
           ("Tanggal Pembuatan", [identity.tanggal_pembuatan]),
           ("Tanggal Revisi", [identity.tanggal_revisi]),
           ("Tanggal Efektif", [identity.tanggal_efektif]),
           ("Disahkan oleh", [approver.jabatan, approver.nama, approver.pangkat,
                              f"NIP. {approver.nip}"]),
           ("Nama SOP", [sop.name])]
    for row, (label, lines) in enumerate(top):
        table.cell(row, 1).text = label
        _lines(table.cell(row, 2), [line for line in lines if line])
    bottom = [("Dasar Hukum", identity.dasar_hukum, "Kualifikasi Pelaksana",
               identity.kualifikasi_pelaksana),
              ("Keterkaitan", identity.keterkaitan, "Peralatan/Perlengkapan",
               identity.peralatan_perlengkapan),
              ("Peringatan", (identity.peringatan,), "Pencatatan dan Pendataan",
               (identity.pencatatan_pendataan,))]
    for offset, (left, left_items, right, right_items) in enumerate(bottom):
        row = 6 + 2 * offset
        table.cell(row, 0).text = left
        table.cell(row, 1).merge(table.cell(row, 2)).text = right
        numbered = left == "Dasar Hukum"  # typed numbers, as many forms have them
        _lines(table.cell(row + 1, 0), [f"{n}. {item}" if numbered else item
                                        for n, item in enumerate(left_items, start=1) if item])
        _lines(table.cell(row + 1, 1).merge(table.cell(row + 1, 2)),
               [item for item in right_items if item])


def _lines(cell: _Cell, lines: list[str]) -> None:
    for number, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if number == 0 else cell.add_paragraph()
        paragraph.add_run(line)


def _procedure_table(document: DocumentObject, sop: SopDef, style: Style, *,
                     written_targets: set[int], unmarked: set[int]) -> None:
    lanes = len(sop.lanes)
    kelengkapan, waktu, output, ket = (2 + lanes + offset for offset in range(4))
    header_rows = 3 if style.column_numbers else 2
    table = document.add_table(rows=header_rows + len(sop.steps), cols=ket + 1)
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(1, 0)).text = "No"
    table.cell(0, 1).merge(table.cell(1, 1)).text = "Kegiatan"
    table.cell(0, 2).merge(table.cell(0, 1 + lanes)).text = "Pelaksana"
    table.cell(0, kelengkapan).merge(table.cell(0, output)).text = "Mutu Baku"
    table.cell(0, ket).merge(table.cell(1, ket)).text = "Keterangan"
    for index, lane in enumerate(sop.lanes):
        table.cell(1, 2 + index).text = lane.upper() if style.upper_case_lanes else lane
    for column, label in ((kelengkapan, "Kelengkapan"), (waktu, "Waktu"), (output, "Output")):
        table.cell(1, column).text = label
    if style.column_numbers:
        for column in range(ket + 1):
            table.cell(2, column).text = str(column + 1)
    for index, step in enumerate(sop.steps):
        row = header_rows + index
        table.cell(row, 0).text = step.label or ""
        table.cell(row, 1).text = step.activity
        lane = sop.lanes.index(step.role or "")
        if step.seq not in unmarked:
            _mark(table.cell(row, 2 + lane), step, style,
                  first_or_last=index in (0, len(sop.steps) - 1))
        if step.decision is not None:
            # The arrows' labels, in the next lane (or the previous one at the edge).
            beside = table.cell(row, 2 + (lane + 1 if lane + 1 < lanes else lane - 1))
            written = step.seq in written_targets
            label = sop.label(step.decision.return_to)
            if style.symbols == "text" and not style.decision_shape:
                beside.paragraphs[0].add_run(f"Tidak → {label}" if written else "Tidak")
            else:
                _shape(beside, style, "text box", f"Tidak → {label}" if written else "Tidak")
                _shape(table.cell(row, 2 + lane), style, "text box", "Ya")
        elif style.symbols != "text" and lanes > 1:
            idle = 2 + (lane + 1) % lanes  # an arrow passing through another lane
            _shape(table.cell(row, idle), style, "line")
        table.cell(row, waktu).text = step.waktu
        if style.merge_output_and_ket and not step.ket:
            table.cell(row, output).merge(table.cell(row, ket)).text = step.output
        else:
            table.cell(row, output).text = step.output
            table.cell(row, ket).text = step.ket
    _merged_down(table, sop.steps, header_rows, kelengkapan)


def _merged_down(table: Table, steps: tuple[StepDef, ...], first_row: int, column: int) -> None:
    """Kelengkapan cells of consecutive steps with the same text are one cell, as forms do."""
    start = 0
    while start < len(steps):
        end = start
        while end + 1 < len(steps) and steps[end + 1].kelengkapan == steps[start].kelengkapan:
            end += 1
        top = table.cell(first_row + start, column)
        if end > start:
            top = top.merge(table.cell(first_row + end, column))
        top.text = steps[start].kelengkapan
        start = end + 1


def write_sop_docx(sop: SopDef, path: Path, *, style: Style | None = None,
                   written_targets: set[int] | None = None, unmarked: set[int] = frozenset(),
                   identity: bool = True) -> Path:
    """`written_targets`: decision steps whose "Tidak → N" the document writes (by default
    those of WRITTEN_TARGETS); `unmarked`: steps drawn without a symbol."""
    document = Document()
    document.add_paragraph(f"SOP {sop.name}")
    if identity:
        _identity_table(document, sop)
    document.add_paragraph("")
    if written_targets is None:
        written_targets = {seq for code, seq in WRITTEN_TARGETS if code == sop.code}
    _procedure_table(document, sop, style or STYLES.get(sop.code, Style("drawingml")),
                     written_targets=written_targets, unmarked=set(unmarked))
    document.save(str(path))
    return path


def surat_keluar() -> SopDef:
    """A new SOP of another unit, with a Pelaksana that is not a role yet and a decision."""
    rows = [
        ("Kasubbag Umum", "Menyusun konsep surat keluar dan menyerahkannya kepada Sekretaris",
         "Disposisi", "30 Menit", "Konsep surat", None),
        ("Sekretaris", "Memeriksa konsep surat, jika tidak setuju dikembalikan kepada Kasubbag "
         "Umum untuk diperbaiki, jika setuju diparaf dan diserahkan kepada Kadis",
         "Konsep surat", "30 Menit", "Konsep surat yang sudah diparaf", Decision(3, 1)),
        ("Kadis", "Menandatangani surat dan menyerahkannya kepada Kasubbag Umum",
         "Konsep surat yang sudah diparaf", "15 Menit", "Surat yang sudah ditandatangani", None),
        ("Kasubbag Umum", "Memberi nomor, mengagendakan dan mengirim surat",
         "Surat yang sudah ditandatangani", "1 hari", "Surat terkirim", None),
    ]
    steps = tuple(
        StepDef(seq=seq, label=str(seq), activity=activity, role=role, kelengkapan=kelengkapan,
                waktu=waktu, target=parse_waktu(waktu), output=output, decision=decision)
        for seq, (role, activity, kelengkapan, waktu, output, decision) in enumerate(rows, 1))
    return SopDef(code="surat-keluar", name="Surat Keluar",
                  lanes=("Kasubbag Umum", "Sekretaris", "Kadis"), steps=steps,
                  identity=Identity(instansi=("PEMERINTAH PROVINSI KALIMANTAN BARAT",
                                              "BIDANG PENGEMBANGAN KOLEKSI")))
