"""Database faults as the drivers raise them, for tests of what the app makes of them."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path


def sqlite_locked_error() -> sqlite3.OperationalError:
    """SQLite's own "database is locked" (with its error code), from two real connections."""
    path = Path(tempfile.mkdtemp(prefix="pantau-kunci-")) / "kunci.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return error
    finally:
        waiter.close()
        holder.close()
    raise AssertionError("the second connection was not locked out")
