"""Coverage of the certified recommendation: does the pick keep its promise on new questions?

Repeats random calibration / held-out splits (at least 100) and reports, for the certified pick (Learn-then-Test,
exact binomial tests, target 0.98 of always-large quality, risk delta 0.1) and for the naive rule ("the cheapest
setting that clears the target on calibration"), how often the pick keeps the target on the held-out questions,
and the savings it keeps. The certified rate must be at least 1 - delta.

1. RouteLLM's recorded MMLU results (real Mixtral-8x7B vs GPT-4-1106 correctness on 14,042 questions; from
   /work/shared/datasets/routellm, skipped when absent). They carry no confidence: the small model's confidence
   is drawn from its real correctness with AUROC about 0.75 (semi-synthetic). Costs per question as in the
   README's import example (0.0006 / 0.01 USD).
2. Generated 3-tier data with a shared latent difficulty (a population of 100,000 questions): held-out figures
   and the population's own ("truth") figures.

    .venv/bin/python bench/bench_coverage.py [--splits 100] [--calibration 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cascade_core.sweep.calibration import auroc
from cascade_core.sweep.candidates import per_tier_candidates, shared_candidates, skip_candidates
from cascade_core.sweep.certify import certify, measure
from cascade_core.sweep.frontier import FrontierPoint
from cascade_core.sweep.outcomes import OutcomeMatrix, to_matrix
from cascade_core.sweep.recommend import recommend

ROUTELLM = Path("/work/shared/datasets/routellm/mmlu/responses")
TARGET, DELTA = 0.98, 0.1


def routellm(seed: int = 0) -> OutcomeMatrix | None:
    if not ROUTELLM.is_dir():
        return None
    from cascade_core.sweep.importer import import_results

    small, large = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    table = import_results(sorted(ROUTELLM.glob("*.csv")), format="wide", tiers=[small, large],
                           default_costs={small: 0.0006, large: 0.01}).outcomes
    rng = np.random.default_rng(seed)
    right = table["correct"].astype(float).to_numpy()
    table["confidence"] = 1 / (1 + np.exp(-(0.9 * (2 * right - 1) + rng.normal(0, 1.6, len(table)) + 0.6)))
    table.loc[table["tier_index"] == 1, "confidence"] = np.nan
    return to_matrix(table)


def generated(n: int, seed: int = 0) -> OutcomeMatrix:
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, n)
    margin = np.array([0.5, 1.1, 1.3]) + 0.3 * rng.normal(0, 1, (n, 3)) - difficulty[:, None]
    right = margin > 0
    sensed = margin + 1.3 * rng.normal(0, 1, (n, 3))
    conf = 1 / (1 + np.exp(-(1.4 * sensed + 0.7)))
    conf = np.where(~right & (rng.random((n, 3)) < 0.05), 0.95, conf).round(3)  # some confidently wrong
    cost = np.array([3.8e-5, 1.7e-4, 5.7e-4]) * rng.lognormal(0, 0.3, (n, 3))
    none = np.full(n, None, dtype=object)
    return OutcomeMatrix(np.array([f"g{i}" for i in range(n)]), ("small", "mid", "large"), right.astype(float),
                         conf, cost, np.full((n, 3), np.nan), none, none)


def families(matrix: OutcomeMatrix) -> list:
    fams = [("per_tier", per_tier_candidates(matrix, 60), None, 0), ("shared", shared_candidates(matrix, 200), None, 0)]
    if matrix.n_tiers > 2:
        acc, skip = skip_candidates(matrix, 6, 20)
        fams.append(("skip", acc, skip, 0))
    return fams


def study(name: str, matrix: OutcomeMatrix, splits: int, n_cal: int, n_hold: int | None,
          population: OutcomeMatrix | None = None) -> None:
    fams = families(matrix)
    rows = {"certified": [], "naive": []}
    started = time.perf_counter()
    for s in range(splits):
        rng = np.random.default_rng(1000 + s)
        order = rng.permutation(matrix.n_items)
        cal = np.zeros(matrix.n_items, dtype=bool)
        cal[order[:n_cal]] = True
        hold = np.zeros(matrix.n_items, dtype=bool)
        hold[order[n_cal:] if n_hold is None else order[n_cal:n_cal + n_hold]] = True
        cert = certify(matrix, calibration_mask=cal, holdout_mask=hold, families=fams, target=TARGET, delta=DELTA,
                       seed=s)
        naive = recommend(matrix, TARGET, calibration_mask=cal, holdout_mask=hold, n_boot=1, seed=s,
                          candidates=[(k, a) for k, a, skip, _ in fams if skip is None])
        naive_point = None if naive.thresholds is None else FrontierPoint(naive.thresholds, 0, 0, 0, (), "per_tier")
        held = matrix.subset(hold)
        for key, point in (("certified", cert.point), ("naive", naive_point)):
            m = measure(held, point)
            truth = measure(population, point) if population is not None else None
            rows[key].append((m.quality_retained >= TARGET - 1e-12, m.savings, point is not None,
                              None if truth is None else truth.quality_retained >= TARGET - 1e-12))
    took = time.perf_counter() - started
    print(f"\n{name}: {splits} random splits, {n_cal:,} calibration questions, "
          f"{'all the rest' if n_hold is None else f'{n_hold:,}'} held out; target {TARGET:.0%} of always-large "
          f"quality, risk {DELTA:.0%} ({took:.0f} s)")
    for key, rs in rows.items():
        arr = np.array([(r[0], r[1], r[2]) for r in rs], dtype=float)
        line = (f"  {key:>9}: holds on held-out in {arr[:, 0].mean():.0%} of splits; savings kept on held-out: "
                f"median {np.median(arr[:, 1]):.1%} (mean {arr[:, 1].mean():.1%}); a cascade picked in "
                f"{arr[:, 2].mean():.0%}")
        if rs[0][3] is not None:
            line += f"; holds on the whole population in {np.mean([r[3] for r in rs]):.0%}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--calibration", type=int, default=1000)
    args = parser.parse_args()
    real = routellm()
    if real is None:
        print("RouteLLM results not found under /work/shared/datasets: skipped")
    else:
        print(f"RouteLLM MMLU: {real.n_items:,} questions, tiers {' -> '.join(real.tiers)}; synthetic confidence "
              f"AUROC {auroc(real.confidence[:, 0], real.correct[:, 0]):.2f}")
        study("RouteLLM MMLU (real correctness, synthetic confidence)", real, args.splits, args.calibration, None)
    pop = generated(100_000)
    print(f"\nGenerated: {pop.n_items:,} questions, AUROC "
          + " / ".join(f"{auroc(pop.confidence[:, k], pop.correct[:, k]):.2f}" for k in range(3)))
    sample = pop.subset(np.arange(20_000))
    study("Generated 3 tiers", sample, args.splits, args.calibration, 2000, population=pop)


if __name__ == "__main__":
    main()
