"""The outcome table: one row per (item, tier), the hinge between collection/import and every sweep metric.

Live collection, imported recorded results and the store all produce this long table; the frontier, the
calibration and the summary metrics read only its dense form, `OutcomeMatrix`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Column order of a validated outcome table; dtypes as produced by `validate_outcomes`.
OUTCOME_COLUMNS: tuple[str, ...] = (
    "item_id",  # str
    "tier",  # str, tier name
    "tier_index",  # int, 0 = cheapest, order of escalation
    "answer",  # str or None
    "correct",  # pandas "boolean" (nullable: <NA> when ungraded)
    "confidence",  # float in [0, 1], NaN when missing
    "confidence_raw",  # float as the model gave it, NaN ok
    "tokens_in",  # int
    "tokens_out",  # int
    "cost",  # float USD, >= 0, never missing
    "latency_ms",  # float, NaN when unknown
    "category",  # str or None
    "split",  # str or None
)
REQUIRED_COLUMNS: tuple[str, ...] = ("item_id", "tier", "tier_index", "correct", "cost")
# Defaults for optional columns absent from the input.
_DEFAULTS: dict[str, object] = {
    "answer": None,
    "confidence": np.nan,
    "confidence_raw": np.nan,
    "tokens_in": 0,
    "tokens_out": 0,
    "latency_ms": np.nan,
    "category": None,
    "split": None,
}


class OutcomeError(ValueError):
    """An outcome table that breaks the contract; the message names the column and the offending rows."""


def _rows(mask: pd.Series, limit: int = 5) -> str:
    """Human-readable list of the first offending row labels."""
    idx = list(mask[mask].index[:limit])
    more = int(mask.sum()) - len(idx)
    return ", ".join(map(str, idx)) + (f" (and {more} more)" if more > 0 else "")


def _to_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    words = series.map(lambda v: {"true": 1, "false": 0}.get(v.strip().lower(), v) if isinstance(v, str) else v)
    num = pd.to_numeric(words, errors="coerce")
    bad = series.notna() & ~num.isin([0, 1])
    if bad.any():
        raise OutcomeError(f"column 'correct' must be True/False (or 1/0, or missing); bad rows: {_rows(bad)}")
    return num.astype("Float64").astype("boolean")


def _to_float(df: pd.DataFrame, col: str) -> pd.Series:
    out = pd.to_numeric(df[col], errors="coerce").astype("float64")
    bad = df[col].notna() & out.isna()
    if bad.any():
        raise OutcomeError(f"column {col!r} must be numeric; bad rows: {_rows(bad)}")
    return out


def _to_text(series: pd.Series) -> pd.Series:
    """Object column of str or None (pandas' str dtype would turn None into NaN)."""
    mask = series.notna().to_numpy()
    out = np.full(len(series), None, dtype=object)
    out[mask] = series[mask].astype(str).to_numpy(dtype=object)
    return pd.Series(out, index=series.index, dtype=object)


def validate_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise an outcome table; returns a new frame with `OUTCOME_COLUMNS` first, in order.

    Optional columns that are absent get their defaults (missing confidence is NaN, latency NaN, tokens 0).
    Raises `OutcomeError` naming the column (and the first offending rows) for anything malformed.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise OutcomeError(f"outcome table lacks required column(s): {', '.join(missing)}")
    out = df.copy()
    for col, default in _DEFAULTS.items():
        if col not in out.columns:
            out[col] = default
    for col in ("item_id", "tier"):
        bad = out[col].isna()
        if bad.any():
            raise OutcomeError(f"column {col!r} has missing values; rows: {_rows(bad)}")
        out[col] = out[col].astype(str)
    tier_index = _to_float(out, "tier_index")
    bad = tier_index.isna() | (tier_index < 0) | (tier_index != np.floor(tier_index))
    if bad.any():
        raise OutcomeError(f"column 'tier_index' must be a whole number >= 0; bad rows: {_rows(bad)}")
    out["tier_index"] = tier_index.astype("int64")
    out["correct"] = _to_bool(out["correct"])
    for col in ("confidence", "confidence_raw", "cost", "latency_ms"):
        out[col] = _to_float(out, col)
    conf = out["confidence"]
    bad = conf.notna() & ((conf < 0) | (conf > 1))
    if bad.any():
        raise OutcomeError(f"column 'confidence' must lie in [0, 1] (NaN when missing); bad rows: {_rows(bad)}")
    bad = out["cost"].isna() | (out["cost"] < 0)
    if bad.any():
        raise OutcomeError(f"column 'cost' must be a number >= 0 (USD), never missing; bad rows: {_rows(bad)}")
    for col in ("tokens_in", "tokens_out"):
        tok = _to_float(out, col).fillna(0)
        bad = (tok < 0) | (tok != np.floor(tok))
        if bad.any():
            raise OutcomeError(f"column {col!r} must be a whole number >= 0; bad rows: {_rows(bad)}")
        out[col] = tok.astype("int64")
    for col in ("answer", "category", "split"):
        out[col] = _to_text(out[col])
    _check_tier_index(out)
    dup = out.duplicated(["item_id", "tier"], keep="first")
    if dup.any():
        raise OutcomeError(f"columns 'item_id', 'tier': duplicate (item, tier) rows: {_rows(dup)}")
    extra = [c for c in out.columns if c not in OUTCOME_COLUMNS]
    return out[list(OUTCOME_COLUMNS) + extra]


def _check_tier_index(df: pd.DataFrame) -> None:
    """Each tier name has one tier_index and each tier_index one name."""
    pairs = df[["tier", "tier_index"]].drop_duplicates()
    for col, other in (("tier", "tier_index"), ("tier_index", "tier")):
        clash = pairs[pairs.duplicated(col, keep=False)]
        if not clash.empty:
            key = clash[col].iloc[0]
            vals = sorted(map(str, clash.loc[clash[col] == key, other]))
            raise OutcomeError(f"column 'tier_index': {col} {key!r} maps to several {other} values: {vals}")


@dataclass(frozen=True)
class OutcomeMatrix:
    """Dense numpy form of an outcome table: n items x t tiers, tiers in escalation order.

    `correct` is 1.0 / 0.0 / NaN (ungraded); `confidence` NaN where missing; `latency` NaN where unknown.
    """

    item_ids: np.ndarray  # (n,) str
    tiers: tuple[str, ...]  # (t,) names in escalation order
    correct: np.ndarray  # (n, t) float
    confidence: np.ndarray  # (n, t) float
    cost: np.ndarray  # (n, t) float USD
    latency: np.ndarray  # (n, t) float ms
    categories: np.ndarray  # (n,) object: str or None
    splits: np.ndarray  # (n,) object: str or None

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_tiers(self) -> int:
        return len(self.tiers)

    def subset(self, mask: np.ndarray) -> OutcomeMatrix:
        """The same tiers restricted to the items where `mask` is true (or to the given item positions)."""
        m = np.asarray(mask)
        return OutcomeMatrix(
            item_ids=self.item_ids[m],
            tiers=self.tiers,
            correct=self.correct[m],
            confidence=self.confidence[m],
            cost=self.cost[m],
            latency=self.latency[m],
            categories=self.categories[m],
            splits=self.splits[m],
        )


def _per_item(df: pd.DataFrame, col: str, items: pd.Index) -> np.ndarray:
    """One value per item (first non-missing over its tiers); conflicting values are an error."""
    vals = df[["item_id", col]].dropna().drop_duplicates()
    clash = vals["item_id"].duplicated(keep=False)
    if clash.any():
        item = vals.loc[clash, "item_id"].iloc[0]
        raise OutcomeError(f"column {col!r}: item {item!r} has different values on different tiers")
    mapped = vals.set_index("item_id")[col].reindex(items)
    values: np.ndarray = _to_text(mapped).to_numpy(dtype=object)
    return values


def to_matrix(df: pd.DataFrame) -> OutcomeMatrix:
    """Pivot a (validated or raw) outcome table into an `OutcomeMatrix`.

    Items keep their order of first appearance; tiers are ordered by tier_index. A tier with no rows at all is
    simply not in the matrix; an item lacking a row for a tier that other items have is an error.
    """
    df = validate_outcomes(df)
    if df.empty:
        raise OutcomeError("outcome table is empty")
    tiers_df = df[["tier", "tier_index"]].drop_duplicates().sort_values("tier_index")
    tiers = tuple(tiers_df["tier"])
    items = pd.Index(pd.unique(df["item_id"]))
    rows = items.get_indexer(df["item_id"])
    cols = pd.Index(tiers).get_indexer(df["tier"])
    n, t = len(items), len(tiers)
    present = np.zeros((n, t), dtype=bool)
    present[rows, cols] = True
    if not present.all():
        i, k = np.argwhere(~present)[0]
        count = int((~present).sum())
        raise OutcomeError(
            f"item {items[i]!r} has no row for tier {tiers[k]!r} ({count} (item, tier) cell(s) missing in all); "
            "every item needs every tier that appears in the table"
        )

    def dense(values: np.ndarray) -> np.ndarray:
        out = np.full((n, t), np.nan)
        out[rows, cols] = values
        return out

    correct = df["correct"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    return OutcomeMatrix(
        item_ids=items.to_numpy(dtype=object).astype(str),
        tiers=tiers,
        correct=dense(correct),
        confidence=dense(df["confidence"].to_numpy(dtype="float64")),
        cost=dense(df["cost"].to_numpy(dtype="float64")),
        latency=dense(df["latency_ms"].to_numpy(dtype="float64")),
        categories=_per_item(df, "category", items),
        splits=_per_item(df, "split", items),
    )


def has_confidence(data: OutcomeMatrix | pd.DataFrame) -> bool:
    """True when some non-final tier has at least one confidence value, so a cascade curve can exist.

    Without it only the always-<tier> baselines and the oracle can be shown.
    """
    matrix = data if isinstance(data, OutcomeMatrix) else to_matrix(data)
    return bool(matrix.n_tiers > 1 and np.isfinite(matrix.confidence[:, :-1]).any())
