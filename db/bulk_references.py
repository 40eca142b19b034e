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
later) a role granted `SET ON PARAMETER session_replication_role` (docs/deploy.md, step 2).
Any other role, and SQLite (whose checks run in process, row by row, and cannot be switched
off inside a transaction), keeps the triggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Table, exists, select, text
from sqlalchemy.orm import Session

from db.engine import rows_where_in


class MissingReference(Exception):
    """A bulk-loaded row refers to a row that does not exist: what the trigger would have
    refused. The caller's transaction must roll back."""


@dataclass(frozen=True)
class WrittenRows:
    """The rows a bulk load wrote to `table`: those whose `key` lies in [first, last]."""
    key: str
    first: int
    last: int


def suspend_reference_triggers(session: Session) -> bool:
    """Switch the foreign-key triggers off for the rest of this transaction, when the
    database and the role allow it; True when they are off (then `check_references` must
    follow, before the commit)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    may_set = session.execute(text(
        "SELECT CASE WHEN current_setting('server_version_num')::int >= 150000 "
        "THEN has_parameter_privilege('session_replication_role', 'SET') "
        "ELSE (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) END")).scalar()
    if not may_set:
        return False
    session.execute(text("SET LOCAL session_replication_role = replica"))
    return True


def resume_reference_triggers(session: Session) -> None:
    """The triggers on again for the rest of the transaction."""
    session.execute(text("SET LOCAL session_replication_role = origin"))


def check_references(session: Session, written: Mapping[Table, WrittenRows]) -> None:
    """Switch the triggers back on, then check every foreign key of the written rows at once.

    A row written by this load may refer to another written row (a visit to its case):
    those rows are this transaction's own, invisible to every other, so an anti-join
    suffices. A reference to any other row (a unit, a user, a step) locks that row
    FOR KEY SHARE until the commit, as the trigger would, so that no one deletes it
    meanwhile."""
    resume_reference_triggers(session)
    for table, rows in written.items():
        among = table.c[rows.key].between(rows.first, rows.last)
        for foreign_key in table.foreign_keys:
            column, referenced = table.c[foreign_key.parent.name], foreign_key.column
            if referenced.table in written:
                # An alias: a row may refer to its own table (a correction to its event).
                parent = referenced.table.alias("referenced")
                missing = session.scalar(select(column).where(
                    among, column.is_not(None),
                    ~exists().where(parent.c[referenced.name] == column)).limit(1))
            else:
                wanted = set(session.scalars(
                    select(column).distinct().where(among, column.is_not(None))))
                found = {value for value, in rows_where_in(
                    session, select(referenced).with_for_update(read=True, key_share=True),
                    referenced, sorted(wanted))}
                missing = min(wanted - found, default=None)
            if missing is not None:
                raise MissingReference(
                    f"{table.name}.{column.name} = {missing}: tidak ada di "
                    f"{referenced.table.name}.{referenced.name}")
