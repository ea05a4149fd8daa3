"""Recommend an operating point: pick on a calibration split, report on a held-out split with bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cascade_core.sweep.frontier import answer_tiers, evaluate, per_tier_thresholds, shared_thresholds, threshold_grid
from cascade_core.sweep.outcomes import OutcomeMatrix

CALIBRATION_VALUES = frozenset({"train", "calibration", "calib", "cal"})
HOLDOUT_VALUES = frozenset({"test", "holdout", "hold-out", "heldout", "held-out"})
MIN_ITEMS = 200  # fewer held-out (or calibration) items than this: say plainly we cannot be sure
MAX_WIDTH = 0.10  # a 95% interval on quality retained wider than 10 points is too wide to be sure
_BOOT_CELLS = 2_000_000  # resamples x items per bootstrap chunk (bounds memory)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile-bootstrap 95% interval."""

    estimate: float
    low: float
    high: float

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class Recommendation:
    """The cheapest setting meeting the target on calibration data, as measured on held-out data.

    `thresholds` is None when the advice is to call the largest tier alone (`kind == "always_large"`).
    Savings are 1 - cost / always-large cost; quality retained is accuracy / always-large accuracy, both on
    the held-out split, with their bootstrap intervals (items resampled with replacement).
    """

    target: float
    kind: Literal["per_tier", "shared", "always_large"]
    thresholds: tuple[float, ...] | None
    n_calibration: int
    n_holdout: int
    calibration_accuracy: float
    calibration_large_accuracy: float
    calibration_cost_per_1k: float
    accuracy: Interval
    large_accuracy: Interval
    cost_per_1k: Interval
    large_cost_per_1k: float
    savings: Interval
    quality_retained: Interval
    tier_share: tuple[float, ...]
    probability_meets_target: float
    too_few: bool
    confidence_note: str


