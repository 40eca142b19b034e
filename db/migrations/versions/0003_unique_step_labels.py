"""Every step gets a unique label: the printed number, or for an unnumbered row or a repeated
number the previous step's label plus the first free letter ("9a"). docs/design.md, "Step
labels". The number as printed moves to `printed_label` (the catalog file's `label`). The rule
is copied here as it stood, so later changes to it do not rewrite history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _labels(printed: list[str]) -> list[str]:
    taken = {label for label in printed if label}
    labels: list[str] = []
    used: set[str] = set()
    previous = ""
    for label in printed:
        if not label or label in used:
            base = previous or label or "0"
            label = next(f"{base}{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"
                         if f"{base}{letter}" not in taken and f"{base}{letter}" not in used)
        used.add(label)
        labels.append(label)
        previous = label
    return labels


def upgrade() -> None:
    with op.batch_alter_table('step') as batch:
        batch.add_column(sa.Column('printed_label', sa.String(length=20), nullable=True))
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE step SET printed_label = label"))
    rows = connection.execute(sa.text(
        "SELECT id, sop_version_id, label FROM step ORDER BY sop_version_id, seq")).all()
    versions: dict[int, list[tuple[int, str]]] = {}
    for step_id, version_id, label in rows:
        versions.setdefault(version_id, []).append((step_id, (label or "").strip()))
    for steps in versions.values():
        for (step_id, printed), label in zip(steps, _labels([p for _, p in steps]), strict=True):
            if label != printed:
                connection.execute(sa.text("UPDATE step SET label = :label WHERE id = :id"),
                                   {"label": label, "id": step_id})


def downgrade() -> None:
    op.execute("UPDATE step SET label = printed_label")
    with op.batch_alter_table('step') as batch:
        batch.drop_column('printed_label')
