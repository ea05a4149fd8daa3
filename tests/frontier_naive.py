"""Straightforward cascade replays, one setting at a time: the specification of `frontier.evaluate` in code.

Slow on purpose; used by tests (to check the vectorised path) and by bench/bench_frontier.py (to time it).
"""

from __future__ import annotations

import math

import numpy as np

from cascade_core.sweep.outcomes import OutcomeMatrix


def evaluate_loop(matrix: OutcomeMatrix, thresholds: np.ndarray) -> dict[str, np.ndarray]:
    """Pure-Python replay: for every setting, every item walks the tiers. Same output as `evaluate`."""
    thr = np.atleast_2d(np.asarray(thresholds, dtype=float)).tolist()
    conf, correct = matrix.confidence.tolist(), matrix.correct.tolist()
    cost, lat = matrix.cost.tolist(), matrix.latency.tolist()
    n, t = matrix.n_items, matrix.n_tiers
    out: dict[str, list] = {k: [] for k in ("accuracy", "n_graded", "mean_cost", "mean_latency_ms", "tier_share")}
    for setting in thr:
        right = graded = 0
        total_cost = total_lat = 0.0
        lat_items = 0
        share = [0] * t
        for i in range(n):
            spent = spent_lat = 0.0
            k = 0
            while True:
                spent += cost[i][k]
                spent_lat += lat[i][k]
                c = conf[i][k]
                if k == t - 1 or (not math.isnan(c) and c >= setting[k]):
                    break
                k += 1
            share[k] += 1
            total_cost += spent
            if not math.isnan(spent_lat):
                total_lat += spent_lat
                lat_items += 1
            if not math.isnan(correct[i][k]):
                graded += 1
                right += correct[i][k] == 1
        out["accuracy"].append(right / graded if graded else math.nan)
        out["n_graded"].append(graded)
        out["mean_cost"].append(total_cost / n)
        out["mean_latency_ms"].append(total_lat / lat_items if lat_items else math.nan)
        out["tier_share"].append([s / n for s in share])
    res = {k: np.array(v, dtype=float) for k, v in out.items()}
    res["n_graded"] = res["n_graded"].astype(int)
    res["cost_per_1k"] = res["mean_cost"] * 1000.0
    return res


def evaluate_per_setting(matrix: OutcomeMatrix, thresholds: np.ndarray) -> dict[str, np.ndarray]:
    """Python loop over settings, numpy over items: the usual way a sweep is written. Same output as `evaluate`."""
    thr = np.atleast_2d(np.asarray(thresholds, dtype=float))
    n, t = matrix.n_items, matrix.n_tiers
    rows = np.arange(n)
    cum_cost = np.cumsum(matrix.cost, axis=1)
    cum_lat = np.cumsum(matrix.latency, axis=1)
    res: dict[str, list] = {k: [] for k in ("accuracy", "n_graded", "mean_cost", "mean_latency_ms", "tier_share")}
    for setting in thr:
        accept = matrix.confidence[:, :-1] >= setting
        tier = np.where(accept.any(axis=1), np.argmax(accept, axis=1), t - 1) if t > 1 else np.zeros(n, dtype=int)
        got = matrix.correct[rows, tier]
        graded = ~np.isnan(got)
        lat = cum_lat[rows, tier]
        res["accuracy"].append((got[graded] == 1).sum() / graded.sum() if graded.any() else np.nan)
        res["n_graded"].append(int(graded.sum()))
        res["mean_cost"].append(cum_cost[rows, tier].sum() / n)
        res["mean_latency_ms"].append(np.nanmean(lat) if (~np.isnan(lat)).any() else np.nan)
        res["tier_share"].append(np.bincount(tier, minlength=t) / n)
    out = {k: np.array(v, dtype=float) for k, v in res.items()}
    out["n_graded"] = out["n_graded"].astype(int)
    out["cost_per_1k"] = out["mean_cost"] * 1000.0
    return out
