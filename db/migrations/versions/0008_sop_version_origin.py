"""Catalog versions published in the app: where each version came from, and who published it.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('sop_version') as batch:
        batch.add_column(sa.Column('origin', sa.String(length=10), server_default='file',
                                   nullable=False))
        batch.add_column(sa.Column('published_by_user_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_sop_version_published_by_user_id_app_user'),
                                 'app_user', ['published_by_user_id'], ['id'])
        batch.create_check_constraint(op.f('ck_sop_version_origin'), "origin IN ('file', 'app')")


def downgrade() -> None:
    with op.batch_alter_table('sop_version') as batch:
        batch.drop_constraint(op.f('ck_sop_version_origin'), type_='check')
        batch.drop_constraint(op.f('fk_sop_version_published_by_user_id_app_user'),
                              type_='foreignkey')
        batch.drop_column('published_by_user_id')
        batch.drop_column('origin')
