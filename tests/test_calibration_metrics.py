"""Calibration figures (reliability bins, ECE, AUROC, overconfidence) and peer metrics (APGR, CPT, AIQ)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cascade_core.sweep.calibration import (
    auroc,
    average_ranks,
    calibration_report,
    expected_calibration_error,
    overconfidence,
    reliability_bins,
    top_confidence_share_of_wrong,
)
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.outcomes import OutcomeMatrix
from cascade_core.sweep.summary_metrics import aiq, apgr, cost_to_recover, non_decreasing_hull, summary_metrics

NAN = float("nan")


def test_auroc_known_values():
    assert auroc(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 0])) == 1.0
    assert auroc(np.array([0.9, 0.8, 0.7, 0.6]), np.array([0, 0, 1, 1])) == 0.0
    assert auroc(np.full(4, 0.5), np.array([1, 0, 1, 0])) == 0.5  # all tied
    # Right {0.9, 0.7}, wrong {0.7, 0.3}: pairs 0.9>0.7, 0.9>0.3, 0.7=0.7 (1/2), 0.7>0.3 -> 3.5 / 4.
    assert auroc(np.array([0.9, 0.7, 0.7, 0.3]), np.array([1, 0, 1, 0])) == 0.875
    assert math.isnan(auroc(np.array([0.9, 0.8]), np.array([1, 1])))  # one class only
    # Missing confidence or grade is left out: the NaN pair would otherwise count.
    assert auroc(np.array([0.9, NAN, 0.1, 0.5]), np.array([1, 0, 0, NAN])) == 1.0


def test_average_ranks_ties():
    assert average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_ece_and_bins_known_values():
    conf = np.array([0.95, 0.95, 0.15, 0.15])
    right = np.array([1, 0, 0, 0])
    # Bin [0.9, 1.0]: confidence 0.95, accuracy 0.5, weight 1/2 -> 0.225; bin [0.1, 0.2): 0.15 vs 0 -> 0.075.
    assert expected_calibration_error(conf, right) == pytest.approx(0.3)
    bins = reliability_bins(conf, right)
    assert bins["count"].tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]
    assert bins.loc[9, "accuracy"] == 0.5 and math.isnan(bins.loc[0, "accuracy"])
    assert reliability_bins(np.array([1.0]), np.array([1]))["count"].iloc[-1] == 1  # 1.0 lands in the last bin
    assert expected_calibration_error(np.array([0.5, 0.5]), np.array([1, 0])) == 0.0  # perfectly calibrated
    assert math.isnan(expected_calibration_error(np.array([NAN]), np.array([1])))


def test_overconfidence():
    conf = np.array([0.95, 0.92, 0.95, 0.5, 0.4])
    right = np.array([1, 0, 0, 0, 0])
    assert overconfidence(conf, right) == pytest.approx(2 / 3)  # 3 answers at >= 0.9, 2 wrong
    assert top_confidence_share_of_wrong(conf, right) == 0.5  # 4 wrong answers, 2 at top confidence
    assert math.isnan(overconfidence(np.array([0.1]), np.array([0])))


def test_calibration_report_per_tier():
    n = 4
    conf = np.array([[0.9, NAN], [0.8, NAN], [0.7, NAN], [0.6, NAN]])
    correct = np.array([[1, 1], [1, 0], [0, 1], [0, 1]], dtype=float)
    none = np.full(n, None, dtype=object)
    mat = OutcomeMatrix(np.array(list("abcd")), ("s", "l"), correct, conf, np.ones((n, 2)), np.ones((n, 2)), none, none)
    small, large = calibration_report(mat)
    assert small.tier == "s" and small.n == 4 and small.auroc == 1.0 and small.accuracy == 0.5
    assert large.n == 0 and math.isnan(large.ece) and math.isnan(large.auroc)


def point(cost_per_item: float, acc: float, label: str = "", kind: str = "per_tier") -> FrontierPoint:
    return FrontierPoint((), acc, cost_per_item * 1000, 0.0, (), kind, label)  # type: ignore[arg-type]


SMALL = point(1.0, 0.5, "always s", "always")
LARGE = point(11.0, 0.9, "always l", "always")


def test_apgr_and_cpt_toy():
    # One cascade point at cost 6 (x = 0.5) with accuracy 0.8, plus a dominated one.
    pts = [point(6.0, 0.8), point(8.0, 0.7)]
    # Curve (0, 0.5) - (0.5, 0.8) - (1, 0.9): area 0.5 * 1.3 / 2 + 0.5 * 1.7 / 2 = 0.75; APGR (0.75 - 0.5) / 0.4.
    assert apgr(pts, SMALL, LARGE) == pytest.approx(0.625)
    assert apgr([], SMALL, LARGE) == pytest.approx(0.5)  # straight line from S to L recovers half the gap
    # CPT(50%): level 0.7 -> x = 0.5 * 0.2 / 0.3 = 1/3 -> cost 1 + 10/3 per item.
    cpt50 = cost_to_recover(pts, SMALL, LARGE, 0.5)
    assert cpt50.normalised == pytest.approx(1 / 3)
    assert cpt50.cost_per_1k == pytest.approx(1000 * (1 + 10 / 3))
    assert cpt50.pct_of_large == pytest.approx(100 * (1 + 10 / 3) / 11)
    # CPT(80%): level 0.82 -> x = 0.5 + 0.5 * 0.02 / 0.1 = 0.6 -> cost 7.
    assert cost_to_recover(pts, SMALL, LARGE, 0.8).cost_per_1k == pytest.approx(7000)
    assert math.isnan(cost_to_recover(pts, SMALL, LARGE, 1.5).cost_per_1k)  # never reached


def test_apgr_when_cascade_beats_large():
    # A point at x = 0.5 already at 0.9: curve (0, .5) - (.5, .9), then flat; area .35 + .45 = .8 -> 0.75.
    assert apgr([point(6.0, 0.9)], SMALL, LARGE) == pytest.approx(0.75)
    assert math.isnan(apgr([], SMALL, point(11.0, 0.5)))  # no gap


def test_aiq_toy():
    s, p, q, r, big = point(1, 0.5), point(6, 0.8), point(6, 0.6), point(3, 0.55), point(11, 0.9)
    # Hull S (1, .5) - P (6, .8) - L (11, .9); R lies under the chord S-P (0.62 at 3), Q under P.
    hx, hq = non_decreasing_hull(np.array([1.0, 6, 6, 3, 11]), np.array([0.5, 0.8, 0.6, 0.55, 0.9]))
    assert hx.tolist() == [1, 6, 11] and hq.tolist() == [0.5, 0.8, 0.9]
    # Cost range [1, 11]: x = 0, .5, 1 -> area 0.75.
    assert aiq([s, p, q, r, big]) == pytest.approx(0.75)
    # A dearer, worse point T (13, .85) widens the range to [1, 13]; the hull stays flat at .9 after L:
    # (5/12) * 1.3 / 2 + (5/12) * 1.7 / 2 + (2/12) * 0.9 = 0.775.
    assert aiq([s, p, q, r, big, point(13, 0.85)]) == pytest.approx(0.775)
    # On a wider common range the curve is 0 left of its cheapest point: [0, 11] -> 0.75 * 10 / 11.
    assert aiq([s, p, big], cost_range=(0.0, 11.0)) == pytest.approx(0.75 * 10 / 11)


def test_summary_metrics():
    m = summary_metrics([point(6.0, 0.8)], SMALL, LARGE)
    assert m.apgr == pytest.approx(0.625) and m.aiq == pytest.approx(0.75)
    assert m.cpt50.share == 0.5 and m.cpt80.cost_per_1k == pytest.approx(7000)
