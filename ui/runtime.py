"""The database engine for this Streamlit process, and what a run shows when the database
fails it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, PendingRollbackError

from db.engine import DatabaseBusy, database_url, is_busy, make_engine
from db.migrate import is_up_to_date

STYLE_SHEET = Path(__file__).with_name("style.css")


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


@st.cache_resource(show_spinner=False)
def _frozen_at_start() -> bool:
    gc.collect()
    gc.freeze()
    return True


def freeze_startup_objects() -> None:
    """Once per process, at its first run: the objects alive then (Streamlit, pandas, the
    modules of the app) are left out of every later garbage collection. Streamlit collects
    after every script run (runner.postScriptGC): the pages' frames must be freed at once,
    but a full collection walked every object of the process each time."""
    _frozen_at_start()


def engine() -> Engine:
    """One pooled engine per database URL, shared by every session of this process."""
    return _engine_for(database_url())


def stop_unless_database_ready() -> None:
    if not is_up_to_date(engine()):
        st.error(
            "Basis data belum disiapkan atau belum dimigrasikan. Jalankan `make run`, "
            "atau `python manage.py init` lalu muat ulang halaman ini."
        )
        st.stop()


DATABASE_FAULTS = (DBAPIError, PendingRollbackError, DatabaseBusy)
BUSY = ("Basis data sedang sibuk melayani pengguna lain; tindakan terakhir tidak tersimpan. "
        "Tunggu sebentar lalu coba lagi.")
UNREACHABLE = ("Basis data tidak dapat dihubungi; tidak ada yang tersimpan. Coba lagi beberapa "
               "saat lagi; bila tetap begini, hubungi admin.")
DROPPED = ("Koneksi ke basis data terputus sesaat; tindakan terakhir tidak tersimpan. Muat "
           "ulang halaman lalu coba lagi.")
REFUSED = ("Basis data menolak tindakan terakhir; tidak ada yang tersimpan. Muat ulang halaman "
           "lalu coba lagi; bila berulang, hubungi admin.")


def fault_message(error: BaseException) -> str:
    """What the user is told about a database fault. In every case the transaction was
    rolled back whole (db/engine.write_session), so nothing half-done is stored."""
    if is_busy(error):
        return BUSY
    if isinstance(error, DBAPIError) and error.statement is None:
        return UNREACHABLE  # failed while connecting: no statement ran
    if isinstance(error, (OperationalError, InterfaceError, PendingRollbackError)):
        # A connection cut under a statement; a PendingRollbackError is the same cut seen
        # later, by code that used the session after the failed flush.
        return DROPPED
    return REFUSED


@contextmanager
def database_faults() -> Iterator[None]:
    """Around a whole run: a database fault ends it with a message instead of Streamlit's
    error page. The session that failed is closed by its `with` block on the way out; the
    next run takes a fresh connection (the pool pings it first on PostgreSQL)."""
    try:
        yield
    except DATABASE_FAULTS as error:
        st.error(fault_message(error), icon=":material/cloud_off:")
