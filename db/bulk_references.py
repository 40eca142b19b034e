"""Foreign keys checked once for a bulk load on PostgreSQL, instead of row by row.

PostgreSQL checks a foreign key with a trigger per inserted row: a query on the referenced
table that also locks the referenced row against deletion (FOR KEY SHARE). A 1M-event import
writes about ten million references, and those checks were half of its time (68 s against
35 s without them, on the fourteenth machine; docs/metrics.md). The triggers only fire while
the session's replication role is "origin", so a bulk load may switch them off for its own
transaction (`SET LOCAL session_replication_role = replica`) and check every reference of
the rows it wrote with a few whole-table queries before it commits (`check_references`):
the same guarantee, the same locks, taken once per referenced row instead of once per
reference.

Only a role that may set the parameter can do this: a superuser, or (PostgreSQL 15 and
later) a role granted `SET ON PARAMETER session_replication_role` (docs/deployment.md).
Any other role, and SQLite (whose checks run in process, row by row, and cannot be switched
off inside a transaction), keeps the triggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection


class MissingReference(Exception):
    """A bulk-loaded row refers to a row that does not exist: what the trigger would have
    refused. The caller's transaction must roll back."""


@dataclass(frozen=True)
class WrittenRows:
    """The rows a bulk load wrote to `table`: those whose `key` lies in [first, last]."""
    key: str
    first: int
    last: int


def suspend_reference_triggers(connection: Connection) -> bool:
    """Switch the foreign-key triggers off for the rest of this transaction, when the
    database and the role allow it; True when they are off (then `check_references` must
    follow, before the commit)."""
    if connection.dialect.name != "postgresql":
        return False
    may_set = connection.execute(text(
        "SELECT CASE WHEN current_setting('server_version_num')::int >= 150000 "
        "THEN has_parameter_privilege('session_replication_role', 'SET') "
        "ELSE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) END")).scalar()
    if not may_set:
        return False
    connection.execute(text("SET LOCAL session_replication_role = replica"))
    return True


def check_references(connection: Connection, written: Mapping[Table, WrittenRows]) -> None:
    """Switch the triggers back on, then check every foreign key of the written rows at once.

    A row written by this load may refer to another written row (a visit to its case):
    those rows are this transaction's own, invisible to every other, so an anti-join
    suffices. A reference to any other row (a unit, a user, a step) locks that row
    FOR KEY SHARE until the commit, as the trigger would, so that no one deletes it
    meanwhile."""
    connection.execute(text("SET LOCAL session_replication_role = origin"))
    for table, rows in written.items():
        for foreign_key in table.foreign_keys:
            column, parent = foreign_key.parent, foreign_key.column
            if parent.table in written:
                missing = _missing_among_written(connection, table, rows, column.name,
                                                 parent.table, parent.name)
            else:
                missing = _missing_locking(connection, table, rows, column.name,
                                           parent.table, parent.name)
            if missing is not None:
                raise MissingReference(
                    f"{table.name}.{column.name} = {missing}: tidak ada di "
                    f"{parent.table.name}.{parent.name}")


def _missing_among_written(connection: Connection, table: Table, rows: WrittenRows,
                           column: str, parent: Table, parent_column: str) -> object | None:
    return connection.execute(text(
        f'SELECT c."{column}" FROM "{table.name}" c '
        f'WHERE c."{rows.key}" BETWEEN :first AND :last AND c."{column}" IS NOT NULL '
        f'AND NOT EXISTS (SELECT 1 FROM "{parent.name}" p '
        f'WHERE p."{parent_column}" = c."{column}") LIMIT 1'),
        {"first": rows.first, "last": rows.last}).scalar()


def _missing_locking(connection: Connection, table: Table, rows: WrittenRows, column: str,
                     parent: Table, parent_column: str) -> object | None:
    referenced = set(connection.execute(text(
        f'SELECT DISTINCT "{column}" FROM "{table.name}" '
        f'WHERE "{rows.key}" BETWEEN :first AND :last AND "{column}" IS NOT NULL'),
        {"first": rows.first, "last": rows.last}).scalars())
    if not referenced:
        return None
    found = set(connection.execute(text(
        f'SELECT "{parent_column}" FROM "{parent.name}" '
        f'WHERE "{parent_column}" = ANY(:referenced) FOR KEY SHARE'),
        {"referenced": sorted(referenced)}).scalars())
    return min(referenced - found, default=None)
