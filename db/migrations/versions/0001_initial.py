"""Catalog, organisation, work and calendar tables; append-only events; default working hours.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('app_setting',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_app_setting'))
    )
    op.create_table('ramadan_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('start_day', sa.Date(), nullable=False),
    sa.Column('end_day', sa.Date(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.CheckConstraint('start_day <= end_day', name=op.f('ck_ramadan_period_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ramadan_period'))
    )
    op.create_table('role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role')),
    sa.UniqueConstraint('code', name=op.f('uq_role_code')),
    sa.UniqueConstraint('name', name=op.f('uq_role_name'))
    )
    op.create_table('sop',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sop')),
    sa.UniqueConstraint('code', name=op.f('uq_sop_code'))
    )
    op.create_table('unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit')),
    sa.UniqueConstraint('code', name=op.f('uq_unit_code')),
    sa.UniqueConstraint('name', name=op.f('uq_unit_name'))
    )
    op.create_table('work_hours',
    sa.Column('regime', sa.String(length=10), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('break_start_minute', sa.Integer(), nullable=False),
    sa.Column('break_end_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.CheckConstraint("regime IN ('normal', 'ramadan')", name=op.f('ck_work_hours_regime')),
    sa.CheckConstraint('start_minute <= break_start_minute AND break_start_minute <= break_end_minute AND break_end_minute <= end_minute AND end_minute <= 1440', name=op.f('ck_work_hours_ordered')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_work_hours_weekday')),
    sa.PrimaryKeyConstraint('regime', 'weekday', name=op.f('pk_work_hours'))
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=100), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('is_recorder', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('failed_login_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', db.types.UTCDateTime(), nullable=True),
    sa.Column('last_login_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('password_changed_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_app_user_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('sop_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sop_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('identity', sa.JSON(), nullable=False),
    sa.Column('source_path', sa.String(length=300), nullable=False),
    sa.Column('loaded_at', db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['sop_id'], ['sop.id'], name=op.f('fk_sop_version_sop_id_sop')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sop_version')),
    sa.UniqueConstraint('sop_id', 'version', name=op.f('uq_sop_version_sop_id'))
    )
    with op.batch_alter_table('sop_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sop_version_sop_id'), ['sop_id'], unique=False)

    op.create_table('holiday_override',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('add', 'remove')", name=op.f('ck_holiday_override_kind')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], name=op.f('fk_holiday_override_created_by_user_id_app_user')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_holiday_override'))
    )
    op.create_table('sop_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('sop_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('period_label', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', db.types.UTCDateTime(), nullable=False),
    sa.Column('ended_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('last_event_no', sa.Integer(), nullable=False),
    sa.Column('last_event_at', db.types.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'completed', 'cancelled')", name=op.f('ck_sop_case_status')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['app_user.id'], name=op.f('fk_sop_case_created_by_user_id_app_user')),
    sa.ForeignKeyConstraint(['sop_version_id'], ['sop_version.id'], name=op.f('fk_sop_case_sop_version_id_sop_version')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_sop_case_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sop_case')),
    sa.UniqueConstraint('ref', name=op.f('uq_sop_case_ref'))
    )
    with op.batch_alter_table('sop_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sop_case_sop_version_id'), ['sop_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sop_case_status'), ['status'], unique=False)

    op.create_table('sop_lane',
    sa.Column('sop_version_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_sop_lane_role_id_role')),
    sa.ForeignKeyConstraint(['sop_version_id'], ['sop_version.id'], name=op.f('fk_sop_lane_sop_version_id_sop_version')),
    sa.PrimaryKeyConstraint('sop_version_id', 'position', name=op.f('pk_sop_lane'))
    )
    op.create_table('step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sop_version_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=True),
    sa.Column('activity', sa.Text(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('kelengkapan', sa.Text(), nullable=False),
    sa.Column('waktu', sa.String(length=120), nullable=False),
    sa.Column('target_kind', sa.String(length=10), nullable=False),
    sa.Column('target_minutes', sa.Integer(), nullable=True),
    sa.Column('output', sa.Text(), nullable=False),
    sa.Column('ket', sa.Text(), nullable=False),
    sa.Column('approve_seq', sa.Integer(), nullable=True),
    sa.Column('return_seq', sa.Integer(), nullable=True),
    sa.Column('multi_unit', sa.Boolean(), nullable=False),
    sa.Column('interpretation_note', sa.Text(), nullable=True),
    sa.CheckConstraint("(target_kind = 'minutes') = (target_minutes IS NOT NULL)", name=op.f('ck_step_target_minutes')),
    sa.CheckConstraint("target_kind IN ('minutes', 'schedule', 'none')", name=op.f('ck_step_target_kind')),
    sa.CheckConstraint('(approve_seq IS NULL) = (return_seq IS NULL)', name=op.f('ck_step_decision_pair')),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_step_role_id_role')),
    sa.ForeignKeyConstraint(['sop_version_id'], ['sop_version.id'], name=op.f('fk_step_sop_version_id_sop_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_step')),
    sa.UniqueConstraint('sop_version_id', 'seq', name=op.f('uq_step_sop_version_id'))
    )
    with op.batch_alter_table('step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_step_sop_version_id'), ['sop_version_id'], unique=False)

    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_user_role_role_id_role')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_role_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_role'))
    )
    op.create_table('case_schedule',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('step_seq', sa.Integer(), nullable=False),
    sa.Column('due_at', db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['sop_case.id'], name=op.f('fk_case_schedule_case_id_sop_case')),
    sa.PrimaryKeyConstraint('case_id', 'step_seq', name=op.f('pk_case_schedule'))
    )
    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('pass_no', sa.Integer(), nullable=False),
    sa.Column('available_at', db.types.UTCDateTime(), nullable=False),
    sa.Column('begun_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('ended_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('target_minutes', sa.Integer(), nullable=True),
    sa.Column('due_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('assigned_user_id', sa.Integer(), nullable=True),
    sa.Column('performer_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('complete', 'approve', 'return', 'closed')", name=op.f('ck_visit_outcome')),
    sa.CheckConstraint('(ended_at IS NULL) = (outcome IS NULL)', name=op.f('ck_visit_ended_has_outcome')),
    sa.ForeignKeyConstraint(['assigned_user_id'], ['app_user.id'], name=op.f('fk_visit_assigned_user_id_app_user')),
    sa.ForeignKeyConstraint(['case_id'], ['sop_case.id'], name=op.f('fk_visit_case_id_sop_case')),
    sa.ForeignKeyConstraint(['performer_user_id'], ['app_user.id'], name=op.f('fk_visit_performer_user_id_app_user')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['app_user.id'], name=op.f('fk_visit_recorded_by_user_id_app_user')),
    sa.ForeignKeyConstraint(['role_id'], ['role.id'], name=op.f('fk_visit_role_id_role')),
    sa.ForeignKeyConstraint(['step_id'], ['step.id'], name=op.f('fk_visit_step_id_step')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_visit_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit'))
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_visit_ended_at', ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_step_id'), ['step_id'], unique=False)
        batch_op.create_index('uq_visit_open_per_case', ['case_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('step_seq', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', db.types.UTCDateTime(), nullable=False),
    sa.Column('recorded_at', db.types.UTCDateTime(), nullable=False),
    sa.Column('performer_role_id', sa.Integer(), nullable=True),
    sa.Column('performer_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('corrects_event_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('start', 'begin', 'complete', 'approve', 'return', 'cancel', 'correction')", name=op.f('ck_event_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['sop_case.id'], name=op.f('fk_event_case_id_sop_case')),
    sa.ForeignKeyConstraint(['corrects_event_id'], ['event.id'], name=op.f('fk_event_corrects_event_id_event')),
    sa.ForeignKeyConstraint(['performer_role_id'], ['role.id'], name=op.f('fk_event_performer_role_id_role')),
    sa.ForeignKeyConstraint(['performer_user_id'], ['app_user.id'], name=op.f('fk_event_performer_user_id_app_user')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['app_user.id'], name=op.f('fk_event_recorded_by_user_id_app_user')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_event_unit_id_unit')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_event_visit_id_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('case_id', 'event_no', name=op.f('uq_event_case_id'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_visit_id'), ['visit_id'], unique=False)

    op.create_table('visit_unit',
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', db.types.UTCDateTime(), nullable=True),
    sa.Column('submitted_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['submitted_event_id'], ['event.id'], name=op.f('fk_visit_unit_submitted_event_id_event')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_visit_unit_unit_id_unit')),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], name=op.f('fk_visit_unit_visit_id_visit')),
    sa.PrimaryKeyConstraint('visit_id', 'unit_id', name=op.f('pk_visit_unit'))
    )
    _create_event_append_only_guards()
    _insert_default_work_hours()


def downgrade() -> None:
    _drop_event_append_only_guards()
    op.drop_table('visit_unit')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_visit_id'))
        batch_op.drop_index('ix_event_occurred_at')

    op.drop_table('event')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('uq_visit_open_per_case', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_visit_step_id'))
        batch_op.drop_index('ix_visit_ended_at')
        batch_op.drop_index(batch_op.f('ix_visit_case_id'))

    op.drop_table('visit')
    op.drop_table('case_schedule')
    op.drop_table('user_role')
    with op.batch_alter_table('step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_step_sop_version_id'))

    op.drop_table('step')
    op.drop_table('sop_lane')
    with op.batch_alter_table('sop_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sop_case_status'))
        batch_op.drop_index(batch_op.f('ix_sop_case_sop_version_id'))

    op.drop_table('sop_case')
    op.drop_table('holiday_override')
    with op.batch_alter_table('sop_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sop_version_sop_id'))

    op.drop_table('sop_version')
    op.drop_table('app_user')
    op.drop_table('work_hours')
    op.drop_table('unit')
    op.drop_table('sop')
    op.drop_table('role')
    op.drop_table('ramadan_period')
    op.drop_table('app_setting')


# The audit trail is append-only (docs/design.md, "Workflow"): corrections are new events. The database
# itself refuses UPDATE and DELETE on `event`, so no code path can rewrite history. A later
# SQLite batch migration that rebuilds `event` must create these triggers again.
_SQLITE_GUARDS = [
    "CREATE TRIGGER event_no_update BEFORE UPDATE ON event "
    "BEGIN SELECT RAISE(ABORT, 'event is append-only'); END",
    "CREATE TRIGGER event_no_delete BEFORE DELETE ON event "
    "BEGIN SELECT RAISE(ABORT, 'event is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'event is append-only'; END $$",
    "CREATE TRIGGER event_no_update_delete BEFORE UPDATE OR DELETE ON event "
    "FOR EACH ROW EXECUTE FUNCTION event_append_only()",
    "CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event "
    "FOR EACH STATEMENT EXECUTE FUNCTION event_append_only()",
]


def _create_event_append_only_guards() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_GUARDS if dialect == "sqlite" else _POSTGRES_GUARDS:
        op.execute(statement)


def _drop_event_append_only_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS event_no_update")
        op.execute("DROP TRIGGER IF EXISTS event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS event_no_update_delete ON event")
        op.execute("DROP TRIGGER IF EXISTS event_no_truncate ON event")
        op.execute("DROP FUNCTION IF EXISTS event_append_only()")


def _hm(hours: int, minutes: int = 0) -> int:
    return hours * 60 + minutes


# Perpres 21/2023 (37.5 hours a week) and the Ramadan hours (docs/design.md, "Working time"), as
# (weekday, start, break start, break end, end). Weekends have no row: not working days.
_DEFAULT_WORK_HOURS = {
    "normal": [(d, _hm(7, 30), _hm(12), _hm(13), _hm(16)) for d in range(4)]
    + [(4, _hm(7, 30), _hm(11, 30), _hm(13), _hm(16, 30))],
    "ramadan": [(d, _hm(8), _hm(12), _hm(12, 30), _hm(15)) for d in range(4)]
    + [(4, _hm(8), _hm(11, 30), _hm(12, 30), _hm(15, 30))],
}


def _insert_default_work_hours() -> None:
    work_hours = sa.table(
        "work_hours",
        sa.column("regime", sa.String),
        sa.column("weekday", sa.Integer),
        sa.column("start_minute", sa.Integer),
        sa.column("break_start_minute", sa.Integer),
        sa.column("break_end_minute", sa.Integer),
        sa.column("end_minute", sa.Integer),
    )
    op.bulk_insert(
        work_hours,
        [
            {
                "regime": regime,
                "weekday": weekday,
                "start_minute": start,
                "break_start_minute": break_start,
                "break_end_minute": break_end,
                "end_minute": end,
            }
            for regime, rows in _DEFAULT_WORK_HOURS.items()
            for weekday, start, break_start, break_end, end in rows
        ],
    )
