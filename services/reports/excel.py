"""Excel workbooks (openpyxl): the two forms, and the management report. Every sheet starts
with its title and the period; figures are written as numbers (rates as percentages) taken as
they are from the metrics service, so the workbook and the dashboards agree. Every cell is
written by `_put`, so text (anything a user typed) is always a text cell, never a formula."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.formatting import SLA_LABELS, WIB, format_wib
from services.metrics import Metrics
from services.periods import PeriodChoice
from services.reports.forms import CRITERIA, NO, YES, EvaluationForm, MonitoringForm

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDDDDD")
WRAP = Alignment(wrap_text=True, vertical="top")
PERCENT = "0.0%"
NUMBER = "#,##0"
DECIMAL = "#,##0.0"
# Text that Excel or LibreOffice may take for a formula once the cell is edited or the text
# pasted elsewhere (a tab or a line break can hide such a start; a carriage return is a line
# feed by then, see `_put`); docs/security.md, "Spreadsheets".
FORMULA_START = ("=", "+", "-", "@", "\t", "\n")


def _put(sheet: Worksheet, row: int, column: int, value: Any) -> Cell:
    """The only way a value enters a workbook here. openpyxl stores a string that starts with
    "=" as a formula and "#N/A" and its like as an error, so a string is typed as text
    whatever it holds. A string that would turn into a formula when someone edits the cell
    also gets Excel's quote prefix (shown in the formula bar only, never in the value), so it
    stays text after an edit. Line ends become line feeds, Excel's line break in a cell:
    without lxml openpyxl writes a carriage return bare and every XML reader turns it into a
    line feed anyway, so this makes the file the same whichever writer openpyxl picks.
    Numbers and dates keep openpyxl's own types. The forms refuse control characters, which
    XLSX cannot hold; text stored before they did shows each as U+FFFD instead of failing
    the whole workbook."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value.replace("\r\n", "\n").replace("\r", "\n"))
    cell: Cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True
    return cell


