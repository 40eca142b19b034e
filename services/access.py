"""What each user may read (docs/security.md, "Who may read what").

The Kadis, the Sekretaris and admins read everything, and only they read the dashboards and
the Laporan Monev. A pencatat (Fungsional) records for every role, so reads every SOP. Anyone
else reads the SOPs in which one of their roles has a step: their cases, step visits, pending
items and progress; a case of another SOP is refused.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, Role, Sop, SopVersion, Step
from services.accounts import Actor
from services.catalog.roles import HEADS
from services.errors import PermissionDenied
from services.metrics import Snapshot, scope


def reads_everything(actor: Actor) -> bool:
    return actor.is_admin or bool(actor.roles & HEADS)


def require_heads(actor: Actor) -> None:
    """The dashboards and the report forms: the Kadis, the Sekretaris and admins."""
    if not reads_everything(actor):
        raise PermissionDenied("Halaman ini untuk Kadis, Sekretaris dan admin.")


def readable_sops(session: Session, *, actor: Actor) -> frozenset[str] | None:
    """The codes of the SOPs the user may read, or None for every SOP."""
    if reads_everything(actor) or actor.may_record_for_others:
        return None
    return frozenset(session.scalars(
        select(Sop.code).join(SopVersion, SopVersion.sop_id == Sop.id)
        .join(Step, Step.sop_version_id == SopVersion.id).join(Role, Step.role_id == Role.id)
        .where(Role.name.in_(sorted(actor.roles))).distinct()))


def require_case_readable(session: Session, *, actor: Actor, case_id: int) -> None:
    readable = readable_sops(session, actor=actor)
    if readable is None:
        return
    code = session.scalar(select(Sop.code).join(SopVersion, SopVersion.sop_id == Sop.id)
                          .join(Case, Case.sop_version_id == SopVersion.id)
                          .where(Case.id == case_id))
    if code is not None and code not in readable:
        raise PermissionDenied("Kasus ini dari SOP yang tidak melibatkan peran Anda.")


def readable_state(session: Session, state: Snapshot, *, actor: Actor) -> Snapshot:
    """The state narrowed to what the user may read."""
    readable = readable_sops(session, actor=actor)
    if readable is None:
        return state
    return scope(state, sop_codes=sorted(readable) or ["-"])
