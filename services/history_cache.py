"""The history (services.metrics.History), kept between page runs, processes and commands
(docs/metrics.md, "Speed").

Reading every visit and case from the database costs seconds on a million events; almost all
of it is the database handing over rows. So the history is kept:

- in memory, per process: the pages reuse it on every run;
- on disk (Feather files under PANTAU_CACHE_DIR, by default `data/cache/`), so a new app
  process or a `manage.py metrics` starts from it instead of the database.

Both are stamped with `metrics.data_version`. When only new events were recorded since the
stamp (every write records one), only their cases are read again and spliced in: a step
recorded costs the next page a few milliseconds, not a full read. Anything else in the stamp
(the calendar, the catalog, the users' units) changes a figure everywhere, so the history is
read again in full. `tests/db/test_history_cache.py` checks that the spliced history equals a
full read after random writes, corrections, cancellations and calendar changes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyarrow import feather
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import REPO_ROOT
from db.models import Case, Event, Role, Sop
from services.calendar import WorkingCalendar, load_calendar_settings
from services.metrics import (
    NAT,
    OUTCOMES,
    History,
    by_end,
    carry_month_sums,
    data_version,
    in_end_order,
    read_catalog,
    read_history,
)

CACHE_DIR_ENV = "PANTAU_CACHE_DIR"
_log = logging.getLogger(__name__)
_FRAMES = ("ended", "running", "cases", "units")
ROOM_ROWS = 4096  # the least space a kept frame of ended visits has for visits appended live
LIGHT_SPLICE_EVENTS = 500  # the most new events history_if_kept splices in
_FORMAT = 2  # bump when the frames' columns or order change: older files are then read in full


@dataclass(frozen=True)
class Stamp:
    """What a history was read from: the data version, split into the newest event and the
    rest (a change in the rest means a full read)."""

    last_event_id: int
    rest: tuple[Any, ...]

    @classmethod
    def of(cls, session: Session) -> Stamp:
        version = data_version(session)
        return cls(last_event_id=int(version[0] or 0), rest=tuple(_plain(v) for v in version[1:]))


def _plain(value: Any) -> Any:
    """A version component as JSON keeps it (instants as text, sums as numbers), so stamps
    compare equal after a round trip through the disk."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


class HistoryCache:
    """One database's history, refreshed on demand; safe to share between threads."""

    def __init__(self, *, url: str, directory: Path | None = None,
                 write_behind: bool = False, store_delay: float = 0.0,
                 room_at_read: bool = False) -> None:
        """`write_behind`: store the disk copy on a thread of its own, so the page that
        spliced in a write does not wait for it (the app); a command stores before it ends.
        `store_delay`: how long a new history waits on that thread before it is stored, so
        that a burst of writes is stored once, after the burst, and not one whole copy per
        write while the next pages load. A copy on disk that lags is still right: the next
        process splices in the events after its stamp.
        `room_at_read`: move the ended visits into a room (_Room) when the history is read in
        full or loaded, so that even the first write appends in place (the app, which loads
        on a thread of its own at start); a command that reads once spares itself the copy."""
        self.url = url
        self.directory = directory
        self._lock = threading.Lock()
        self._history: History | None = None
        self._stamp: Stamp | None = None
        self._room: _Room | None = None  # the arrays behind _history.ended, when it has room
        self._room_at_read = room_at_read
        self._write_behind = write_behind
        self._store_delay = store_delay
        self._pending_lock = threading.Lock()
        self._pending: tuple[History, Stamp] | None = None  # the newest not stored yet
        self._writer: threading.Thread | None = None
        self._hurry = threading.Event()  # flush: store what is pending without the delay

    def history(self, session: Session) -> History:
        """The history as of the latest write."""
        stamp = Stamp.of(session)
        with self._lock:
            if self._history is None and self.directory is not None:
                self._history, self._stamp, self._room = _load(
                    self.directory, session, room=self._room_at_read)
            if self._history is None or not self._spliceable(stamp):
                self._history, self._room = read_history(session), None
                if self._room_at_read:
                    self._history, self._room = _with_room(self._history)
                self._stamp = stamp
                self._save()
            else:
                self._catch_up(session, stamp)
            return self._history

    def history_if_kept(self, session: Session) -> History | None:
        """The history as of the latest write, when this process keeps one that only new
        events separate from it (they are spliced in, as `history` does); None when it keeps
        none yet, when a full read would be needed, or while another thread works on it. For
        a reader that must never wait for a full read: the sidebar's count, on every page.
        More than LIGHT_SPLICE_EVENTS new events (an import) count as a full read: their
        cases take as long to read."""
        stamp = Stamp.of(session)
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._history is None or self._stamp is None or not self._spliceable(stamp) \
                    or stamp.last_event_id - self._stamp.last_event_id > LIGHT_SPLICE_EVENTS:
                return None
            self._catch_up(session, stamp)
            return self._history
        finally:
            self._lock.release()

    def _spliceable(self, stamp: Stamp) -> bool:
        """Whether the kept history can catch up with `stamp` by splicing in new events.
        Events are never deleted: a newest event older than the stamp's means another
        database behind the same URL (a backup restored), so nothing kept applies."""
        return self._stamp is not None and self._stamp.rest == stamp.rest \
            and stamp.last_event_id >= self._stamp.last_event_id

    def _catch_up(self, session: Session, stamp: Stamp) -> None:
        assert self._history is not None and self._stamp is not None
        if self._stamp.last_event_id != stamp.last_event_id:
            self._history, self._room = _spliced(self._history, session,
                                                 since_event_id=self._stamp.last_event_id,
                                                 room=self._room)
            self._stamp = stamp
            self._save()

    def flush(self) -> None:
        """Store what is pending now, and wait until the disk copy holds the latest history
        (write_behind)."""
        with self._pending_lock:
            writer = self._writer
            self._hurry.set()
        if writer is not None:
            writer.join()

    def _save(self) -> None:
        if self.directory is None or self._history is None or self._stamp is None:
            return
        if not self._write_behind:
            self._store(self._history, self._stamp)
            return
        with self._pending_lock:
            # Only the newest matters: a store still waiting is replaced, not queued.
            self._pending = (self._history, self._stamp)
            if self._writer is None:
                self._hurry.clear()
                self._writer = threading.Thread(target=self._store_pending, daemon=True,
                                                name="pantau-history-store")
                self._writer.start()

    def _store_pending(self) -> None:
        while True:
            self._hurry.wait(self._store_delay)
            with self._pending_lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._writer = None
                    return
            self._store(*job)

    def _store(self, history: History, stamp: Stamp) -> None:
        if self.directory is not None:
            try:
                _store(self.directory, history, stamp)
            except OSError as error:
                # The history in memory is right; the copy on disk only spares the next
                # process a full read. A full disk, or a folder another user created (a
                # command run as root), must not stop a page or a command.
                _log.warning("peringatan: riwayat tidak dapat disimpan di %s (%s); angka tetap "
                             "benar, hanya proses berikutnya membaca ulang basis data.",
                             self.directory, error)


