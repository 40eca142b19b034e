"""Tugas Saya: the open steps a user may act on (docs/design.md, "Roles and pages")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import rows_where_in
from db.models import Case, Step, Visit
from services.accounts import Actor
from services.metrics import (
    Catalog,
    PendingItem,
    held_by,
    pending_items,
    pending_state,
    unit_names,
)


@dataclass(frozen=True)
class Task:
    item: PendingItem
    title: str
    activity: str


def on_my_list(items: pd.DataFrame, *, actor: Actor) -> pd.Series:
    """Which pending items (rows of Snapshot.items) are this user's tasks: those of the
    user's roles (for a multi-unit step, only the user's unit's); a recorder or admin may act
    on them all."""
    if actor.may_record_for_others:
        return pd.Series(True, index=items.index)
    return held_by(items, roles=sorted(actor.roles), unit_id=actor.unit_id)


def my_items(items: pd.DataFrame, *, actor: Actor) -> pd.DataFrame:
    """This user's tasks (`on_my_list`) among the pending items, in their order: overdue
    and oldest first. One per item, as counted everywhere (a multi-unit step is one per
    unit)."""
    return items[on_my_list(items, actor=actor)]


def overdue_count(items: pd.DataFrame, *, actor: Actor) -> int:
    """How many of this user's tasks are overdue (the sidebar's badge)."""
    return int((on_my_list(items, actor=actor) & (items["sla_state"] == "overdue")).sum())


def tasks_of(session: Session, *, items: pd.DataFrame, catalog: Catalog) -> list[Task]:
    """These pending items (rows of Snapshot.items, as many as a page shows) as tasks: their
    cases' references, titles and open steps' activities read for them alone. A large
    agency has tens of thousands of items running; a page builds its sixty."""
    if items.empty:
        return []
    # One read of the cases gives their references for the items and the task's details.
    details = {case_id: (ref, title, activity) for case_id, ref, title, activity
               in rows_where_in(session, select(Case.id, Case.ref, Case.title, Step.activity)
                                .join(Visit, (Visit.case_id == Case.id) & Visit.ended_at.is_(None))
                                .join(Step, Visit.step_id == Step.id),
                                Case.id, [int(case_id) for case_id in items["case_id"].unique()])}
    pending = pending_items(items, catalog=catalog,
                            case_refs={case_id: ref for case_id, (ref, _, _) in details.items()},
                            unit_names=unit_names(session))
    return [Task(item=item, title=details[item.case_pk][1], activity=details[item.case_pk][2])
            for item in pending]


def tasks_for(session: Session, *, actor: Actor, as_of: datetime | None = None) -> list[Task]:
    """Every task of this user at `as_of` (default now), reading only what is running."""
    state = pending_state(session, as_of=as_of)
    return tasks_of(session, items=my_items(state.items, actor=actor), catalog=state.catalog)