def _sheet_title(text: str, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    cleaned = "".join("-" if char in "[]:*?/\\" else char for char in text)[:31]
    title, counter = cleaned, 2
    while title in taken:
        suffix = f" ({counter})"
        title, counter = cleaned[:31 - len(suffix)] + suffix, counter + 1
    taken.add(title)
    return title


def _titled(book: Workbook, name: str, title: str, subtitle: str, taken: set[str]) -> Worksheet:
    sheet = book.create_sheet(_sheet_title(name, taken))
    _put(sheet, 1, 1, title).font = Font(bold=True, size=13)
    _put(sheet, 2, 1, subtitle).font = Font(italic=True)
    return sheet


def _table(sheet: Worksheet, *, top: int, headings: Sequence[str], rows: Iterable[Sequence[Any]],
           widths: Sequence[float], formats: Sequence[str | None] | None = None) -> int:
    """A bordered table with a grey heading row; returns the row after it."""
    for column, (heading, width) in enumerate(zip(headings, widths, strict=True), start=1):
        cell = _put(sheet, top, column, heading)
        cell.font, cell.fill, cell.border = Font(bold=True), HEAD_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        sheet.column_dimensions[get_column_letter(column)].width = width
    row_number = top
    for row_number, values in enumerate(rows, start=top + 1):
        for column, value in enumerate(values, start=1):
            cell = _put(sheet, row_number, column,
                        None if value is None or value != value else value)
            cell.border, cell.alignment = BOX, WRAP
            if formats and formats[column - 1]:
                cell.number_format = formats[column - 1]
    sheet.freeze_panes = sheet.cell(row=top + 1, column=1)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{top}:{top}"
    return row_number + 1


def _bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _header_lines(sheet: Worksheet, form: MonitoringForm | EvaluationForm) -> int:
    """Agency, SOP identity and period under the sheet title; returns the next free row."""
    row = 3
    for line in form.sop.identity.instansi:
        _put(sheet, row, 1, line).font = Font(bold=True)
        row += 1
    for label, value in (("Nama SOP", form.sop.name),
                         ("Nomor SOP", form.sop.identity.nomor_sop or "-"),
                         ("Periode", form.period.label)):
        _put(sheet, row, 1, label)
        _put(sheet, row, 2, value)
        row += 1
    return row + 1


def _saved_line(form: MonitoringForm | EvaluationForm) -> str:
    if form.saved is None:
        return "Draf dari data pelaksanaan (belum disimpan penilai)"
    return f"Disimpan oleh {form.saved.full_name} pada {format_wib(form.saved.at)}"


def _form_sheet(book: Workbook, form: MonitoringForm | EvaluationForm, title: str,
                taken: set[str]) -> tuple[Worksheet, int]:
    """The sheet of one SOP's form (title, period, who saved it, the SOP identity) and its
    first free row, for the form's own table."""
    sheet = _titled(book, form.sop.name, title, f"{form.period.label} · {_saved_line(form)}",
                    taken)
    return sheet, _header_lines(sheet, form)


def monitoring_workbook(forms: Sequence[MonitoringForm]) -> bytes:
    """Tabel 7 as the regulation prints it (a row per SOP), then a sheet per SOP: its annex,
    the assessment of every step with the figures behind it."""
    book, taken = Workbook(), set[str]()
    book.remove(book.active)
    if forms:
        first = forms[0]
        saved = [form.saved for form in forms if form.saved is not None]
        sheet = _titled(book, "Tabel 7", "Tabel 7 Monitoring Pelaksanaan SOP AP",
                        f"{first.period.label} · " + (
                            f"disimpan terakhir oleh {max(saved, key=lambda by: by.at).full_name}"
                            if saved else "draf dari data pelaksanaan"), taken)
        row = 3
        for line in first.sop.identity.instansi:
            _put(sheet, row, 1, line).font = Font(bold=True)
            row += 1
        after = _table(
            sheet, top=row + 1,
            headings=("No.", "Prosedur", "Nomor SOP", "Penilaian Terhadap Penerapan",
                      "Catatan Hasil Penilaian", "Tindakan yang Harus Diambil", "Paraf Penilai",
                      "Kepatuhan", "Tingkat pengembalian"),
            rows=([number, form.sop.name, form.sop.identity.nomor_sop or "-",
                   form.summary.assessment or "Belum dinilai", form.summary.note,
                   form.summary.action, "", form.summary.measured.compliance,
                   form.summary.measured.return_rate]
                  for number, form in enumerate(forms, start=1)),
            widths=(6, 40, 20, 18, 48, 40, 10, 11, 12),
            formats=(None, None, None, None, None, None, None, PERCENT, PERCENT))
        _put(sheet, after + 1, 2, _threshold_line(first))
    for number, form in enumerate(forms, start=1):
        sheet, top = _form_sheet(book, form, f"Lampiran Tabel 7 nomor {number}: penilaian per "
                                             "langkah", taken)
        after = _table(
            sheet, top=top,
            headings=("No.", "Prosedur", "Penilaian Terhadap Penerapan", "Catatan Hasil Penilaian",
                      "Tindakan yang Harus Diambil", "Paraf Penilai", "Kunjungan selesai",
                      "Dalam Mutu Baku", "Kepatuhan", "Pengembalian"),
            rows=([row.number, row.procedure, row.assessment or "Belum dinilai", row.note,
                   row.action, "", row.measured.visits, row.measured.within,
                   row.measured.compliance, row.measured.returns] for row in form.rows),
            widths=(6, 50, 18, 40, 34, 10, 11, 11, 11, 12),
            formats=(None, None, None, None, None, None, NUMBER, NUMBER, PERCENT, NUMBER))
        _put(sheet, after + 1, 2, _threshold_line(form))
    return _bytes(book)


def _threshold_line(form: MonitoringForm) -> str:
    return (f"Ambang: kepatuhan ≥ {form.thresholds.min_compliance:.0%}, pengembalian ≤ "
            f"{form.thresholds.max_return_rate:.0%} dari keputusan")


def evaluation_workbook(forms: Sequence[EvaluationForm]) -> bytes:
    book, taken = Workbook(), set[str]()
    book.remove(book.active)
    for form in forms:
        sheet, top = _form_sheet(book, form, "Evaluasi SOP AP", taken)
        after = _table(
            sheet, top=top, headings=("No.", "Penilaian Penerapan", YES, NO, "Catatan"),
            rows=([number, label, "V" if form.answers.get(key) == YES else "",
                   "V" if form.answers.get(key) == NO else "", form.notes.get(key, "")]
                  for number, (key, label) in enumerate(CRITERIA, start=1)),
            widths=(6, 55, 8, 8, 60))
        if form.conclusion:
            _put(sheet, after + 1, 2, "Kesimpulan dan rekomendasi").font = Font(bold=True)
            _put(sheet, after + 2, 2, form.conclusion).alignment = WRAP
    return _bytes(book)


def management_workbook(metrics: Metrics, *, period: PeriodChoice, returns: pd.DataFrame,
                        titles: dict[int, tuple[str, str]]) -> bytes:
    """Summary, per SOP, per step, pending work and returns for a period; every figure is
    one of `metrics` as it is (the dashboards read the same)."""
    book, taken = Workbook(), set[str]()
    book.remove(book.active)
    subtitle = f"Periode: {period.label} · keadaan per {format_wib(metrics.as_of)} · waktu kerja"
    figures = metrics.totals
    summary = _titled(book, "Ringkasan", "Laporan Pemantauan SOP", subtitle, taken)
    _table(summary, top=4, headings=("Ukuran", "Nilai"), widths=(48, 18), rows=[
        ("Kasus (dimulai, selesai atau berjalan pada periode)", figures.cases_total),
        ("Kasus berjalan pada waktu acuan", figures.cases_active),
        ("Kasus selesai pada periode", figures.cases_completed),
        ("Kunjungan langkah dengan Mutu Baku", figures.visits_with_target),
        ("Dalam Mutu Baku", figures.within_target),
        ("Kepatuhan Mutu Baku", figures.compliance_rate),
        ("Pengembalian", figures.returns),
        ("Tingkat revisi", figures.revision_rate),
        ("Tugas tertunda pada waktu acuan", figures.pending),
        ("Tugas tertunda yang terlambat", figures.overdue),
        ("Tugas tertunda yang berisiko", figures.at_risk),
    ], formats=(None, "General"))
    summary["B10"].number_format = PERCENT
    summary["B12"].number_format = PERCENT

    per_sop = _titled(book, "Per SOP", "Angka per SOP", subtitle, taken)
    _table(per_sop, top=4,
           headings=("Kode", "SOP", "Kasus", "Berjalan", "Selesai", "Dibatalkan",
                     "Kepatuhan", "Dalam Mutu Baku", "Dengan Mutu Baku", "Pengembalian",
                     "Tingkat revisi", "Waktu tuntas median (menit kerja)",
                     "Waktu tuntas p90 (menit kerja)", "Tugas terlambat"),
           rows=([sop.code, sop.name, sop.totals.cases_total, sop.totals.cases_active,
                  sop.totals.cases_completed, sop.totals.cases_cancelled,
                  sop.totals.compliance_rate, sop.totals.within_target,
                  sop.totals.visits_with_target, sop.totals.returns, sop.totals.revision_rate,
                  sop.totals.lead_time_median, sop.totals.lead_time_p90, sop.totals.overdue]
                 for sop in metrics.sops),
           widths=(24, 36, 8, 9, 8, 10, 11, 11, 11, 12, 11, 16, 16, 10),
           formats=(None, None, NUMBER, NUMBER, NUMBER, NUMBER, PERCENT, NUMBER, NUMBER, NUMBER,
                    PERCENT, DECIMAL, DECIMAL, NUMBER))

    per_step = _titled(book, "Per Langkah", "Angka per langkah", subtitle, taken)
    _table(per_step, top=4,
           headings=("Kode SOP", "Langkah", "Pelaksana", "Mutu Baku (menit)", "Kunjungan selesai",
                     "Dengan Mutu Baku", "Dalam Mutu Baku", "Kepatuhan", "Pengembalian",
                     "Tingkat pengembalian", "Median (menit)", "p90 (menit)",
                     "Rata-rata (menit)", "Kelebihan waktu (menit)", "Masih berjalan"),
           rows=([sop.code, step.label, step.role, step.target_minutes, step.visits_ended,
                  step.visits_with_target, step.within_target, step.compliance_rate,
                  step.returns, step.return_rate, step.duration_median, step.duration_p90,
                  step.duration_mean, step.overrun_minutes, step.open_visits]
                 for sop in metrics.sops for step in sop.steps),
           widths=(24, 9, 16, 11, 11, 11, 11, 11, 12, 12, 11, 11, 11, 13, 10),
           formats=(None, None, None, NUMBER, NUMBER, NUMBER, NUMBER, PERCENT, NUMBER, PERCENT,
                    DECIMAL, DECIMAL, DECIMAL, DECIMAL, NUMBER))

    pending = _titled(book, "Antrean", "Tugas tertunda per Pelaksana", subtitle, taken)
    _table(pending, top=4,
           headings=("Pelaksana", "Unit", "Kasus", "Judul", "Kode SOP", "Langkah",
                     "Tersedia sejak (WIB)", "Umur (menit kerja)", "Mutu Baku (menit)",
                     "Status"),
           rows=([item.role, item.unit or "", item.case_id,
                  titles.get(item.case_pk, ("", ""))[1], item.sop_code, item.label,
                  naive_wib(item.available_at), item.age_minutes, item.target_minutes,
                  SLA_LABELS[item.sla_state]]
                 for item in sorted(metrics.pending, key=lambda i: (i.role, -i.age_minutes))),
           widths=(16, 24, 26, 36, 22, 9, 18, 12, 12, 13),
           formats=(None, None, None, None, None, None, "dd/mm/yyyy hh:mm", DECIMAL, NUMBER,
                    None))

    returned = _titled(book, "Pengembalian", "Pengembalian pada periode", subtitle, taken)
    _table(returned, top=4,
           headings=("Waktu (WIB)", "Kasus", "Judul", "Kode SOP", "Langkah", "Dikembalikan oleh",
                     "Alasan"),
           rows=returns[["at", "ref", "title", "sop_code", "label", "performer", "note"]]
           .itertuples(index=False, name=None),
           widths=(18, 26, 36, 22, 9, 22, 50),
           formats=("dd/mm/yyyy hh:mm", None, None, None, None, None, None))
    return _bytes(book)


def naive_wib(at: datetime) -> datetime:
    """Excel has no time zones: instants are written as WIB wall-clock times."""
    return at.astimezone(WIB).replace(tzinfo=None)
