"""Event logs in and out (docs/metrics.md, "Event logs"): CSV import and export, XES export.

CSV columns: case_id, sop_code, sop_version, step, event, timestamp, performer_role, unit,
performer, recorded_by, note. Timestamps are ISO 8601; a naive one means WIB. The note of a
`start` row carries what the case needs beyond its events, one item per line:

    Penyusunan LKj Tahun 2025          <- the case title
    periode: 2025                      <- optional period label
    jadwal langkah 5: 2026-03-20T16:00:00+07:00   <- due date of a "Sesuai jadwal" step
    ... any further lines are the starter's note

so an exported log re-imports into an empty database to the same cases and the same metrics.
An import replays every row through the workflow rules (services.workflow.replay) and either
stores all of them or nothing; errors name the line as a spreadsheet shows it (header = 1). The
CSV is read strictly first (`_read_log`): a quote left open, a row of the wrong width, a NUL
byte or an oversize field is refused at its row, never merged or stored.
"""

from __future__ import annotations

import csv
import io
import itertools
import multiprocessing
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
from sqlalchemy import Exists, Result, case, exists, select
from sqlalchemy.orm import Session, aliased

from db.engine import driver_rows
from db.models import Case, CaseSchedule, Event, Role, Sop, SopVersion, Step, Unit, User, Visit
from services.accounts import Actor
from services.formatting import FIRST_YEAR, LAST_YEAR, WIB, parse_timestamp
from services.metrics import epoch_ns
from services.workflow.model import MAX_NOTE
from services.workflow.replay import EVENT_KINDS, LogEvent, LogRejected, ReplayResult, replay

COLUMNS = ("case_id", "sop_code", "sop_version", "step", "event", "timestamp",
           "performer_role", "unit", "performer", "recorded_by", "note")
MAX_EVENT_LOG_BYTES = 512 * 1024 * 1024
_PERIOD = re.compile(r"^periode:\s*(?P<label>.+)$", re.IGNORECASE)
_SCHEDULE = re.compile(r"^jadwal langkah\s+(?P<seq>\d+):\s*(?P<due>\S+)$", re.IGNORECASE)
# A step or version number: ASCII digits only ("²".isdigit() holds, and int() refuses it), and
# short enough for an INTEGER column on both backends.
_NUMBER = re.compile(r"[0-9]{1,9}")

Period = tuple[datetime, datetime]


# --- the start note ---------------------------------------------------------------------------


def encode_start_note(title: str, period_label: str | None, schedule: dict[int, datetime],
                      note: str | None) -> str:
    lines = [title]
    if period_label:
        lines.append(f"periode: {period_label}")
    lines += [f"jadwal langkah {seq}: {due.astimezone(WIB).isoformat()}"
              for seq, due in sorted(schedule.items())]
    if note:
        lines.append(note)
    return "\n".join(lines)


def decode_start_note(text: str) -> tuple[str | None, str | None, dict[int, datetime], str | None]:
    lines = text.splitlines()
    if not lines:
        return None, None, {}, None
    title, period, schedule, rest = lines[0].strip() or None, None, {}, []
    for line in lines[1:]:
        if match := _PERIOD.match(line.strip()):
            period = match.group("label").strip()
        elif match := _SCHEDULE.match(line.strip()):
            schedule[int(match.group("seq"))] = parse_timestamp(match.group("due"))
        else:
            rest.append(line)
    note = "\n".join(rest).strip() or None
    return title, period, schedule, note


# --- import -----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = _row_of_offset(data, error.start)
        raise LogRejected(row, "berkas bukan teks UTF-8 (simpan ulang sebagai CSV UTF-8).") from None


def _row_of_offset(data: bytes, offset: int) -> int:
    """The spreadsheet row holding byte `offset` (newlines inside quotes do not start rows)."""
    row, quoted = 1, False
    for byte in data[:offset]:
        if byte == 0x22:  # '"': doubled quotes toggle twice, so the state stays right
            quoted = not quoted
        elif byte == 0x0A and not quoted:
            row += 1
    return row


