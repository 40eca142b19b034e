"""Foreign keys checked once for a bulk load on PostgreSQL, instead of row by row.

PostgreSQL checks a foreign key with a trigger per inserted row: a query on the referenced
table that also locks the referenced row against deletion (FOR KEY SHARE). A 1M-event import
writes about ten million references, and those checks were half of its time (68 s against
35 s without them, on the fourteenth machine; docs/metrics.md). The triggers only fire while
the session's replication role is "origin", so a bulk load may switch them off for its own
transaction (`SET LOCAL session_replication_role = replica`), check every reference of the
rows it wrote with a few queries over them (`check_references`, for each batch as it is
written), and switch them on again before it commits (`resume_reference_triggers`): the same
guarantee, the same locks, taken once per referenced row of the load instead of once per
reference.

Only a role that may set the parameter can do this: a superuser, or (PostgreSQL 15 and
later) a role granted `SET ON PARAMETER session_replication_role` (docs/deploy.md, step 2).
Any other role, and SQLite (whose checks run in process, row by row, and cannot be switched
off inside a transaction), keeps the triggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Table,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
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
    check every row written meanwhile, and `resume_reference_triggers` follow, before the
    commit)."""
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


def check_references(session: Session, written: Mapping[Table, WrittenRows], *,
                     found_before: dict[str, set[Any]]) -> None:
    """Check every foreign key of the written rows at once (the triggers may still be off).

    A row written by this load may refer to another written row (a visit to its case):
    those rows are this transaction's own, invisible to every other, so an anti-join
    suffices. A reference to any other row (a unit, a user, a step) locks that row
    FOR KEY SHARE until the commit, as the trigger would, so that no one deletes it
    meanwhile. `found_before` holds the rows found (and so locked) by the earlier checks of
    the same load, by referenced column, and gains this check's: a load's batches refer to
    the same few units, people and steps, looked up once, not once a batch."""
    for table, rows in written.items():
        among = table.c[rows.key].between(rows.first, rows.last)
        keys = sorted(table.foreign_keys, key=lambda key: key.parent.name)
        inside = [key for key in keys if key.column.table in written]
        outside = [key for key in keys if key.column.table not in written]
        # Each kind in one pass over the rows (the written rows of a 1M-event load were read
        # once per foreign key: 4.9 of the checks' 5.4 s on the server), then, only when
        # something is missing, once per key to name it.
        if inside and session.scalar(select(literal(True)).where(
                among, or_(*(_missing_in_load(table, key) for key in inside))).limit(1)):
            for key in inside:
                missing = session.scalar(select(table.c[key.parent.name]).where(
                    among, _missing_in_load(table, key)).limit(1))
                if missing is not None:
                    raise _missing(table, key, missing)
        if not outside:
            continue
        # PostgreSQL's array_agg: this module runs only there (suspend_reference_triggers).
        values = session.execute(select(*(
            func.array_agg(distinct(table.c[key.parent.name])) for key in outside
        )).where(among)).one()
        for key, named in zip(outside, values, strict=True):
            referenced = key.column
            known = found_before.setdefault(f"{referenced.table.name}.{referenced.name}", set())
            wanted = {value for value in named or () if value is not None} - known
            found = {value for value, in rows_where_in(
                session, select(referenced).with_for_update(read=True, key_share=True),
                referenced, sorted(wanted))} if wanted else set()
            known |= found
            missing = min(wanted - found, default=None)
            if missing is not None:
                raise _missing(table, key, missing)


def _missing_in_load(table: Table, key: ForeignKey) -> ColumnElement[bool]:
    """A written row's reference to another written row that is not there. Through an
    alias: a row may refer to its own table (a correction to its event)."""
    column, parent = table.c[key.parent.name], key.column.table.alias("referenced")
    return column.is_not(None) & ~exists().where(parent.c[key.column.name] == column)


def _missing(table: Table, key: ForeignKey, value: Any) -> MissingReference:
    return MissingReference(f"{table.name}.{key.parent.name} = {value}: tidak ada di "
                            f"{key.column.table.name}.{key.column.name}")
