"""What keeps the app process's memory flat from run to run (docs/metrics.md, "Speed")."""

from __future__ import annotations

import gc
import tomllib
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT


def test_streamlit_collects_the_garbage_of_every_run() -> None:
    """Frames held in a reference cycle are freed when the run ends, not on Python's own
    schedule (at ten million events, pages crept from 1.3 to 2.2 GB without it)."""
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is True


def test_the_objects_alive_at_the_first_run_are_frozen_once(
        signed_in: Callable[..., AppTest]) -> None:
    """A collection after every run walks only the objects made since the process began
    serving; freezing again at every run would keep each run's garbage for good."""
    app = signed_in("kadis", "dasbor")
    frozen = gc.get_freeze_count()
    assert frozen > 0
    app.run()
    assert not app.exception
    assert gc.get_freeze_count() == frozen