def cache_base() -> Path:
    """The folder of every database's kept history."""
    return Path(os.environ.get(CACHE_DIR_ENV) or REPO_ROOT / "data" / "cache")


def cache_directory(url: str) -> Path:
    """Where the history of the database at `url` is kept on disk."""
    return cache_base() / sha256(url.encode()).hexdigest()[:16]


# --- splicing in the cases that changed -------------------------------------------------------


def _spliced(history: History, session: Session, *, since_event_id: int,
             room: _Room | None = None) -> tuple[History, _Room | None]:
    """The history with the cases changed since `since_event_id` read again, and the room
    its ended visits are kept in (`room`: the one behind `history.ended`, if any)."""
    # Not DISTINCT in SQL: SQLite would then walk the whole case index (0.08 s on a million
    # events) instead of the few rows after since_event_id.
    changed = np.array(sorted(set(session.scalars(
        select(Event.case_id).where(Event.id > since_event_id)))), dtype=np.int64)
    if not len(changed):
        return history, room
    fresh = read_history(session, calendar=history.calendar,
                         cases_where=Case.id.in_([int(c) for c in changed]))
    mine = history.ended["case_id"].isin(changed).to_numpy()  # their ended visits, as kept
    before = history.ended[mine]
    gone_visits = np.concatenate([
        before["visit_id"].to_numpy(),
        history.running.loc[history.running["case_id"].isin(changed), "visit_id"].to_numpy()])

    def keep(frame: pd.DataFrame, column: str, drop: np.ndarray) -> pd.DataFrame:
        return frame[~frame[column].isin(drop)]

    ended, room = _spliced_ended(history.ended, fresh.ended, mine=mine, room=room)
    spliced = replace(
        history,
        ended=ended,
        running=_joined(keep(history.running, "case_id", changed), fresh.running),
        cases=_joined(keep(history.cases, "case_id", changed), fresh.cases),
        units=_joined(keep(history.units, "visit_id", gone_visits), fresh.units),
        last_ns=max(history.last_ns, fresh.last_ns),
    )
    carry_month_sums(history, spliced, gone=before, came=fresh.ended)
    return spliced, room


