"""The monitoring and evaluation forms as PDF documents (fpdf2): agency header, SOP identity,
the table in the regulation's columns, and the signature block. One page (or more) per SOP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

from fpdf import FPDF
from fpdf.enums import Align, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from services.catalog.definition import Approver, SopDef
from services.formatting import MONTHS
from services.reports.forms import CRITERIA, NO, YES, EvaluationForm, MonitoringForm

# The PDF core fonts cover Latin-1 only; the catalog's typography is mapped onto it.
_LATIN1 = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
                         "•": "-", "≤": "<=", "≥": ">="})
HEADING = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))


def latin1(text: str) -> str:
    return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def long_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _unit_of(sop: SopDef) -> str:
    """The unit named last in the agency header ("SEKRETARIAT" -> "Sekretariat")."""
    unit = sop.identity.instansi[-1] if sop.identity.instansi else ""
    return unit.title() if unit.isupper() else unit


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

    def form_heading(self, sop: SopDef, *, title: str, subtitle: str,
                     identity: Sequence[tuple[str, str]]) -> None:
        """A new page: agency header (from the catalog's identity block), the form's title,
        and what it is about."""
        self.add_page()
        self.agency_header(sop)
        self.write_line(title, size=12, style="B", align=Align.C)
        self.write_line(subtitle, size=9, align=Align.C)
        self.ln(3)
        self.identity(identity)

    def identity(self, rows: Sequence[tuple[str, str]]) -> None:
        self.set_font("Helvetica", "", 10)
        for label, value in rows:
            self.cell(40, 5.5, latin1(label))
            self.cell(4, 5.5, ":")
            self.multi_cell(0, 5.5, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def signatures(self, *, city: str, day: date, approver: Approver, evaluator: str | None) -> None:
        """Left: the head who knows of it (the SOP's approver); right: the evaluator."""
        self.ln(6)
        half = (self.w - self.l_margin - self.r_margin) / 2
        top = self.get_y()
        left = ["Mengetahui,", approver.jabatan or "Kepala Dinas", "", "", "",
                approver.nama or "(.............................)",
                *([approver.pangkat] if approver.pangkat else []),
                *([f"NIP. {approver.nip}"] if approver.nip else [])]
        right = [f"{city}, {long_date(day)}", "Penilai,", "", "", "",
                 evaluator or "(.............................)"]
        bottom = top
        for column, lines in ((0, left), (1, right)):
            self.set_xy(self.l_margin + column * half, top)
            for index, line in enumerate(lines):
                self.set_font("Helvetica", "BU" if index == 5 else "", 10)
                self.set_x(self.l_margin + column * half)
                self.cell(half, 5, latin1(line), align=Align.C, new_x=XPos.LMARGIN,
                          new_y=YPos.NEXT)
            bottom = max(bottom, self.get_y())
        self.set_y(bottom)

    def _trial(self) -> FormDocument:
        """A blank page of the same geometry, to measure what would be drawn."""
        trial = FormDocument(self.title or "")
        trial.add_page()
        return trial

    def table_and_signatures(self, table: Callable[[FormDocument, Sequence[Row]], None],
                             rows: Sequence[Row], after: Callable[[FormDocument], None]) -> None:
        """The table, then what follows it (a footnote, the signatures). When what follows
        would fall alone onto a new page, the table's last rows go with it, so a signature
        block is never on a page without the table it signs."""
        probe = self._trial()
        start = probe.get_y()
        after(probe)
        needed = probe.get_y() - start
        probe = self._trial()
        probe.set_y(self.get_y())
        table(probe, rows)
        if probe.get_y() + needed <= probe.page_break_trigger:
            table(self, rows)
            after(self)
            return
        for tail in range(1, len(rows)):
            probe = self._trial()
            table(probe, rows[-tail:])
            if probe.page_no() == 1 and probe.get_y() + needed <= probe.page_break_trigger:
                table(self, rows[:-tail])
                self.add_page()
                table(self, rows[-tail:])
                after(self)
                return
        table(self, rows)  # even its last row and the signatures do not share a page
        self.add_page()
        after(self)


Row = TypeVar("Row")
MONITORING_HEADINGS = ["No.", "Prosedur", "Penilaian Terhadap Penerapan",
                       "Catatan Hasil Penilaian", "Tindakan yang Harus Diambil", "Paraf Penilai"]


def _monitoring_table(rows: Sequence[tuple[str, str, str, str, str]]) -> Callable[
        [FormDocument, Sequence[tuple[str, str, str, str, str]]], None]:
    def draw(document: FormDocument, part: Sequence[tuple[str, str, str, str, str]]) -> None:
        document.set_font("Helvetica", "", 9)
        with document.table(
                col_widths=(10, 82, 34, 70, 56, 15), line_height=4.6,
                text_align=("CENTER", "LEFT", "CENTER", "LEFT", "LEFT", "CENTER"),
                headings_style=HEADING, cell_fill_mode=TableCellFillMode.NONE,
                padding=1.2) as table:
            table.row(MONITORING_HEADINGS)
            for number, procedure, assessment, note, action in part:
                table.row([number, latin1(procedure), latin1(assessment), latin1(note),
                           latin1(action or "-"), ""])
    return draw


def _footnote(form: MonitoringForm) -> Callable[[FormDocument], None]:
    def draw(document: FormDocument) -> None:
        document.ln(2)
        document.write_line(
            f"Penilaian awal dihitung dari data pelaksanaan: berjalan dengan baik bila paling "
            f"sedikit {form.thresholds.min_compliance:.0%} kunjungan selesai dalam Mutu Baku dan "
            f"pengembalian paling banyak {form.thresholds.max_return_rate:.0%} dari keputusan; "
            "lalu ditinjau dan disunting oleh penilai.", size=8, style="I")
    return draw


def _then(*parts: Callable[[FormDocument], None]) -> Callable[[FormDocument], None]:
    def draw(document: FormDocument) -> None:
        for part in parts:
            part(document)
    return draw


def _evaluator(forms: Sequence[MonitoringForm | EvaluationForm]) -> str | None:
    """Who signs as Penilai: whoever saved the forms last."""
    saved = [form.saved for form in forms if form.saved is not None]
    return max(saved, key=lambda by: by.at).full_name if saved else None


def _approver(forms: Sequence[MonitoringForm]) -> Approver:
    """The head who signs "Mengetahui" for the unit: the approver most SOPs name."""
    approvers = Counter(form.sop.identity.disahkan_oleh for form in forms)
    return approvers.most_common(1)[0][0] if approvers else Approver()


def monitoring_pdf(forms: Sequence[MonitoringForm], *, city: str, day: date) -> bytes:
    """Tabel 7 Monitoring Pelaksanaan SOP AP as the regulation prints it: a row per SOP of the
    unit, signed; then the annex, each SOP's assessment per step."""
    document = FormDocument("Monitoring Pelaksanaan SOP AP")
    if not forms:
        return bytes(document.output())
    first = forms[0]
    document.form_heading(
        first.sop, title="MONITORING PELAKSANAAN SOP ADMINISTRASI PEMERINTAHAN",
        subtitle="(Tabel 7, Peraturan Menteri PAN-RB Nomor 35 Tahun 2012)",
        identity=[("Unit kerja", _unit_of(first.sop)),
                  ("Periode monitoring", first.period.label),
                  ("Jumlah SOP AP", str(len(forms)))])
    rows = [(str(number), f"{form.sop.name} (Nomor SOP {form.sop.identity.nomor_sop or '-'})",
             form.summary.assessment or "Belum dinilai", form.summary.note, form.summary.action)
            for number, form in enumerate(forms, start=1)]
    def signed(document: FormDocument) -> None:
        document.signatures(city=city, day=day, approver=_approver(forms),
                            evaluator=_evaluator(forms))

    document.table_and_signatures(_monitoring_table(rows), rows,
                                  _then(_footnote(first), signed))
    for number, form in enumerate(forms, start=1):
        document.form_heading(
            form.sop, title=f"LAMPIRAN TABEL 7 NOMOR {number}: PENILAIAN PER LANGKAH",
            subtitle=form.sop.name,
            identity=[("Nama SOP", form.sop.name),
                      ("Nomor SOP", form.sop.identity.nomor_sop or "-"),
                      ("Periode monitoring", form.period.label)])
        steps = [(row.number, row.procedure, row.assessment or "Belum dinilai", row.note,
                  row.action) for row in form.rows]
        document.table_and_signatures(_monitoring_table(steps), steps, _footnote(form))
    return bytes(document.output())


def _evaluation_table(form: EvaluationForm) -> Callable[[FormDocument, Sequence[int]], None]:
    def draw(document: FormDocument, numbers: Sequence[int]) -> None:
        document.set_font("Helvetica", "", 10)
        with document.table(
                col_widths=(10, 110, 16, 16, 115), line_height=5.5,
                text_align=("CENTER", "LEFT", "CENTER", "CENTER", "LEFT"),
                headings_style=HEADING, cell_fill_mode=TableCellFillMode.NONE,
                padding=1.5) as table:
            table.row(["No.", "Penilaian Penerapan", YES, NO, "Catatan"])
            for number in numbers:
                key, label = CRITERIA[number - 1]
                answer = form.answers.get(key)
                table.row([str(number), label, "V" if answer == YES else "",
                           "V" if answer == NO else "", latin1(form.notes.get(key, ""))])
    return draw


def evaluation_pdf(forms: Sequence[EvaluationForm], *, city: str, day: date) -> bytes:
    """Evaluasi SOP AP on the seven criteria, one section per SOP, each signed."""
    document = FormDocument("Evaluasi SOP AP")
    for form in forms:
        document.form_heading(
            form.sop, title="EVALUASI PENERAPAN SOP ADMINISTRASI PEMERINTAHAN",
            subtitle="(Peraturan Menteri PAN-RB Nomor 35 Tahun 2012)",
            identity=[("Nama SOP", form.sop.name),
                      ("Nomor SOP", form.sop.identity.nomor_sop or "-"),
                      ("Unit kerja", _unit_of(form.sop)), ("Periode evaluasi", form.period.label)])

        def conclusion(document: FormDocument, form: EvaluationForm = form) -> None:
            if form.conclusion:
                document.ln(3)
                document.write_line("Kesimpulan dan rekomendasi:", style="B")
                document.write_line(form.conclusion)

        def signed(document: FormDocument, form: EvaluationForm = form) -> None:
            document.signatures(city=city, day=day, approver=form.sop.identity.disahkan_oleh,
                                evaluator=form.saved.full_name if form.saved else None)

        document.table_and_signatures(_evaluation_table(form),
                                      list(range(1, len(CRITERIA) + 1)), _then(conclusion, signed))
    return bytes(document.output())