def _csv_problem(error: csv.Error) -> str:
    """What went wrong, in words a spreadsheet user can act on (the csv module's own
    message is English and names no column)."""
    text = str(error)
    if "field larger than field limit" in text:
        return (f"isi sebuah kolom lebih dari {csv.field_size_limit()} karakter (catatan paling "
                f"banyak {MAX_NOTE} karakter); biasanya ada tanda kutip (\") yang tidak ditutup. "
                "Perbaiki atau persingkat isinya.")
    if "unexpected end of data" in text:
        return ("tanda kutip (\") dibuka di baris ini tetapi tidak ditutup sampai akhir berkas. "
                "Tutup tanda kutipnya, atau tulis tanda kutip di dalam teks ganda (\"\").")
    if "expected after" in text:
        return ("ada teks tepat setelah tanda kutip penutup (\"); tanda kutip di dalam teks "
                "ditulis ganda (\"\") dan teks yang memuat koma atau baris baru diapit tanda "
                "kutip.")
    return "format CSV rusak; simpan ulang dari aplikasi lembar kerja sebagai CSV UTF-8."


def _looks_like_a_row(line: str, position: dict[str, int], width: int) -> bool:
    """A physical line that is by itself a whole data row (a case and a known event)."""
    try:
        cells = next(csv.reader([line.rstrip("\r\n")]), [])
    except csv.Error:
        return False
    return (len(cells) == width and bool(cells[position["case_id"]].strip())
            and cells[position["event"]].strip().lower() in EVENT_KINDS)


# Characters of the log split into lines at a time (see _Tape).
TAPE_CHUNK = 1 << 20


class _Tape:
    """The physical lines the csv reader takes for each record: a record of several lines is
    a quoted multi-line note, or rows swallowed by a quote left open, and only the lines tell
    which (the csv module merges them without a word).

    The lines are those of `io.StringIO(text, newline="")` (ended by a newline, a carriage
    return, or both), split a chunk at a time: StringIO keeps its text as four bytes per
    character, so a 120 MB log held 480 MB more, once for each of the import's two passes
    (the import's peak 1.33 GB, most of it this). A chunk ends just after a newline, which
    ends a line in every convention, so no line is cut."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        text, start = self._text, 0
        while start < len(text):
            end = text.find("\n", start + TAPE_CHUNK)
            end = len(text) if end < 0 else end + 1
            for line in io.StringIO(text[start:end], newline=""):
                self.taken.append(line)
                yield line
            start = end


_NUL_PROBLEM = ("baris ini berisi karakter NUL (kode 0) yang tidak dapat disimpan; hapus "
                "karakter itu (biasanya sisa berkas biner atau salin-tempel yang rusak).")


def _log_text(data: bytes) -> str:
    if len(data) > MAX_EVENT_LOG_BYTES:
        raise LogRejected(1, f"berkas lebih dari {MAX_EVENT_LOG_BYTES // (1024 * 1024)} MB.")
    return _decode(data)


def _read_log(text: str) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The column positions and the non-empty data rows of an event-log CSV, each numbered as a
    spreadsheet numbers it (the header is row 1, a quoted multi-line note is one row, an empty
    line is an empty row), read strictly: Python's csv module alone merges the rows after a
    quote left open into one field, and hands over NUL bytes and rows of any width."""
    # PostgreSQL cannot store NUL in text; the rows are searched only when the file has one.
    has_nul = "\x00" in text
    tape = _Tape(text)
    reader = csv.reader(tape, strict=True)
    try:
        first = next(reader, None)
    except csv.Error as error:
        raise LogRejected(1, _csv_problem(error)) from None
    if first is None:
        raise LogRejected(1, "berkas kosong: baris judul kolom tidak ada.")
    header = [column.strip() for column in first]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise LogRejected(1, f"kolom wajib tidak ada: {', '.join(missing)}.")
    if has_nul and any("\x00" in column for column in header):
        raise LogRejected(1, _NUL_PROBLEM)
    position = {column: header.index(column) for column in COLUMNS}
    return position, _data_rows(reader, tape, position, len(header), has_nul)


