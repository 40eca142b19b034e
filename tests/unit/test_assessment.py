"""The pre-filled Tabel 7 assessment against the admin's thresholds, on hand-made step figures
on both sides of each threshold."""

from __future__ import annotations

import pytest

from services.metrics import StepMetrics
from services.reports.forms import GOOD, NOT_GOOD, Thresholds, assess_step

THRESHOLDS = Thresholds(min_compliance=0.8, max_return_rate=0.2)


def step(*, ended: int, with_target: int, within: int, returns: int = 0,
         open_visits: int = 0, is_decision: bool = False) -> StepMetrics:
    """Figures as the metrics service gives them (its rates are tested there)."""
    decisions = ended if is_decision else 0
    return StepMetrics(seq=5, label="5", role="Sekretaris",
                       target_minutes=60 if with_target else None, is_decision=is_decision,
                       visits_ended=ended, visits_with_target=with_target,
                       duration_median=30.0, duration_p90=50.0, duration_mean=32.0,
                       within_target=within,
                       compliance_rate=within / with_target if with_target else None,
                       returns=returns, decisions=decisions,
                       return_rate=returns / decisions if decisions else None,
                       overrun_minutes=0.0, open_visits=open_visits)


@pytest.mark.parametrize(("within", "expected"), [(8, GOOD), (7, NOT_GOOD), (10, GOOD)])
def test_compliance_threshold(within: int, expected: str) -> None:
    result = assess_step(step(ended=10, with_target=10, within=within, is_decision=False),
                         thresholds=THRESHOLDS)
    assert result.assessment == expected
    assert result.compliance == pytest.approx(within / 10)
    assert result.note == f"{within} dari 10 kunjungan dalam Mutu Baku."
    assert ("Telusuri penyebab keterlambatan" in result.action) == (expected == NOT_GOOD)


@pytest.mark.parametrize(("returns", "expected"), [(2, GOOD), (3, NOT_GOOD), (0, GOOD)])
def test_return_threshold_at_a_decision_step(returns: int, expected: str) -> None:
    result = assess_step(step(ended=10, with_target=10, within=10, returns=returns, is_decision=True), thresholds=THRESHOLDS)
    assert result.assessment == expected
    assert result.return_rate == pytest.approx(returns / 10)
    assert result.note == (f"10 dari 10 kunjungan dalam Mutu Baku; {returns} pengembalian dari "
                           "10 keputusan.")
    assert ("Perjelas persyaratan" in result.action) == (expected == NOT_GOOD)


def test_returns_do_not_count_outside_decision_steps() -> None:
    result = assess_step(step(ended=10, with_target=10, within=10, returns=5, is_decision=False),
                         thresholds=THRESHOLDS)
    assert result.assessment == GOOD and result.return_rate is None


def test_both_thresholds_failing_give_both_actions() -> None:
    result = assess_step(step(ended=4, with_target=4, within=1, returns=2, open_visits=3, is_decision=True), thresholds=THRESHOLDS)
    assert result.assessment == NOT_GOOD
    assert result.note == ("1 dari 4 kunjungan dalam Mutu Baku; 2 pengembalian dari 4 "
                           "keputusan; 3 masih berjalan.")
    assert "Telusuri" in result.action and "Perjelas" in result.action


def test_the_admin_thresholds_move_the_verdict() -> None:
    figures = step(ended=10, with_target=10, within=7)
    strict = assess_step(figures, thresholds=THRESHOLDS)
    lenient = assess_step(figures,
                          thresholds=Thresholds(min_compliance=0.7, max_return_rate=0.2))
    assert (strict.assessment, lenient.assessment) == (NOT_GOOD, GOOD)


def test_step_without_target_is_judged_on_returns_alone() -> None:
    result = assess_step(step(ended=6, with_target=0, within=0, returns=1, is_decision=True),
                         thresholds=THRESHOLDS)
    assert result.compliance is None and result.assessment == GOOD
    assert result.note == ("6 kunjungan selesai (tanpa Mutu Baku terukur); 1 pengembalian dari "
                           "6 keputusan.")


def test_nothing_ended_leaves_the_assessment_to_the_evaluator() -> None:
    result = assess_step(step(ended=0, with_target=0, within=0, open_visits=2, is_decision=False), thresholds=THRESHOLDS)
    assert result.assessment is None and result.action == ""
    assert result.note == "Belum ada kunjungan yang selesai pada periode ini; 2 masih berjalan."
