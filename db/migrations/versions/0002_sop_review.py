"""Saved monitoring (Tabel 7) and evaluation forms per SOP and period.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sop_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sop_id', sa.Integer(), nullable=False),
    sa.Column('sop_version_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=40), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('saved_by_user_id', sa.Integer(), nullable=False),
    sa.Column('saved_at', db.types.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('monitoring', 'evaluasi')", name=op.f('ck_sop_review_kind')),
    sa.ForeignKeyConstraint(['saved_by_user_id'], ['app_user.id'],
                            name=op.f('fk_sop_review_saved_by_user_id_app_user')),
    sa.ForeignKeyConstraint(['sop_id'], ['sop.id'], name=op.f('fk_sop_review_sop_id_sop')),
    sa.ForeignKeyConstraint(['sop_version_id'], ['sop_version.id'],
                            name=op.f('fk_sop_review_sop_version_id_sop_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sop_review'))
    )
    op.create_index('ix_sop_review_form', 'sop_review', ['kind', 'sop_id', 'period'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_sop_review_form', table_name='sop_review')
    op.drop_table('sop_review')
