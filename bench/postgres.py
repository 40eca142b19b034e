"""A fresh PostgreSQL database for one bench measurement, created and dropped here (the
server outlives the bench; nothing is left on it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def fresh_database(server_url: str, *, purpose: str) -> Iterator[str]:
    """The URL of a new, empty database on the server at `server_url`."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"pantau_bench_{purpose}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
