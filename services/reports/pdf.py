"""The monitoring and evaluation forms as PDF documents (fpdf2): agency header, SOP identity,
the table in the regulation's columns, and the signature block. One page (or more) per SOP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from services.catalog.definition import SopDef
from services.formatting import MONTHS
from services.reports.forms import CRITERIA, NO, YES, EvaluationForm, MonitoringForm, SavedBy

# The PDF core fonts cover Latin-1 only; the catalog's typography is mapped onto it.
_LATIN1 = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
                         "•": "-", "≤": "<=", "≥": ">="})
HEADING = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))


def latin1(text: str) -> str:
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def long_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


class FormDocument(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.set_margins(15, 12, 15)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(title)
        self.set_creator("Pantau SOP")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", "I", 7)
        self.cell(0, 4, latin1(f"{self.title} - halaman {self.page_no()}"), align=Align.R)

    def write_line(self, text: str, *, size: float = 10, style: str = "",
                   align: Align = Align.L, height: float = 5) -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, height, latin1(text), align=align, new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)

    def agency_header(self, sop: SopDef) -> None:
        lines = sop.identity.instansi or ("PEMERINTAH DAERAH",)
        for index, line in enumerate(lines):
            self.write_line(line.upper(), size=12 if index < 2 else 11, style="B",
                            align=Align.C, height=5.5)
        self.ln(1)
        y = self.get_y()
        self.set_line_width(0.8)
        self.line(self.l_margin, y, self.w - self.r_margin, y)
        self.set_line_width(0.2)
        self.line(self.l_margin, y + 1, self.w - self.r_margin, y + 1)
        self.ln(4)

    def form_heading(self, sop: SopDef, *, title: str, subtitle: str, period_name: str,
                     period_label: str) -> None:
        """A new page: agency header, the form's title, and the SOP's identity block."""
        self.add_page()
        self.agency_header(sop)
        self.write_line(title, size=12, style="B", align=Align.C)
        self.write_line(subtitle, size=9, align=Align.C)
        self.ln(3)
        unit = sop.identity.instansi[-1] if sop.identity.instansi else ""
        self.identity([("Nama SOP", sop.name), ("Nomor SOP", sop.identity.nomor_sop or "-"),
                       ("Unit kerja", unit.title() if unit.isupper() else unit),
                       (period_name, period_label)])

    def identity(self, rows: Sequence[tuple[str, str]]) -> None:
        self.set_font("Helvetica", "", 10)
        for label, value in rows:
            self.cell(40, 5.5, latin1(label))
            self.cell(4, 5.5, ":")
            self.multi_cell(0, 5.5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def signatures(self, *, city: str, day: date, sop: SopDef, saved: SavedBy | None) -> None:
        """Left: the head who knows of it (the SOP's approver); right: the evaluator."""
        if self.will_page_break(45):
            self.add_page()
        self.ln(6)
        approver = sop.identity.disahkan_oleh
        half = (self.w - self.l_margin - self.r_margin) / 2
        top = self.get_y()
        left = ["Mengetahui,", approver.jabatan or "Kepala Dinas", "", "", "",
                approver.nama or "(.............................)",
                *([approver.pangkat] if approver.pangkat else []),
                *([f"NIP. {approver.nip}"] if approver.nip else [])]
        right = [f"{city}, {long_date(day)}", "Penilai,", "", "", "",
                 saved.full_name if saved else "(.............................)"]
        self.set_font("Helvetica", "", 10)
        for column, lines in ((0, left), (1, right)):
            self.set_xy(self.l_margin + column * half, top)
            for index, line in enumerate(lines):
                bold = index == 5
                self.set_font("Helvetica", "BU" if bold else "", 10)
                self.set_x(self.l_margin + column * half)
                self.cell(half, 5, latin1(line), align=Align.C, new_x=XPos.LMARGIN,
                          new_y=YPos.NEXT)


def monitoring_pdf(forms: Sequence[MonitoringForm], *, city: str, day: date) -> bytes:
    """Tabel 7 Monitoring Pelaksanaan SOP AP, one section per SOP."""
    document = FormDocument("Monitoring Pelaksanaan SOP AP")
    for form in forms:
        document.form_heading(
            form.sop, title="MONITORING PELAKSANAAN SOP ADMINISTRASI PEMERINTAHAN",
            subtitle="(Tabel 7, Peraturan Menteri PAN-RB Nomor 35 Tahun 2012)",
            period_name="Periode monitoring", period_label=form.period.label)
        document.set_font("Helvetica", "", 9)
        with document.table(
                col_widths=(10, 82, 34, 70, 56, 15), line_height=4.6,
                text_align=("CENTER", "LEFT", "CENTER", "LEFT", "LEFT", "CENTER"),
                headings_style=HEADING, cell_fill_mode=TableCellFillMode.NONE,
                padding=1.2) as table:
            table.row(["No.", "Prosedur", "Penilaian Terhadap Penerapan",
                       "Catatan Hasil Penilaian", "Tindakan yang Harus Diambil",
                       "Paraf Penilai"])
            for row in form.rows:
                table.row([row.number, latin1(row.procedure),
                           latin1(row.assessment or "Belum dinilai"), latin1(row.note),
                           latin1(row.action or "-"), ""])
        document.ln(2)
        document.write_line(
            f"Penilaian awal dihitung dari data pelaksanaan: berjalan dengan baik bila paling "
            f"sedikit {form.thresholds.min_compliance:.0%} kunjungan selesai dalam Mutu Baku dan "
            f"pengembalian paling banyak {form.thresholds.max_return_rate:.0%} dari keputusan; "
            "lalu ditinjau dan disunting oleh penilai.", size=8, style="I")
        document.signatures(city=city, day=day, sop=form.sop, saved=form.saved)
    return bytes(document.output())


def evaluation_pdf(forms: Sequence[EvaluationForm], *, city: str, day: date) -> bytes:
    """Evaluasi SOP AP on the seven criteria, one section per SOP."""
    document = FormDocument("Evaluasi SOP AP")
    for form in forms:
        document.form_heading(
            form.sop, title="EVALUASI PENERAPAN SOP ADMINISTRASI PEMERINTAHAN",
            subtitle="(Peraturan Menteri PAN-RB Nomor 35 Tahun 2012)",
            period_name="Periode evaluasi", period_label=form.period.label)
        document.set_font("Helvetica", "", 10)
        with document.table(
                col_widths=(10, 110, 16, 16, 115), line_height=5.5,
                text_align=("CENTER", "LEFT", "CENTER", "CENTER", "LEFT"),
                headings_style=HEADING, cell_fill_mode=TableCellFillMode.NONE,
                padding=1.5) as table:
            table.row(["No.", "Penilaian Penerapan", YES, NO, "Catatan"])
            for number, (key, label) in enumerate(CRITERIA, start=1):
                answer = form.answers.get(key)
                table.row([str(number), label, "V" if answer == YES else "",
                           "V" if answer == NO else "", latin1(form.notes.get(key, ""))])
        if form.conclusion:
            document.ln(3)
            document.write_line("Kesimpulan dan rekomendasi:", style="B")
            document.write_line(form.conclusion)
        document.signatures(city=city, day=day, sop=form.sop, saved=form.saved)
    return bytes(document.output())
