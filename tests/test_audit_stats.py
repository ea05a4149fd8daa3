"""Wilson intervals and Cohen's kappa against known values."""

from __future__ import annotations

import pytest

from cascade_core.audit import cohen_kappa, proportion, wilson_interval
from cascade_core.audit.stats import agreement


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (1, 20, 0.0089, 0.2361),
    (0, 50, 0.0, 0.07135),
    (50, 50, 0.92865, 1.0),
    (8, 20, 0.2188, 0.6134),
])
def test_wilson_known_values(k: int, n: int, low: float, high: float) -> None:
    got_low, got_high = wilson_interval(k, n)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_edges_and_errors() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 7)[0] == 0.0 and wilson_interval(7, 7)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    share = proportion(3, 12)
    assert share.rate == 0.25 and share.low < 0.25 < share.high
    assert proportion(0, 0).rate is None


def test_cohen_kappa_known_values() -> None:
    # The textbook example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> po 0.7, pe 0.5, kappa 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement 1: undefined
    assert cohen_kappa([], []) is None


def test_agreement_needs_enough_reviews() -> None:
    few = agreement(["correct"] * 3, ["correct"] * 3, min_reviews=10)
    assert few.kappa is None and "at least 10" in few.note and few.agree == 3
    judge = ["correct"] * 6 + ["incorrect"] * 6
    human = ["correct"] * 5 + ["incorrect"] * 7
    many = agreement(judge, human, min_reviews=10)
    assert many.n == 12 and many.agree == 11
    assert many.kappa == pytest.approx(cohen_kappa(judge, human))


def test_kappa_is_undefined_when_a_rater_used_one_label() -> None:
    """The judge said 'correct' every time and the reviewer disagreed once: kappa would read 0.0, as if the two
    agreed no better than chance; it is undefined, and the note says why."""
    judge = ["correct"] * 12
    human = ["correct"] * 11 + ["incorrect"]
    one_verdict = agreement(judge, human, min_reviews=10)
    assert one_verdict.kappa is None and one_verdict.agree == 11
    assert one_verdict.note == "the judge used only one verdict in the reviewed items: kappa is undefined"
    one_review = agreement(["correct"] * 6 + ["incorrect"] * 6, ["correct"] * 12, min_reviews=10)
    assert one_review.kappa is None and "only one label" in one_review.note
    judge, human = ["correct"] * 11 + ["incorrect"], ["correct"] * 10 + ["incorrect"] * 2
    both = agreement(judge, human, min_reviews=10)
    assert both.kappa == pytest.approx(cohen_kappa(judge, human)) and both.note == ""