def _spliced_ended(ended: pd.DataFrame, fresh: pd.DataFrame, *, mine: np.ndarray,
                   room: _Room | None) -> tuple[pd.DataFrame, _Room | None]:
    """The ended visits with those of the changed cases (`mine`, a mask of `ended`) replaced
    by `fresh`, in by_end order, and the room they are kept in. A step recorded live leaves
    the case's earlier visits as they were and ends a visit after every other: the fresh ones
    are then appended, in place when the room behind `ended` has space (_Room), where a
    filter and a sort would copy the frame three times."""
    before = ended[mine]
    known = fresh["visit_id"].isin(before["visit_id"]).to_numpy()
    appended = by_end(fresh[~known])

    def by_visit(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values("visit_id").reset_index(drop=True)

    unchanged = known.sum() == len(before) and by_visit(before).equals(by_visit(fresh[known]))
    if unchanged and (not len(ended) or not len(appended) or _after(appended, ended)):
        if not len(appended):
            return ended, room
        if room is None or room.frame is not ended:
            room = _Room.holding(ended)  # one copy, as a concatenation would make
        grown = room.appended(appended)
        if grown is None:  # more rows than its space, or a new SOP's categories
            room = _Room.holding(_joined(ended, appended))
            grown = room.frame
        # Both were in by_end order and the new rows come after: checked again, it read two
        # columns whole (0.1 s of the page after each write at ten million events).
        return in_end_order(grown), room
    return by_end(_joined(ended[~mine], fresh)), None


def _after(appended: pd.DataFrame, ended: pd.DataFrame) -> bool:
    """Whether the first of `appended` comes after the last of `ended` in by_end order (end
    instant, then visit)."""
    first, last = appended.iloc[0], ended.iloc[-1]
    return bool((first["ended_ns"], first["visit_id"]) > (last["ended_ns"], last["visit_id"]))


def _with_room(history: History) -> tuple[History, _Room]:
    """The history with its ended visits moved into a room (HistoryCache's room_at_read):
    the copy is made when the history is read or loaded, not by the first write after it
    (a second at ten million events)."""
    room = _Room.holding(history.ended)
    return replace(history, ended=room.frame), room


class _Room:
    """The arrays behind a kept `ended` frame, longer than its rows: a step recorded live
    writes its visits after them and the next frame is a longer view of the same arrays.
    Copying the 650,000 visits of a million events instead took 0.15 s of the page after each
    write (py-spy, in the app). A frame already handed out sees only its own rows, which are
    never written again, so a page still reading it reads what it read before; and only the
    newest frame is appended to (`frame`), so no two frames claim the same free rows."""

    def __init__(self, arrays: dict[str, np.ndarray], dtypes: dict[str, Any],
                 rows: int) -> None:
        self.arrays = arrays  # per column: its values, or the codes of a categorical column
        self.dtypes = dtypes
        self.rows = rows
        self.frame = self._frame()

    @classmethod
    def holding(cls, frame: pd.DataFrame) -> _Room:
        """A room for `frame`'s rows, with space after them (one copy of the frame)."""
        return cls.filled(frame.items())

    @classmethod
    def filled(cls, columns: Iterable[tuple[str, pd.Series]], *,
               spare: bool = True) -> _Room:
        """A room for these columns (all of one length), taken one at a time so that a
        source may be read only when its turn comes (`_load`); with space after the rows,
        a sixteenth more, at least ROOM_ROWS, unless not `spare`."""
        arrays: dict[str, np.ndarray] = {}
        dtypes: dict[str, Any] = {}
        rows = capacity = 0
        for column, series in columns:
            if not arrays:
                rows = len(series)
                capacity = rows + (max(ROOM_ROWS, rows // 16) if spare else 0)
            values = series.array
            dtypes[column] = series.dtype
            source = values.codes if isinstance(values, pd.Categorical) else series.to_numpy()
            arrays[column] = np.empty(capacity, dtype=source.dtype)
            arrays[column][:rows] = source
        return cls(arrays, dtypes, rows)

    def appended(self, rows: pd.DataFrame) -> pd.DataFrame | None:
        """`frame` with `rows` after it, written in place; None when they do not fit (no
        space left, or a column of another type: a categorical with other categories)."""
        end = self.rows + len(rows)
        if end > len(next(iter(self.arrays.values()))) \
                or list(rows.columns) != list(self.arrays) \
                or any(rows[column].dtype != dtype for column, dtype in self.dtypes.items()):
            return None
        for column, array in self.arrays.items():
            values = rows[column].array
            array[self.rows:end] = values.codes if isinstance(values, pd.Categorical) \
                else rows[column].to_numpy()
        self.rows = end
        self.frame = self._frame()
        return self.frame

    def _frame(self) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for column, array in self.arrays.items():
            dtype, used = self.dtypes[column], array[:self.rows]
            columns[column] = pd.Categorical.from_codes(used, dtype=dtype, validate=False) \
                if isinstance(dtype, pd.CategoricalDtype) else used
        # copy=False: the columns stay views of the arrays (no copy, no consolidation)
        return pd.DataFrame(columns, copy=False)


def _joined(kept: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame:
    joined = pd.concat([kept, fresh], ignore_index=True)
    for column in kept.columns:
        ours, theirs = kept[column].dtype, fresh[column].dtype
        if isinstance(ours, pd.CategoricalDtype) and isinstance(theirs, pd.CategoricalDtype):
            # Both list every SOP (or role) by name, sorted; an empty frame may list none.
            wider = theirs if len(theirs.categories) >= len(ours.categories) else ours
            joined[column] = joined[column].astype(wider)
    return joined


# --- on disk ------------------------------------------------------------------------------------


def _store(directory: Path, history: History, stamp: Stamp) -> None:
    """Frames into a new folder, then one rename of the pointer: a reader in another process
    sees the old history or the new one, never half of each."""
    directory.mkdir(parents=True, exist_ok=True)
    folder = directory / f"v-{uuid.uuid4().hex}"
    folder.mkdir()
    for name in _FRAMES:
        _write_frame(folder / f"{name}.feather", getattr(history, name))
    (folder / "stamp.json").write_text(json.dumps({
        "format": _FORMAT, "last_event_id": stamp.last_event_id, "rest": list(stamp.rest),
        "last_ns": int(history.last_ns)}))
    pointer = directory / f"current.{uuid.uuid4().hex}"
    pointer.write_text(folder.name)
    previous = _current(directory)
    os.replace(pointer, directory / "current")
    if previous is not None and previous != folder:
        _remove(previous)


# Rows per record batch on disk: the frame is turned into Arrow memory one batch at a time,
# where `to_feather` turned all of it at once (a whole copy of the history, 0.9 GB at ten
# million events, on the app's thread that stores after a write).
STORE_BATCH_ROWS = 262_144


def _write_frame(path: Path, frame: pd.DataFrame) -> None:
    """A frame as Feather (the Arrow IPC file format, LZ4 as `to_feather` writes it), a
    batch of rows at a time. Every batch of a categorical column carries all its categories,
    so the file's dictionaries are one."""
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema, options=options) as writer:
        for start in range(0, max(len(frame), 1), STORE_BATCH_ROWS):
            writer.write_batch(pa.RecordBatch.from_pandas(
                frame.iloc[start:start + STORE_BATCH_ROWS], schema=schema, preserve_index=False))
    pa.default_memory_pool().release_unused()


def _read_columns(path: Path, fix: Callable[[str, pd.Series], pd.Series]) -> Iterator[
        tuple[str, pd.Series]]:
    """A Feather file's columns, read one at a time (only that column's buffers), each as
    pandas reads it and passed through `fix`."""
    for column in pa.ipc.open_file(str(path)).schema.names:
        yield column, fix(column, feather.read_table(path, columns=[column], memory_map=False)
                          .to_pandas()[column])


def _current(directory: Path) -> Path | None:
    try:
        name = (directory / "current").read_text().strip()
    except OSError:
        return None
    folder = directory / name
    return folder if folder.is_dir() else None


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # another process is reading it; the next store removes it


def _load(directory: Path, session: Session, *,
          room: bool) -> tuple[History | None, Stamp | None, _Room | None]:
    """The history last stored, or Nones when there is none (or it cannot be read); with
    `room`, its ended visits in a room (HistoryCache's room_at_read). Each column is read
    into its place, so the load holds the frames and one column more: read whole, then
    moved, the ended visits were held three times over (Arrow's, pandas', the room's), and
    Arrow's memory pool kept what it had freed (a million events: 290 MB above the process
    before the load, for 90 MB of frames)."""
    folder = _current(directory)
    if folder is None:
        return None, None, None
    # An empty frame comes back without the categories it was stored with.
    names = {"sop_code": sorted(session.scalars(select(Sop.code))),
             "role": sorted(session.scalars(select(Role.name))), "outcome": list(OUTCOMES)}

    def with_categories(column: str, series: pd.Series) -> pd.Series:
        if column in names and not len(series.cat.categories):
            return series.astype(pd.CategoricalDtype(pd.Index(names[column], dtype="str")))
        return series

    try:
        meta = json.loads((folder / "stamp.json").read_text())
        if meta.get("format") != _FORMAT:
            return None, None, None
        rooms = {name: _Room.filled(_read_columns(folder / f"{name}.feather", with_categories),
                                    spare=room and name == "ended") for name in _FRAMES}
    except (OSError, ValueError):
        return None, None, None
    finally:
        pa.default_memory_pool().release_unused()
    history = History(**{name: kept.frame for name, kept in rooms.items()},
                      catalog=read_catalog(session),
                      calendar=WorkingCalendar(load_calendar_settings(session)),
                      last_ns=int(meta.get("last_ns", NAT)))
    stamp = Stamp(last_event_id=int(meta["last_event_id"]), rest=tuple(meta["rest"]))
    return history, stamp, rooms["ended"] if room else None