def _data_rows(reader: Iterator[list[str]], tape: _Tape, position: dict[str, int], width: int,
               has_nul: bool) -> Iterator[tuple[int, list[str]]]:
    row = 1
    while True:
        tape.taken.clear()
        try:
            cells = next(reader, None)
        except csv.Error as error:
            raise LogRejected(row + 1, _csv_problem(error)) from None
        if cells is None:
            return
        row += 1
        if not "".join(cells).strip():  # every cell blank: one pass in C, not a call per cell
            continue
        if len(cells) != width:
            raise LogRejected(row, f"baris ini berisi {len(cells)} kolom, judul kolom {width}. "
                                   "Periksa koma dan tanda kutip: teks yang memuat koma atau "
                                   "baris baru diapit tanda kutip (\"), dan setiap tanda kutip "
                                   "pembuka punya penutup.")
        if has_nul and any("\x00" in cell for cell in cells):
            raise LogRejected(row, _NUL_PROBLEM)
        # Every line that is a data row by itself must start a record: then the import never
        # holds fewer events than the file has data rows.
        if len(tape.taken) > 1 and any(_looks_like_a_row(line, position, width)
                                       for line in tape.taken[1:]):
            where = next((f" di kolom {name}" for name, index in position.items()
                          if "\n" in cells[index] or "\r" in cells[index]), "")
            raise LogRejected(row, f"tanda kutip (\"){where} tidak ditutup di tempatnya, "
                                   "sehingga baris-baris berikutnya terbaca sebagai bagian baris "
                                   "ini. Tutup tanda kutipnya, atau tulis tanda kutip di dalam "
                                   "teks ganda (\"\").")
        yield row, cells


def parse_event_csv(data: bytes) -> Iterator[LogEvent]:
    """The rows of an event-log CSV, checked field by field as they are read (a bad row is
    refused when it is reached, before anything is stored); the file's size and encoding are
    checked at once."""
    return _events(_log_text(data))


def _events(text: str) -> Iterator[LogEvent]:
    position, rows = _read_log(text)
    for line, row in rows:
        yield _row(row, line, position)


def _row(row: list[str], line: int, position: dict[str, int]) -> LogEvent:
    # Each cell taken by name once: a helper called per cell was 0.4 s of 2.7 s a million rows.
    kind_text, case_ref = row[position["event"]].strip(), row[position["case_id"]].strip()
    kind = kind_text.lower()
    if kind not in EVENT_KINDS:
        raise LogRejected(line, f"event '{kind_text}' tidak dikenal "
                                f"(harus salah satu dari: {', '.join(EVENT_KINDS)}).")
    if not case_ref or len(case_ref) > 64:
        raise LogRejected(line, "case_id wajib diisi (maksimal 64 karakter).")
    stamp = row[position["timestamp"]].strip()
    try:
        # In UTC, as `now` is: comparing instants of two different offsets goes through
        # both offsets, twelve times slower than two of one (the rules compare each event's
        # time with `now` and with the case's last event).
        at = parse_timestamp(stamp).astimezone(UTC)
    except ValueError:
        raise LogRejected(line, f"timestamp '{stamp}' bukan waktu ISO 8601 "
                                f"antara tahun {FIRST_YEAR} dan {LAST_YEAR} "
                                "(contoh: 2026-03-02T08:15:00+07:00).") from None
    step_text, version_text = row[position["step"]].strip(), row[position["sop_version"]].strip()
    if kind in ("start", "cancel"):
        if step_text:
            raise LogRejected(line, f"kolom step harus kosong pada event '{kind}'.")
        seq = None
    elif not _NUMBER.fullmatch(step_text):
        raise LogRejected(line, f"step '{step_text}' harus nomor urut langkah (1, 2, ...).")
    else:
        seq = int(step_text)
    if version_text and not _NUMBER.fullmatch(version_text):
        raise LogRejected(line, f"sop_version '{version_text}' harus bilangan bulat atau kosong.")
    note = row[position["note"]]
    title = period = None
    schedule: dict[int, datetime] = {}
    if kind == "start":
        try:
            title, period, schedule, note_rest = decode_start_note(note)
        except ValueError:
            raise LogRejected(line, "tanggal jadwal pada catatan 'start' bukan waktu ISO 8601 "
                                    f"antara tahun {FIRST_YEAR} dan {LAST_YEAR}.") from None
        note = note_rest or ""
    # Positionally, each value named as its field: 0.26 µs a row, against 0.70 µs by keyword
    # (a dataclass matches every keyword against its 15 parameters).
    sop_code = row[position["sop_code"]].strip()
    sop_version = int(version_text) if version_text else None
    performer_role = row[position["performer_role"]].strip() or None
    unit = row[position["unit"]].strip() or None
    performer = row[position["performer"]].strip() or None
    recorded_by = row[position["recorded_by"]].strip() or None
    return LogEvent(line, case_ref, sop_code, sop_version, seq, kind, at, performer_role, unit,
                    performer, recorded_by, note.strip() or None, title, period, schedule)


