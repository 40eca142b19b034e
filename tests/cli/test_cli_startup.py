"""manage.py starts fast: `--help` and a command's help load none of the heavy libraries
(pandas with pyarrow, plotly, streamlit, SQLAlchemy take a second and more to import)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from db.engine import make_engine
from db.migrate import upgrade
from tests.conftest import REPO_ROOT

HEAVY = ("numpy", "pandas", "pyarrow", "plotly", "streamlit", "sqlalchemy", "openpyxl", "fpdf")

# Runs manage.py as `python manage.py ARGS` would, then reports which heavy modules it loaded.
_PROBE = """
import json, runpy, sys
sys.path.insert(0, {root!r})
sys.argv = ["manage.py", *sys.argv[1:]]
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as done:
    code = done.code
else:
    code = 0
import gc
report = {{"code": code, "loaded": [m for m in {heavy!r} if m in sys.modules],
          "frozen_objects": gc.get_freeze_count()}}
if "numpy" in sys.modules:
    report["numpy_huge_pages"] = sys.modules["numpy"]._core.multiarray._get_madvise_hugepage()
print(json.dumps(report))
"""


def loaded_by(*args: str, heavy: tuple[str, ...] = HEAVY, env: dict[str, str] | None = None,
              base: dict[str, str] | None = None) -> dict[str, object]:
    probe = _PROBE.format(root=str(REPO_ROOT), script=str(REPO_ROOT / "manage.py"),
                          heavy=heavy)
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={**(os.environ if base is None else base), **(env or {})})
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("args", [("--help",), ("metrics", "--help"), ("import-events", "-h"),
                                  ("metrics", "--as-of", "2026-04-01T09:00:00+07:00", "--help"),
                                  ("no-such-command",)])
def test_help_and_usage_errors_load_no_heavy_library(args: tuple[str, ...]) -> None:
    report = loaded_by(*args)
    assert report["code"] in (0, 2)
    assert report["loaded"] == []


def test_a_command_still_loads_what_it_needs() -> None:
    """The probe sees imports at all: a command that reads the catalog loads its libraries."""
    report = loaded_by("lint-sops")
    assert report["code"] == 0
    assert "sqlalchemy" in report["loaded"]  # type: ignore[operator]


def test_a_command_on_a_ready_database_does_not_load_alembic(tmp_path: Path) -> None:
    """Whether the schema is current is one query (db/migrate.py), not Alembic's scripts."""
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    report = loaded_by("metrics", "--json", heavy=("alembic",), env={"PANTAU_DATABASE_URL": url})
    assert report["code"] == 0
    assert report["loaded"] == []


def test_metrics_computes_without_numpys_huge_pages_unless_asked(tmp_path: Path) -> None:
    """A command computes once and exits: the kernel's compaction at the first touch of a huge
    page costs it more than the pages return (manage.py, cmd_metrics)."""
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    plain = {key: value for key, value in os.environ.items() if key != "NUMPY_MADVISE_HUGEPAGE"}
    report = loaded_by("metrics", "--json", env={"PANTAU_DATABASE_URL": url}, base=plain)
    assert report["code"] == 0
    assert report["numpy_huge_pages"] is False
    asked = loaded_by("metrics", "--json",
                      env={"PANTAU_DATABASE_URL": url, "NUMPY_MADVISE_HUGEPAGE": "1"}, base=plain)
    assert asked["numpy_huge_pages"] is True


def test_a_command_leaves_its_objects_to_the_end_of_the_process(tmp_path: Path) -> None:
    """The interpreter's last walk over every object costs a command on a million events a
    sixth of its time (manage.py, the end): the objects are frozen once the command is done,
    and the output is whole."""
    url = f"sqlite:///{tmp_path / 'pantau.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    report = loaded_by("metrics", "--json", env={"PANTAU_DATABASE_URL": url})
    assert report["code"] == 0
    assert report["frozen_objects"] > 10_000  # type: ignore[operator]
    done = subprocess.run([sys.executable, "manage.py", "metrics", "--json"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PANTAU_DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["pending"]["total"] == 0


def test_init_byte_compiles_the_project_sources_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`manage.py init` leaves every module of the project compiled, so a machine that may not
    write bytecode on import (PYTHONDONTWRITEBYTECODE=1) does not compile them on every
    command; a module already compiled is left as it was."""
    import importlib.util
    import runpy

    compile_sources = runpy.run_path(str(REPO_ROOT / "manage.py"))["compile_sources"]
    (tmp_path / "services").mkdir()
    module = tmp_path / "services" / "figures.py"
    module.write_text("ANSWER = 42\n")
    (tmp_path / "manage.py").write_text("print('ok')\n")
    compile_sources(tmp_path)
    compiled = Path(importlib.util.cache_from_source(str(module)))
    assert compiled.is_file() and Path(importlib.util.cache_from_source(
        str(tmp_path / "manage.py"))).is_file()
    stamp = compiled.stat().st_mtime_ns
    compile_sources(tmp_path)
    assert compiled.stat().st_mtime_ns == stamp
