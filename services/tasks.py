"""Tugas Saya: the open steps a user may act on (docs/design.md, "Roles and pages")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, Step, Visit
from services.accounts import Actor
from services.metrics import PendingItem, held_by, pending_now


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


def overdue_count(items: pd.DataFrame, *, actor: Actor) -> int:
    """How many of this user's tasks are overdue (the sidebar's badge)."""
    return int((on_my_list(items, actor=actor) & (items["sla_state"] == "overdue")).sum())


def tasks_for(session: Session, *, actor: Actor, as_of: datetime | None = None) -> list[Task]:
    """The pending items this user may act on (`on_my_list`), overdue and oldest first. One
    task per item, as counted everywhere (a multi-unit step is one per unit)."""
    pending = pending_now(session, as_of=as_of)
    mine = on_my_list(pending.state.items, actor=actor)
    items = tuple(item for item, keep in zip(pending.pending, mine, strict=True) if keep)
    if not items:
        return []
    details = {case_id: (title, activity) for case_id, title, activity in session.execute(
        select(Case.id, Case.title, Step.activity)
        .join(Visit, (Visit.case_id == Case.id) & Visit.ended_at.is_(None))
        .join(Step, Visit.step_id == Step.id)
        .where(Case.id.in_({item.case_pk for item in items})))}
    return [Task(item=item, title=details[item.case_pk][0], activity=details[item.case_pk][1])
            for item in items]
