"""Frontier speed: 100,000 items x 3 tiers on a 101 x 101 per-tier threshold grid (10,201 settings), and the
exact fronts the sweep now draws: every setting at the observed confidence values (a quantile subset of 141 per
tier keeping every largest value, ~20,000 settings), 1,000 shared values and the skip-ahead family.

Target (issue 4): under 2 s on this machine (2 cores). Prints the ratio against recomputing the cascade per
threshold setting, both as a pure-Python loop and as the usual numpy loop over settings. Those two are timed
on a subset of settings and extrapolated linearly to the full grid (each setting costs the same: one pass over
every item); the script says so beside each figure and checks that all three agree on the subset.

    .venv/bin/python bench/bench_frontier.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cascade_core.sweep.candidates import per_tier_candidates, shared_candidates, skip_candidates
from cascade_core.sweep.frontier import evaluate, per_tier_points, per_tier_thresholds, shared_threshold_points
from cascade_core.sweep.outcomes import OutcomeMatrix
from cascade_core.sweep.pareto import pareto_front
from cascade_core.sweep.policies import setting_points
from cascade_core.sweep.references import reference_points
from tests.frontier_naive import evaluate_loop, evaluate_per_setting

N_ITEMS, SEED = 100_000, 0
LOOP_SUBSET, NUMPY_SUBSET = 5, 300  # settings timed for the slow variants


def synthetic(n: int, seed: int) -> OutcomeMatrix:
    """3 tiers sharing a latent difficulty per item; noisy confidence; per-item costs near FACTS.md ratios."""
    rng = np.random.default_rng(seed)
    difficulty = rng.random(n)
    p_right = np.clip(np.array([0.63, 0.81, 0.85]) - (difficulty[:, None] - 0.5) * 0.8, 0.02, 0.99)
    right = rng.random((n, 3)) < p_right
    conf = np.clip(np.where(right, rng.beta(6, 2, (n, 3)), rng.beta(3, 3, (n, 3))), 0, 1)
    conf[rng.random((n, 3)) < 0.02] = np.nan  # unparsable confidences
    cost = np.array([3.8e-5, 1.7e-4, 5.7e-4]) * rng.lognormal(0, 0.3, (n, 3))
    latency = np.array([300.0, 900.0, 2500.0]) * rng.lognormal(0, 0.2, (n, 3))
    none = np.full(n, None, dtype=object)
    ids = np.array([f"q{i}" for i in range(n)])
    return OutcomeMatrix(ids, ("small", "mid", "large"), right.astype(float), conf, cost, latency, none, none)


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    mat = synthetic(N_ITEMS, SEED)
    grid = per_tier_thresholds(mat)  # 101 x 101
    m = len(grid)
    print(f"synthetic outcome matrix: {mat.n_items:,} items x {mat.n_tiers} tiers (seed {SEED}); grid {m:,} settings")

    t_eval, res = timed(lambda: evaluate(mat, grid))
    t_points, points = timed(lambda: per_tier_points(mat))
    t_shared, shared = timed(lambda: shared_threshold_points(mat))
    t_front, _ = timed(lambda: (pareto_front(points), pareto_front(shared), reference_points(mat)))
    total = t_points + t_shared + t_front
    print(f"  evaluate, 101 x 101 per-tier grid:        {t_eval:8.3f} s  (median of 5)")
    print(f"  per_tier_points (with FrontierPoints):    {t_points:8.3f} s")
    print(f"  shared_threshold_points (101):            {t_shared:8.3f} s")
    print(f"  Pareto fronts + reference points:         {t_front:8.3f} s")
    verdict = "met" if total < 2 else "MISSED"
    print(f"  whole frontier (points, fronts, refs):    {total:8.3f} s  (target < 2 s: {verdict})")

    def exact() -> tuple[int, object]:
        per, shared = per_tier_candidates(mat), shared_candidates(mat)
        acc, skip = skip_candidates(mat)
        pts = [setting_points(mat, per, "per_tier"), setting_points(mat, shared, "shared"),
               setting_points(mat, acc, "skip", skip)]
        return sum(map(len, pts)), ([pareto_front(p) for p in pts], reference_points(mat))

    t_exact, (n_exact, _) = timed(exact, repeat=3)
    verdict = "met" if t_exact < 2 else "MISSED"
    print(f"  exact fronts at observed values ({n_exact:,} settings: per-tier, shared, skip-ahead), with fronts "
          f"and references: {t_exact:.3f} s  (median of 3; target < 2 s: {verdict})")

    rng = np.random.default_rng(1)
    pick_loop = rng.choice(m, LOOP_SUBSET, replace=False)
    pick_numpy = rng.choice(m, NUMPY_SUBSET, replace=False)
    start = time.perf_counter()
    loop = evaluate_loop(mat, grid[pick_loop])
    t_loop = (time.perf_counter() - start) / LOOP_SUBSET * m
    start = time.perf_counter()
    per = evaluate_per_setting(mat, grid[pick_numpy])
    t_numpy = (time.perf_counter() - start) / NUMPY_SUBSET * m
    for key in ("accuracy", "mean_cost", "mean_latency_ms", "tier_share"):
        np.testing.assert_allclose(loop[key], res[key][pick_loop], rtol=1e-9, err_msg=key)
        np.testing.assert_allclose(per[key], res[key][pick_numpy], rtol=1e-9, err_msg=key)
    print(f"  agreement: vectorised == Python loop on {LOOP_SUBSET} settings, == numpy loop on {NUMPY_SUBSET}: yes")
    print(f"  Python loop per setting and item:  {t_loop:10.1f} s for the grid  (extrapolated from {LOOP_SUBSET})")
    print(f"  numpy loop over settings:          {t_numpy:10.1f} s for the grid  (extrapolated from {NUMPY_SUBSET})")
    print(f"  speed-up of evaluate: {t_loop / t_eval:,.0f}x vs the Python loop, {t_numpy / t_eval:,.0f}x vs numpy loop")


if __name__ == "__main__":
    main()
