"""Tugas Saya: the open steps a user may act on (docs/design.md, "Roles and pages")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def tasks_for(session: Session, *, actor: Actor, as_of: datetime | None = None) -> list[Task]:
    """The pending items this user may act on, overdue and oldest first: those of the user's
    roles (for a multi-unit step, only the user's unit's); a recorder or admin sees them all.
    One task per item, as counted everywhere (a multi-unit step is one per unit)."""
    pending = pending_now(session, as_of=as_of)
    items = pending.pending
    if not actor.may_record_for_others:
        held = held_by(pending.state.items, roles=sorted(actor.roles), unit_id=actor.unit_id)
        items = tuple(item for item, is_held in zip(items, held, strict=True) if is_held)
    if not items:
        return []
    details = {case_id: (title, activity) for case_id, title, activity in session.execute(
        select(Case.id, Case.title, Step.activity)
        .join(Visit, (Visit.case_id == Case.id) & Visit.ended_at.is_(None))
        .join(Step, Visit.step_id == Step.id)
        .where(Case.id.in_({item.case_pk for item in items})))}
    return [Task(item=item, title=details[item.case_pk][0], activity=details[item.case_pk][1])
            for item in items]
