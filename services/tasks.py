"""Tugas Saya: the open steps a user may act on (DESIGN section 9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, Step, Unit, Visit
from services.accounts import Actor
from services.metrics import PendingItem, open_visits, pending_items


@dataclass(frozen=True)
class Task:
    item: PendingItem
    title: str
    label: str | None
    activity: str
    visit_id: int
    # For a multi-unit step: the outstanding units this user may submit for.
    units: tuple[str, ...]


def tasks_for(session: Session, *, actor: Actor, as_of: datetime | None = None) -> list[Task]:
    """Open steps of the user's roles (and, for a multi-unit step, the user's unit); a
    recorder or admin sees every open step. Overdue and oldest first."""
    visits = open_visits(session, as_of=as_of)
    if not (actor.may_record_for_others):
        visits = visits[visits["role"].astype(str).isin(actor.roles)]
    items = pending_items(session, visits)
    if not items:
        return []
    case_ids = list({item.case_pk for item in items})
    details = {case_id: (title, visit_id, label, activity) for case_id, title, visit_id, label,
               activity in session.execute(
                   select(Case.id, Case.title, Visit.id, Step.label, Step.activity)
                   .join(Visit, (Visit.case_id == Case.id) & Visit.ended_at.is_(None))
                   .join(Step, Visit.step_id == Step.id)
                   .where(Case.id.in_(case_ids)))}
    own_unit = None
    if actor.unit_id is not None:
        own_unit = session.scalar(select(Unit.name).where(Unit.id == actor.unit_id))
    tasks = []
    for item in items:
        title, visit_id, label, activity = details[item.case_pk]
        units = item.units_outstanding
        if units and not actor.may_record_for_others:
            units = tuple(unit for unit in units if unit == own_unit)
            if not units:
                continue  # the user's unit has already submitted
        tasks.append(Task(item=item, title=title, label=label, activity=activity,
                          visit_id=visit_id, units=units))
    return tasks
