"""Run the Alembic migrations programmatically (manage.py init, the app, the tests).

Alembic is imported only where a migration is run or the scripts are read: the check that a
database is up to date is asked by every page run and every command, and is one query against
HEAD_REVISION."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from db.engine import REPO_ROOT

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration in db/migrations/versions. A new migration changes it too:
# tests/db/test_migrations.py holds it to Alembic's own head.
HEAD_REVISION = "0008"


def alembic_config() -> Config:
    from alembic.config import Config

    return Config(str(REPO_ROOT / "alembic.ini"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str | None:
    """The head as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> frozenset[str]:
    """Every migration revision of this code base: a backup at one of them is ours."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(revision.revision for revision in script.walk_revisions())


def is_up_to_date(engine: Engine) -> bool:
    """Whether the schema is at HEAD_REVISION. A database that cannot be reached raises (the
    caller says so), and is not called "not migrated"."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):  # never migrated
            return False
        revisions = connection.execute(
            text("SELECT version_num FROM alembic_version")).scalars().all()
    return revisions == [HEAD_REVISION]