def split_masks(data: OutcomeMatrix | pd.DataFrame, split: str | float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (calibration, holdout) masks over items, in the order of `to_matrix` (first appearance).

    `split` is either a column name, whose values train/calibration/calib/cal mark calibration and
    test/holdout/held-out the held-out split (case-insensitive; any other value is an error), or a fraction in
    (0, 1) of items drawn at random (seeded) for calibration, the rest held out. An `OutcomeMatrix` only carries
    the `split` column; pass the outcome DataFrame to use another column.
    """
    if isinstance(split, float | int) and not isinstance(split, bool):
        ids = data.item_ids if isinstance(data, OutcomeMatrix) else pd.unique(data["item_id"])
        return _random_masks(np.asarray(ids, dtype=str), float(split), seed)
    values = _split_values(data, str(split))
    low = pd.Series(values, dtype=object).map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    cal, hold = low.isin(CALIBRATION_VALUES).to_numpy(), low.isin(HOLDOUT_VALUES).to_numpy()
    other = ~(cal | hold)
    if other.any():
        bad = sorted({str(v) for v in np.asarray(values, dtype=object)[other]})
        raise ValueError(
            f"split column {split!r}: {int(other.sum())} item(s) have values that mark neither split: {bad[:5]}; "
            f"use one of {sorted(CALIBRATION_VALUES)} or {sorted(HOLDOUT_VALUES)}"
        )
    return cal, hold


def _split_values(data: OutcomeMatrix | pd.DataFrame, column: str) -> np.ndarray:
    if isinstance(data, OutcomeMatrix):
        if column != "split":
            raise ValueError(f"an OutcomeMatrix only carries the 'split' column, not {column!r}; pass the DataFrame")
        return data.splits
    if column not in data.columns:
        raise ValueError(f"split column {column!r} not found; columns are {list(data.columns)}")
    items = pd.Index(pd.unique(data["item_id"]))
    per_item = data[["item_id", column]].dropna().drop_duplicates("item_id").set_index("item_id")[column]
    values: np.ndarray = per_item.reindex(items).to_numpy(dtype=object)
    return values


def _random_masks(item_ids: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded draw over items by id, so the same items land in the same split whatever the row order."""
    if not 0 < fraction < 1:
        raise ValueError(f"a split fraction must lie strictly between 0 and 1, got {fraction}")
    n = len(item_ids)
    n_cal = min(max(round(fraction * n), 1), n - 1) if n > 1 else n
    by_id = np.argsort(item_ids, kind="stable")
    cal = np.zeros(n, dtype=bool)
    cal[by_id[np.random.default_rng(seed).permutation(n)[:n_cal]]] = True
    return cal, ~cal


def default_candidates(matrix: OutcomeMatrix) -> tuple[np.ndarray, np.ndarray]:
    """(per-tier grid, shared grid): 101 steps per tier up to 3 tiers, coarser beyond (~20,000 settings)."""
    d = matrix.n_tiers - 1
    steps = 101 if d <= 2 else max(11, round(20_000 ** (1 / d)))
    return per_tier_thresholds(matrix, threshold_grid(steps)), shared_thresholds(matrix, threshold_grid(101))


def _pick(
    cal: OutcomeMatrix, target: float, candidates: Sequence[tuple[str, np.ndarray]]
) -> tuple[str, np.ndarray | None]:
    """Cheapest candidate meeting target x always-large accuracy on `cal`; always-large when none is cheaper."""
    large = cal.correct[:, -1]
    large_acc = np.nanmean(large) if np.isfinite(large).any() else np.nan
    large_cost = cal.cost[:, -1].mean()
    best: tuple[float, float, str, np.ndarray] | None = None
    for kind, thr in candidates:
        if not len(thr) or cal.n_tiers < 2:
            continue
        res = evaluate(cal, thr)
        ok = np.flatnonzero(res["accuracy"] >= target * large_acc - 1e-12)
        if not len(ok):
            continue
        i = ok[np.lexsort((-res["accuracy"][ok], res["mean_cost"][ok]))[0]]  # cheapest, then most accurate
        cand = (float(res["mean_cost"][i]), -float(res["accuracy"][i]), kind, thr[i])
        if best is None or cand[:2] < best[:2]:
            best = cand
    if best is None or best[0] >= large_cost:
        return "always_large", None
    return best[2], best[3]


def _bootstrap(
    stats: dict[str, np.ndarray], n_boot: int, seed: int, target: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Resample items with replacement; per resample: accuracy, large accuracy, costs, savings, retained."""
    n = len(stats["cost"])
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("accuracy", "large_accuracy", "cost", "savings", "retained")}
    per_chunk = max(1, _BOOT_CELLS // max(n, 1))
    for start in range(0, n_boot, per_chunk):
        idx = rng.integers(0, n, size=(min(per_chunk, n_boot - start), n))
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = stats["right"][idx].sum(1) / stats["graded"][idx].sum(1)
            acc_l = stats["right_l"][idx].sum(1) / stats["graded_l"][idx].sum(1)
            cost, cost_l = stats["cost"][idx].mean(1), stats["cost_l"][idx].mean(1)
            parts["savings"].append(1 - cost / cost_l)
            parts["retained"].append(acc / acc_l)
        parts["accuracy"].append(acc)
        parts["large_accuracy"].append(acc_l)
        parts["cost"].append(cost)
    boot = {k: np.concatenate(v) for k, v in parts.items()}
    return boot, boot["accuracy"] >= target * boot["large_accuracy"] - 1e-12


def _interval(estimate: float, samples: np.ndarray) -> Interval:
    finite = samples[np.isfinite(samples)]
    if not len(finite):
        return Interval(estimate, float("nan"), float("nan"))
    low, high = np.percentile(finite, [2.5, 97.5])
    return Interval(float(estimate), float(low), float(high))


def recommend(
    matrix: OutcomeMatrix,
    target: float,
    *,
    calibration_mask: np.ndarray,
    holdout_mask: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    candidates: Sequence[tuple[str, np.ndarray]] | None = None,
) -> Recommendation:
    """Cheapest setting (per-tier grid and shared grid) whose calibration accuracy >= target x always-large's.

    `target` is a fraction of always-large accuracy (0.98 = keep 98% of its quality). The pick is then measured
    on the held-out items with percentile bootstrap 95% intervals, and `probability_meets_target` is the share
    of bootstrap resamples of the held-out items in which the setting still meets the target. `candidates`
    overrides the settings searched: a sequence of (kind, thresholds (m, t-1)).
    """
    if not 0 < target <= 1.5:
        raise ValueError(f"target is a fraction of always-large accuracy (e.g. 0.98), got {target}")
    cal, hold = matrix.subset(np.asarray(calibration_mask, bool)), matrix.subset(np.asarray(holdout_mask, bool))
    if cal.n_items == 0 or hold.n_items == 0:
        raise ValueError(f"need items in both splits; calibration has {cal.n_items}, hold-out {hold.n_items}")
    if candidates is None:
        per_tier, shared = default_candidates(matrix)
        candidates = [("per_tier", per_tier), ("shared", shared)]
    kind, thr = _pick(cal, target, candidates)
    cal_point = _item_stats(cal, thr)
    stats = _item_stats(hold, thr)
    boot, meets = _bootstrap(stats, n_boot, seed, target)
    est = _estimates(stats)
    retained = _interval(est["retained"], boot["retained"])
    too_few, note = _note(cal.n_items, hold.n_items, retained, float(meets.mean()), target, kind)
    t = matrix.n_tiers
    return Recommendation(
        target=target,
        kind=kind,  # type: ignore[arg-type]
        thresholds=None if thr is None else tuple(float(x) for x in thr),
        n_calibration=cal.n_items,
        n_holdout=hold.n_items,
        calibration_accuracy=_estimates(cal_point)["accuracy"],
        calibration_large_accuracy=_estimates(cal_point)["large_accuracy"],
        calibration_cost_per_1k=float(cal_point["cost"].mean() * 1000),
        accuracy=_interval(est["accuracy"], boot["accuracy"]),
        large_accuracy=_interval(est["large_accuracy"], boot["large_accuracy"]),
        cost_per_1k=_interval(est["cost"] * 1000, boot["cost"] * 1000),
        large_cost_per_1k=float(stats["cost_l"].mean() * 1000),
        savings=_interval(est["savings"], boot["savings"]),
        quality_retained=retained,
        tier_share=tuple(float(x) for x in np.bincount(stats["tier"], minlength=t) / hold.n_items),
        probability_meets_target=float(meets.mean()),
        too_few=too_few,
        confidence_note=note,
    )


def _item_stats(matrix: OutcomeMatrix, thr: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per held-out item: right/graded/cost under the setting and under always-large (floats, n each)."""
    rows = np.arange(matrix.n_items)
    if thr is None:
        tier = np.full(matrix.n_items, matrix.n_tiers - 1)
        cost = matrix.cost[:, -1]
    else:
        tier = answer_tiers(matrix, thr)
        cost = np.cumsum(matrix.cost, axis=1)[rows, tier]  # every invoked tier is paid
    got, large = matrix.correct[rows, tier], matrix.correct[:, -1]
    return {
        "tier": tier,
        "right": (got == 1).astype(float),
        "graded": (~np.isnan(got)).astype(float),
        "cost": cost,
        "right_l": (large == 1).astype(float),
        "graded_l": (~np.isnan(large)).astype(float),
        "cost_l": matrix.cost[:, -1],
    }


def _estimates(s: dict[str, np.ndarray]) -> dict[str, float]:
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = s["right"].sum() / s["graded"].sum()
        acc_l = s["right_l"].sum() / s["graded_l"].sum()
        return {
            "accuracy": float(acc),
            "large_accuracy": float(acc_l),
            "cost": float(s["cost"].mean()),
            "savings": float(1 - s["cost"].mean() / s["cost_l"].mean()),
            "retained": float(acc / acc_l),
        }


def _note(n_cal: int, n_hold: int, retained: Interval, p: float, target: float, kind: str) -> tuple[bool, str]:
    """Plain-language statement of how sure the pick is; True when the data are too few to be sure."""
    parts: list[str] = []
    if kind == "always_large":
        parts.append(
            "No cascade setting met the target more cheaply than the largest tier alone on the calibration "
            "split, so the advice is to call the largest tier directly."
        )
    few = []
    if n_hold < MIN_ITEMS:
        few.append(f"only {n_hold} held-out items")
    if n_cal < MIN_ITEMS:
        few.append(f"only {n_cal} calibration items")
    wide = np.isfinite(retained.width) and retained.width > MAX_WIDTH
    if wide:
        few.append(f"quality retained is only known to within {retained.low:.1%} to {retained.high:.1%}")
    if not np.isfinite(retained.estimate):
        few.append("quality retained cannot be measured (no graded answers from the largest tier)")
    too_few = bool(few)
    if too_few:
        parts.append(
            f"Too few data to be sure: {'; '.join(few)}. Collect more questions (at least {MIN_ITEMS} "
            "in each split) before relying on this setting."
        )
    goal = f"{target:.0%} of the largest tier's quality"
    if p >= 0.95 and too_few:  # never "too few data" and "a safe pick" in one breath
        parts.append(f"On held-out questions it keeps {goal} in {p:.0%} of bootstrap resamples, but with this few "
                     "questions that share is itself unsure: not yet a safe pick.")
    elif p >= 0.95:
        parts.append(f"On held-out questions it keeps {goal} in {p:.0%} of bootstrap resamples: a safe pick.")
    elif p >= 0.8:
        parts.append(f"On held-out questions it keeps {goal} in {p:.0%} of bootstrap resamples: likely, not certain.")
    elif p >= 0.5:
        parts.append(
            f"On held-out questions it keeps {goal} in only {p:.0%} of bootstrap resamples: it may well "
            "miss the target on new questions; consider a stricter target."
        )
    else:
        parts.append(
            f"On held-out questions it keeps {goal} in only {p:.0%} of bootstrap resamples: it will "
            "probably miss the target on new questions; pick a stricter target or collect more data."
        )
    return too_few, " ".join(parts)