@dataclass(frozen=True)
class NamedInLog:
    """What a light first pass over a log finds (it also reads the whole file strictly before
    anything is stored): the units it names, each with the first row naming it, and the SOP
    versions its rows name, whose plans the replay reads before it starts."""

    units: dict[str, int]
    sops: set[tuple[str, int | None]]


def named_in_log(text: str) -> NamedInLog:
    position, rows = _read_log(text)
    unit_at, code_at, version_at = position["unit"], position["sop_code"], position["sop_version"]
    units: dict[str, int] = {}
    named_sops: set[tuple[str, str]] = set()
    for line, row in rows:
        name = row[unit_at].strip()
        if name and name not in units:
            units[name] = line
        named_sops.add((row[code_at].strip(), row[version_at].strip()))
    # A version that is not a number is refused at its row by the replay's pass.
    sops = {(code, int(version) if version else None) for code, version in named_sops
            if not version or _NUMBER.fullmatch(version)}
    return NamedInLog(units=units, sops=sops)


def import_event_csv(session: Session, *, data: bytes, actor: Actor, now: datetime,
                     progress: Callable[[int], None] | None = None) -> ReplayResult:
    """Replay a CSV event log into the database (inside the caller's transaction)."""
    text = _log_text(data)
    events = _events(text)
    first = next(events, None)  # checks the header before the first pass
    if first is None:
        return replay(session, events=[], actor=actor, now=now)
    first_pass = _FirstPass(text)
    read_ahead = [first]
    try:
        # The replay cannot start before the first pass ends; meanwhile the rows are read
        # on, on the other core (1.3 s of a 1M-event import otherwise spent waiting), up to
        # a bound on what is held: the first pass of a log ten times larger takes ten times
        # as long.
        while not first_pass.done() and len(read_ahead) < READ_AHEAD_EVENTS:
            read_ahead.extend(itertools.islice(events, _READ_AHEAD_STRIDE))
    except LogRejected:
        first_pass.result()  # the first pass reads the file first: its refusal comes first
        raise
    named = first_pass.result()
    return replay(session, events=itertools.chain(read_ahead, events), actor=actor, now=now,
                  named_units=named.units, named_sops=named.sops, progress=progress)


READ_AHEAD_EVENTS = 300_000  # about 150 MB
_READ_AHEAD_STRIDE = 2_000


class _FirstPass:
    """`named_in_log` in a forked process, beside the parent's reading; where a process cannot
    be forked, in this one, when its result is asked for."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._outcome: NamedInLog | LogRejected | None = None
        self._child: BaseProcess | None = None
        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._receiving, sending = context.Pipe(duplex=False)
            self._child = context.Process(target=_first_pass_child, args=(text, sending),
                                          daemon=True)
            self._child.start()
            sending.close()

    def done(self) -> bool:
        return self._child is None or self._receiving.poll()

    def result(self) -> NamedInLog:
        if self._outcome is None:
            self._outcome = self._take()
        if isinstance(self._outcome, LogRejected):
            raise self._outcome
        return self._outcome

    def _take(self) -> NamedInLog | LogRejected:
        if self._child is not None:
            try:
                kind, *values = self._receiving.recv()
            except EOFError:  # the child died (killed for memory, say): read here instead
                kind = "lost"
            finally:
                self._receiving.close()
                self._child.join()
            if kind == "named":
                return NamedInLog(units=values[0], sops=values[1])
            if kind == "rejected":
                return LogRejected(values[0], values[1])
        try:
            return named_in_log(self._text)
        except LogRejected as error:
            return error


def _first_pass_child(text: str, sending: Connection) -> None:
    # Plain values back: LogRejected's arguments are not its message, so it does not pickle.
    try:
        named = named_in_log(text)
    except LogRejected as error:
        sending.send(("rejected", error.line, error.reason))
    else:
        sending.send(("named", named.units, named.sops))
    sending.close()


# --- export -----------------------------------------------------------------------------------


def _cases_in(period: Period | None, case_id: Any) -> Exists | None:
    """Whole cases with any event in the period (a log of whole cases stays replayable);
    `case_id` is the outer query's case column."""
    if period is None:
        return None
    inner = aliased(Event)
    return exists().where(inner.case_id == case_id, inner.occurred_at >= period[0],
                          inner.occurred_at < period[1])


