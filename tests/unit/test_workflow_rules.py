"""The recording rules of services.workflow.model, without a database: who performed, who
recorded, which unit submits, who may start and cancel, and what a title or period may be.
The live engine and the import both apply exactly these (tests/db cover the storing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.errors import InvalidInput, PermissionDenied
from services.workflow.model import (
    Attribution,
    CaseState,
    Performer,
    Person,
    SopPlan,
    StepPlan,
    attribute,
    check_may_start,
    checked_period_label,
    checked_title,
    submitting_unit,
)

STEP = StepPlan(step_id=1, seq=2, label="2", role="Sekretaris", role_id=2, target_kind="none",
                target_minutes=None, approve_seq=None, return_seq=None, multi_unit=False)
MULTI = StepPlan(step_id=3, seq=3, label="3", role="Bidang", role_id=3, target_kind="none",
                 target_minutes=None, approve_seq=None, return_seq=None, multi_unit=True)
PLAN = SopPlan(code="x", name="Contoh", version=1, version_id=1, steps=(
    StepPlan(step_id=0, seq=1, label="1", role="Kadis", role_id=1, target_kind="none",
             target_minutes=None, approve_seq=None, return_seq=None, multi_unit=False),
    STEP, MULTI))
SEKRETARIS = Person("sekretaris", 2, frozenset({"Sekretaris"}), unit_id=10)
FUNGSIONAL = Person("fungsional", 3, frozenset({"Fungsional"}), may_record=True, unit_id=10)
ARSIPARIS = Person("arsiparis", 4, frozenset({"Pengadministrasi"}), unit_id=10)
ARSIP = Person("arsip", 5, frozenset({"Bidang"}), unit_id=20)
NAME_ONLY = Person("bu.ani", None)  # imported history: no account
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def test_the_recorder_performs_only_a_step_of_their_role() -> None:
    assert attribute(STEP, recorder=SEKRETARIS, performer=Performer.RECORDER) == \
        Attribution(SEKRETARIS, SEKRETARIS)
    with pytest.raises(PermissionDenied, match="pilih pelaksananya"):  # a recorder is told how
        attribute(STEP, recorder=FUNGSIONAL, performer=Performer.RECORDER)
    with pytest.raises(PermissionDenied, match="tidak berwenang mencatat atas nama peran lain"):
        attribute(STEP, recorder=ARSIPARIS, performer=Performer.RECORDER)


def test_an_unknown_performer_is_recorded_by_a_recorder_only() -> None:
    assert attribute(STEP, recorder=FUNGSIONAL, performer=Performer.UNKNOWN) == \
        Attribution(None, FUNGSIONAL)
    with pytest.raises(PermissionDenied):
        attribute(STEP, recorder=ARSIPARIS, performer=Performer.UNKNOWN)
    # Imported history naming no one, or a recorder without an account: nothing to check.
    assert attribute(STEP, recorder=None, performer=Performer.UNKNOWN) == Attribution(None, None)
    assert attribute(STEP, recorder=NAME_ONLY, performer=Performer.UNKNOWN).recorder == NAME_ONLY


def test_a_named_performer_holds_the_role_and_someone_else_records_with_permission() -> None:
    assert attribute(STEP, recorder=FUNGSIONAL, performer=SEKRETARIS) == \
        Attribution(SEKRETARIS, FUNGSIONAL)
    assert attribute(STEP, recorder=SEKRETARIS, performer=SEKRETARIS).performer == SEKRETARIS
    assert attribute(STEP, recorder=None, performer=SEKRETARIS).performer == SEKRETARIS
    with pytest.raises(InvalidInput, match="'arsip' tidak memegang peran Sekretaris"):
        attribute(STEP, recorder=FUNGSIONAL, performer=ARSIP)
    with pytest.raises(PermissionDenied, match="'arsiparis' tidak berwenang"):
        attribute(STEP, recorder=ARSIPARIS, performer=SEKRETARIS)
    assert attribute(STEP, recorder=None, performer=NAME_ONLY).performer == NAME_ONLY


def test_a_unit_submits_for_itself_and_a_recorder_for_any() -> None:
    own = attribute(MULTI, recorder=ARSIP, performer=Performer.RECORDER)
    assert submitting_unit(MULTI, unit_id=None, attribution=own) == 20
    assert submitting_unit(MULTI, unit_id=20, attribution=own) == 20
    with pytest.raises(PermissionDenied, match="unit Anda sendiri"):
        submitting_unit(MULTI, unit_id=30, attribution=own)
    recorded = attribute(MULTI, recorder=FUNGSIONAL, performer=Performer.UNKNOWN)
    assert submitting_unit(MULTI, unit_id=30, attribution=recorded) == 30
    with pytest.raises(InvalidInput, match="pilih unitnya"):
        submitting_unit(MULTI, unit_id=None, attribution=recorded)
    assert submitting_unit(STEP, unit_id=30, attribution=recorded) is None


def test_who_starts_and_who_cancels() -> None:
    check_may_start(PLAN, FUNGSIONAL)  # a recorder
    check_may_start(PLAN, Person("kadis", 1, frozenset({"Kadis"})))  # the first step's role
    check_may_start(PLAN, NAME_ONLY)
    with pytest.raises(PermissionDenied, match="'sekretaris' tidak berwenang memulainya"):
        check_may_start(PLAN, SEKRETARIS)
    state, _ = CaseState.start(plan=PLAN, at=NOW, now=NOW, title="Kasus contoh",
                               starter=FUNGSIONAL)
    with pytest.raises(PermissionDenied, match="yang memulainya"):
        state.cancel(at=NOW, now=NOW, reason="Salah", by=ARSIPARIS)
    assert state.cancel(at=NOW, now=NOW, reason="Salah", by=FUNGSIONAL)  # who started it


@pytest.mark.parametrize(("title", "accepted"), [("ab", False), ("abc", True), ("  abc  ", True),
                                                  ("x" * 200, True), ("x" * 201, False),
                                                  ("", False), (None, False)])
def test_titles_are_three_to_two_hundred_characters(title: str | None, accepted: bool) -> None:
    if accepted:
        assert checked_title(title) == (title or "").strip()
    else:
        with pytest.raises(InvalidInput, match="Judul kasus wajib diisi"):
            checked_title(title)


def test_period_labels_are_at_most_forty_characters() -> None:
    assert checked_period_label(" 2026-TW1 ") == "2026-TW1"
    assert checked_period_label("") is None
    with pytest.raises(InvalidInput, match="Periode terlalu panjang: 41 karakter, maksimal 40"):
        checked_period_label("x" * 41)


def test_the_facts_and_log_rows_are_read_only_to_the_type_checker() -> None:
    """`value_object` builds them without `frozen=True` (six times faster to make), so the
    type checker is what keeps them immutable: assigning to any of their fields is an error
    in `make lint`."""
    from mypy import api

    from services.workflow import model, replay

    classes = [model.Attribution, model.EventFact, model.VisitOpened, model.VisitBegun,
               model.UnitSubmitted, model.VisitEnded, model.CaseStarted, model.CaseEnded,
               replay.LogEvent]
    lines = ["from typing import Any", "from services.workflow import model, replay"]
    for cls in classes:
        module = "replay" if cls is replay.LogEvent else "model"
        field = next(iter(cls.__dataclass_fields__))
        lines += [f"def set_{cls.__name__}(value: {module}.{cls.__name__}, new: Any) -> None:",
                  f"    value.{field} = new"]
    report, _, status = api.run(["--config-file=", "--no-incremental", "--cache-dir=/dev/null",
                                 "--follow-imports=silent",
                                 "--python-version=3.11", "-c", "\n".join(lines)])
    assert status == 1
    assert report.count("is read-only") == len(classes), report
