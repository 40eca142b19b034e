"""The overdue digest: what was mailed to whom (notification_sent), and a user's opt-out.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('email_opt_out', sa.Boolean(), server_default=sa.false(),
                                   nullable=False))
    op.create_table('notification_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('item_key', sa.String(length=40), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('as_of', db.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', db.types.UTCDateTime(), nullable=False),
    sa.Column('message_id', sa.String(length=250), nullable=False),
    sa.CheckConstraint("kind IN ('tugas', 'ringkasan')", name=op.f('ck_notification_sent_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'],
                            name=op.f('fk_notification_sent_user_id_app_user')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'],
                            name=op.f('fk_notification_sent_visit_id_visit')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                            name=op.f('fk_notification_sent_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_sent')),
    sa.UniqueConstraint('user_id', 'day', 'kind', 'item_key',
                        name=op.f('uq_notification_sent_user_id'))
    )


def downgrade() -> None:
    op.drop_table('notification_sent')
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('email_opt_out')