def _iso(at: datetime) -> str:
    return at.astimezone(WIB).isoformat()


_WIB_OFFSET_NS = int((datetime(2000, 1, 1, tzinfo=WIB).utcoffset() or timedelta(0))
                     .total_seconds()) * 10**9
_WIB_SUFFIX = datetime(2000, 1, 1, tzinfo=WIB).isoformat()[-6:]  # "+07:00"


def _iso_column(instants_ns: np.ndarray) -> np.ndarray:
    """`_iso` over a whole column of epoch nanoseconds at once (WIB has one offset all year):
    the same text, microseconds only when there are any."""
    local = instants_ns + _WIB_OFFSET_NS
    text = np.datetime_as_string(local.astype("datetime64[ns]").astype("datetime64[s]"),
                                 unit="s").astype(object)
    micro = (local // 1000) % 1_000_000
    with_micro = micro != 0
    if with_micro.any():
        text[with_micro] = [f"{t}.{m:06d}" for t, m in zip(text[with_micro], micro[with_micro],
                                                            strict=True)]
    return text + _WIB_SUFFIX


_EXPORT_CHUNK = 50_000


def _csv_row(values: Sequence[Any]) -> str:
    """One row as the csv module writes it (the export's dialect)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


# The characters for which the csv module quotes a cell, asked of the module itself (it quotes
# ",", '"' and "\n"; whether "\r" too depends on the Python version), so that `_csv_cell`
# writes exactly what the module writes.
_QUOTED = re.compile("[" + re.escape("".join(
    character for character in ',"\n\r\t ;\x0b\x0c'
    if _csv_row([character, ""]).startswith('"'))) + "]")


def _csv_cell(value: Any) -> str:
    """One value as a cell of a row written by the csv module: None and "" as nothing, text
    quoted only when it holds a character the module quotes, quotes inside doubled."""
    if value is None:
        return ""
    text = str(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if _QUOTED.search(text) else text


def _cells(values: np.ndarray) -> np.ndarray:
    """`_csv_cell` over a column, once per distinct value (a column holds few: names, kinds)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    table = np.array([*map(_csv_cell, distinct), ""], dtype=object)
    return table[codes]  # None is code -1: the table's last entry, ""


def _by_id(result: Result[Any]) -> list[np.ndarray]:
    """Per column after the first (the id), a table indexed by id: `table[ids]` looks up a
    whole column at once. A table's last entry is None, the value of id -1 (no id, `_ids`).
    Its length is the largest id, not the number of rows: 8 bytes per id and column, for the
    export's duration (ids are dense here; a PostgreSQL sequence skips only the ids of a
    rolled-back import)."""
    width, rows = len(result.keys()), result.all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    size = int(ids.max(initial=0)) + 2
    tables = []
    for index in range(1, width):
        table = np.full(size, None, dtype=object)
        table[ids] = [row[index] for row in rows]
        tables.append(table)
    return tables


def _cells_by_id(result: Result[Any]) -> list[np.ndarray]:
    """`_by_id` with every value already a CSV cell (None as "")."""
    return [_cells(table) for table in _by_id(result)]


def _ids(column: np.ndarray) -> np.ndarray:
    """An id column that may hold None, as integers with -1 for None."""
    return np.where(pd.isna(column), -1, column).astype(np.int64)


def export_event_csv(session: Session, *, out: IO[str], period: Period | None = None,
                     progress: Callable[[int], None] | None = None) -> int:
    """Write the event log; returns the number of events written. The events are read alone
    (in the order of their key, no join) in chunks of plain values, instants as integers; what
    they refer to (case, SOP, role, unit, account) is read once and looked up a column at a
    time: joined in SQL, the same titles and names were built a million times. The lines are
    written as text a chunk at a time, each name quoted once (`_csv_cell`): the csv module
    quoting eleven million cells one by one was a quarter of the export's time."""
    query = (
        select(Event.id, Event.case_id, Event.step_seq, Event.kind, epoch_ns(Event.occurred_at),
               Event.performer_role_id, Event.unit_id, Event.performer_user_id,
               Event.recorded_by_user_id,
               # the names an imported log gave people who have no account here
               case((Event.performer_user_id.is_(None),
                     Event.details["names"]["performer"].as_string())),
               case((Event.recorded_by_user_id.is_(None),
                     Event.details["names"]["recorded_by"].as_string())),
               Event.note)
        .where(Event.kind != "correction")
        .order_by(Event.case_id, Event.event_no)
    )
    within = _cases_in(period, Event.case_id)
    if within is not None:
        query = query.where(within)
    lookups = _ExportLookups.read(session)
    corrections = _corrections(session)
    out.write(_csv_row(COLUMNS))
    count = 0
    for chunk in driver_rows(session, query, chunk=_EXPORT_CHUNK):
        out.write(_export_lines(chunk, lookups=lookups, corrections=corrections))
        count += len(chunk)
        if progress is not None:
            progress(count)
    return count


@dataclass(frozen=True)
class _ExportLookups:
    """What the events refer to, each a table by id (`_by_id`); those written as they are
    stored hold CSV cells already (`_cells_by_id`)."""

    refs: np.ndarray
    codes: np.ndarray
    versions: np.ndarray
    titles: np.ndarray
    period_labels: np.ndarray
    roles: np.ndarray
    units: np.ndarray
    usernames: np.ndarray
    schedules: dict[int, dict[int, datetime]]

    @classmethod
    def read(cls, session: Session) -> _ExportLookups:
        refs, codes, versions, titles, labels = _by_id(session.execute(
            select(Case.id, Case.ref, Sop.code, SopVersion.version, Case.title,
                   Case.period_label)
            .join(SopVersion, Case.sop_version_id == SopVersion.id)
            .join(Sop, SopVersion.sop_id == Sop.id)))
        schedules: dict[int, dict[int, datetime]] = {}
        for scheduled_case, scheduled_seq, due in session.execute(
                select(CaseSchedule.case_id, CaseSchedule.step_seq, CaseSchedule.due_at)):
            schedules.setdefault(scheduled_case, {})[scheduled_seq] = due
        return cls(refs=_cells(refs), codes=_cells(codes), versions=_cells(versions),
                   titles=titles, period_labels=labels,
                   roles=_cells_by_id(session.execute(select(Role.id, Role.name)))[0],
                   units=_cells_by_id(session.execute(select(Unit.id, Unit.code)))[0],
                   usernames=_cells_by_id(session.execute(select(User.id, User.username)))[0],
                   schedules=schedules)


def _export_lines(chunk: Sequence[Any], *, lookups: _ExportLookups,
                  corrections: dict[int, dict[str, str]]) -> str:
    """A chunk's CSV lines. Only the rows that differ from their stored values are touched one
    by one: the corrected events and the starts (whose note carries the case's title, period
    and schedule)."""
    (event_ids, case_ids, seqs, kinds, instants, role_ids, unit_ids, performer_ids,
     recorder_ids, performer_names, recorder_names, notes) = (
        np.array(chunk, dtype=object).T)
    cases = case_ids.astype(np.int64)
    stamps = _iso_column(instants.astype(np.int64))  # digits and signs: never quoted
    performers = np.where(pd.isna(performer_ids), _cells(performer_names),
                          lookups.usernames[_ids(performer_ids)])
    recorders = np.where(pd.isna(recorder_ids), _cells(recorder_names),
                         lookups.usernames[_ids(recorder_ids)])
    if corrections:
        for index in np.flatnonzero(np.isin(event_ids.astype(np.int64), list(corrections))):
            corrected = corrections[int(event_ids[index])]
            if "occurred_at" in corrected:
                stamps[index] = _iso(parse_timestamp(corrected["occurred_at"]))
            notes[index] = corrected.get("note", notes[index])
            kinds[index] = corrected.get("outcome", kinds[index])  # decided the other way
    for index in np.flatnonzero(kinds == "start"):
        case_id = int(cases[index])
        notes[index] = encode_start_note(lookups.titles[case_id], lookups.period_labels[case_id],
                                         lookups.schedules.get(case_id, {}), notes[index])
    columns = (lookups.refs[cases], lookups.codes[cases], lookups.versions[cases], _cells(seqs),
               _cells(kinds), stamps, lookups.roles[_ids(role_ids)],
               lookups.units[_ids(unit_ids)], performers, recorders, _cells(notes))
    lines = zip(*(column.tolist() for column in columns), strict=True)
    return "\n".join(map(",".join, lines)) + "\n"


def _corrections(session: Session) -> dict[int, dict[str, str]]:
    """Per corrected event, its corrected values (later corrections win)."""
    corrected: dict[int, dict[str, str]] = {}
    for original, details in session.execute(
            select(Event.corrects_event_id, Event.details).where(Event.kind == "correction")
            .order_by(Event.case_id, Event.event_no)):
        corrected.setdefault(original, {}).update(
            {k: v for k, v in (details or {}).items()
             if k in ("note", "occurred_at", "outcome")})
    return corrected


XES_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849.2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="__INVALID__"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="__INVALID__"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
  </global>
  <classifier name="Aktivitas" keys="concept:name"/>
  <classifier name="Aktivitas dan siklus" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value="Pantau SOP"/>
"""


def _xes_time(at: datetime) -> str:
    local = at.astimezone(WIB)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}+07:00"


def _xes_string(key: str, value: str) -> str:
    return f"<string key={quoteattr(key)} value={quoteattr(value)}/>"


def export_xes(session: Session, *, out: IO[str], period: Period | None = None,
               progress: Callable[[int], None] | None = None) -> int:
    """IEEE 1849 XES: one trace per case; per visit a `start` event (when begun) and a
    `complete` event when it ended, named by step label and activity. Returns traces written."""
    performer = aliased(User)
    query = (
        select(Case.id, Case.ref, Case.title, Sop.code, Case.status, Step.seq, Step.label,
               Step.activity, Role.name, performer.username, Visit.begun_at, Visit.ended_at,
               Visit.outcome, Visit.pass_no)
        .join(Case, Visit.case_id == Case.id)
        .join(Step, Visit.step_id == Step.id)
        .join(SopVersion, Case.sop_version_id == SopVersion.id)
        .join(Sop, SopVersion.sop_id == Sop.id)
        .join(Role, Visit.role_id == Role.id)
        .outerjoin(performer, Visit.performer_user_id == performer.id)
        .order_by(Case.id, Visit.id)
    )
    within = _cases_in(period, Case.id)
    if within is not None:
        query = query.where(within)
    out.write(XES_HEADER)
    traces, current = 0, None
    for (case_id, ref, title, code, status, seq, label, activity, role, username, begun_at,
         ended_at, outcome, pass_no) in session.execute(query.execution_options(yield_per=10_000)):
        if case_id != current:
            if current is not None:
                out.write("  </trace>\n")
            current, traces = case_id, traces + 1
            out.write(f"  <trace>{_xes_string('concept:name', ref)}"
                      f"{_xes_string('pantau:sop', code)}{_xes_string('pantau:title', title)}"
                      f"{_xes_string('pantau:status', status)}\n")
            if progress is not None and traces % 1_000 == 0:
                progress(traces)
        name = f"{label}. {activity}"
        common = (f"{_xes_string('concept:name', name)}{_xes_string('org:role', role)}"
                  f"{_xes_string('org:resource', username or role)}"
                  f"<int key=\"pantau:step\" value=\"{seq}\"/><int key=\"pantau:pass\" value=\"{pass_no}\"/>")
        if begun_at is not None:
            out.write(f"    <event>{common}<date key=\"time:timestamp\" value=\"{_xes_time(begun_at)}\"/>"
                      f"{_xes_string('lifecycle:transition', 'start')}</event>\n")
        if ended_at is not None and outcome != "closed":
            out.write(f"    <event>{common}<date key=\"time:timestamp\" value=\"{_xes_time(ended_at)}\"/>"
                      f"{_xes_string('lifecycle:transition', 'complete')}"
                      f"{_xes_string('pantau:outcome', outcome)}</event>\n")
    if current is not None:
        out.write("  </trace>\n")
    out.write("</log>\n")
    return traces

