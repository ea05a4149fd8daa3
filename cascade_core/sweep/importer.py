"""Import recorded results (long or wide; CSV, JSONL or Parquet) into an outcome table.

Long format: one row per (item, model) with columns for item id, model, correct, and optionally confidence,
cost, tokens, latency, answer, split and category (common names are recognised, see `FIELD_SYNONYMS`; override
with `mapping={"field": "column"}`).
Wide format: one row per item, an id column (e.g. `prompt`), one True/False column per model, and optional
per-model columns `<model>_response`, `<model>_confidence`, `<model>_cost`, ... (see `WIDE_SUFFIXES`).
Both formats pass through one canonical long frame, so the same data give identical outcome tables.

Costs are never invented: without a cost column, pass `default_costs={model: USD per item}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from cascade_core.sweep.import_columns import (
    TEXT_ID_NAMES,
    WIDE_SUFFIXES,
    Locate,
    ResultsImportError,
    find_column,
    mostly_boolean,
    parse_bool,
    parse_float,
    physical_line,
    text_item_ids,
)
from cascade_core.sweep.outcomes import has_confidence, validate_outcomes

Format = Literal["auto", "long", "wide"]
_NUMERIC = {  # field -> (lower bound, upper bound, what)
    "confidence": (0.0, 1.0, "a confidence in [0, 1] (normalise it first), or an empty cell"),
    "confidence_raw": (-np.inf, np.inf, "a number"),
    "cost": (0.0, np.inf, "a cost in USD >= 0"),
    "tokens_in": (0.0, np.inf, "a token count >= 0"),
    "tokens_out": (0.0, np.inf, "a token count >= 0"),
    "tokens": (0.0, np.inf, "a token count >= 0"),
    "latency_ms": (0.0, np.inf, "a latency in milliseconds >= 0"),
}
_TEXT = ("answer", "split", "category")


@dataclass(frozen=True)
class ImportResult:
    """An imported outcome table and what the page or CLI should tell the user about it."""

    outcomes: pd.DataFrame  # validated, OUTCOME_COLUMNS
    tiers: tuple[str, ...]  # escalation order
    format: Literal["long", "wide"]
    has_confidence: bool  # False: only baselines and the oracle, no cascade curve
    sources: tuple[str, ...]
    notes: tuple[str, ...]


def read_table(path: Path) -> pd.DataFrame:
    """A results file as a DataFrame (CSV cells kept as text so parsing errors can quote them)."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise ResultsImportError(f"{path}: no such file")
    try:
        if suffix in (".csv", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True, dtype=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ResultsImportError(f"{path}: cannot be read as {suffix[1:]}: {exc}") from exc
    raise ResultsImportError(f"{path}: unknown file type {suffix!r}; use .csv, .tsv, .jsonl, .ndjson or .parquet")


def _locator(frame: pd.DataFrame, files: list[Path]) -> Locate:
    return lambda pos: physical_line(files[int(frame["_file"].iat[pos])], int(frame["_record"].iat[pos]))


def _parse_fields(raw: pd.DataFrame, columns: Mapping[str, str | None], locate: Locate) -> pd.DataFrame:
    """Parse the located columns of `raw` into canonical fields (missing fields -> NaN / None)."""
    out = pd.DataFrame(index=raw.index)
    out["correct"] = parse_bool(raw[columns["correct"]], str(columns["correct"]), locate)
    for field, (lo, hi, what) in _NUMERIC.items():
        col = columns.get(field)
        out[field] = parse_float(raw[col], col, locate, lo, hi, what) if col else np.nan
    for field in _TEXT:
        col = columns.get(field)
        out[field] = raw[col].astype(object).where(raw[col].notna(), None) if col else None
    return out


def _canonical_long(
    raw: pd.DataFrame, mapping: Mapping[str, str], locate: Locate
) -> tuple[pd.DataFrame, dict[str, str | None]]:
    cols = [c for c in raw.columns if not c.startswith("_")]
    found = {f: find_column(cols, f, mapping) for f in ("item_id", "model", "correct", *_NUMERIC, *_TEXT)}
    for field in ("item_id", "model", "correct"):
        if found[field] is None:
            raise ResultsImportError(f"long format needs a {field!r} column; columns are {cols} (use mapping=...)")
    canon = _parse_fields(raw, found, locate)
    canon.insert(0, "key", raw[found["item_id"]])
    canon.insert(1, "model", raw[found["model"]])
    return pd.concat([canon, raw[["_file", "_record"]]], axis=1), found


def _wide_attributes(cols: list[str]) -> dict[tuple[str, str], str]:
    """(model, field) -> column for per-model columns named <model><suffix>."""
    attrs = {}
    for col in cols:
        for field, suffixes in WIDE_SUFFIXES.items():
            for suf in suffixes:
                if col.endswith(suf) and col[: -len(suf)] in cols:
                    attrs[(col[: -len(suf)], field)] = col
    return attrs


def _canonical_wide(
    raw: pd.DataFrame, mapping: Mapping[str, str], tiers: Sequence[str] | None, locate: Locate
) -> tuple[pd.DataFrame, dict[str, str | None], list[str]]:
    cols = [c for c in raw.columns if not c.startswith("_")]
    found = {f: find_column(cols, f, mapping) for f in ("item_id", "split", "category")}
    if found["item_id"] is None:
        raise ResultsImportError(f"wide format needs an item id column (e.g. 'prompt' or 'id'); columns are {cols}")
    attrs = _wide_attributes(cols)
    taken = {c for c in found.values() if c} | set(attrs.values())
    candidates = [c for c in cols if c not in taken]
    if tiers is not None:
        unknown = [t for t in tiers if t not in candidates]
        if unknown:
            raise ResultsImportError(f"tiers {unknown} are not model columns; model columns could be {candidates}")
        models = list(tiers)
    else:
        models = [c for c in candidates if mostly_boolean(raw[c])]
    ignored = [c for c in candidates if c not in models]
    if not models:
        raise ResultsImportError(f"wide format needs one True/False column per model; none among {candidates}")
    parts = []
    for model in models:
        columns = {"correct": model, **{f: attrs.get((model, f)) for f in (*_NUMERIC, "answer")}}
        columns |= {"split": found["split"], "category": found["category"]}
        part = _parse_fields(raw, columns, locate)
        part.insert(0, "key", raw[found["item_id"]])
        part.insert(1, "model", model)
        parts.append(pd.concat([part, raw[["_file", "_record"]]], axis=1))
    return pd.concat(parts, ignore_index=True), found, ignored


def import_results(
    paths: str | Path | Sequence[str | Path],
    *,
    format: Format = "auto",
    mapping: Mapping[str, str] | None = None,
    tiers: Sequence[str] | None = None,
    default_costs: Mapping[str, float] | None = None,
) -> ImportResult:
    """Read one or more results files into a validated outcome table.

    `format` "auto" means long when a model column (model/tier/model_name) exists, else wide. `tiers` names the
    models to keep, in escalation order (default: every model, ordered by mean cost). `default_costs` gives a
    USD cost per item for models whose rows have no cost. Item ids from a text column (prompt/question) become
    a stable hash of the text. Several files are concatenated; their stems become the category when there is
    no category column and each item's rows all come from one file (not for one file per model). Raises
    `ResultsImportError` naming the file, the column and the line.
    """
    mapping = dict(mapping or {})
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not files:
        raise ResultsImportError("no results file given")
    frames = []
    for i, f in enumerate(files):
        frame = read_table(f)
        frames.append(frame.assign(_file=i, _record=np.arange(len(frame))))
    raw = pd.concat(frames, ignore_index=True)
    locate = _locator(raw, files)
    cols = [c for c in raw.columns if not c.startswith("_")]
    fmt = format if format != "auto" else ("long" if find_column(cols, "model", mapping) else "wide")
    notes: list[str] = []
    if fmt == "long":
        canon, found = _canonical_long(raw, mapping, locate)
    elif fmt == "wide":
        canon, found, ignored = _canonical_wide(raw, mapping, tiers, locate)
        if ignored:
            notes.append(f"ignored columns that are neither an id, a split, a category nor a model: {ignored}")
    else:
        raise ResultsImportError(f"format must be 'auto', 'long' or 'wide', not {format!r}")
    canon = _finish_ids(canon, found["item_id"] or "item_id", mapping, files, notes)
    if len(files) > 1 and found.get("category") is None and _one_file_per_item(canon):
        canon["category"] = canon["_file"].map(lambda i: files[int(i)].stem)  # one category per file
    outcomes, order = _to_outcomes(canon, tiers, default_costs, files, notes)
    outcomes = validate_outcomes(outcomes)
    conf = has_confidence(outcomes) if len(order) > 1 else False
    if not conf:
        notes.append(
            "no confidence values for the non-final tiers: only the always-<tier> baselines and the oracle "
            "can be shown; a cascade curve needs each answer's confidence"
        )
    return ImportResult(outcomes, order, fmt, conf, tuple(str(f) for f in files), tuple(notes))


def _one_file_per_item(canon: pd.DataFrame) -> bool:
    """Every item's rows come from a single file (files split items, e.g. one per subject), so a file's name can
    be its items' category; not when files split models (one file per model), where an item spans files."""
    return bool((canon.groupby("item_id", sort=False)["_file"].nunique() <= 1).all())


def _finish_ids(
    canon: pd.DataFrame, id_col: str, mapping: Mapping[str, str], files: list[Path], notes: list[str]
) -> pd.DataFrame:
    locate = _locator(canon, files)
    for col, label in (("key", id_col), ("model", "model")):
        bad = canon[col].isna().to_numpy()
        if bad.any():
            raise ResultsImportError(f"{locate(int(np.flatnonzero(bad)[0]))}: column {label!r} is empty")
    canon["model"] = canon["model"].astype(str)
    text = canon["key"].astype(str)
    if id_col.lower() in TEXT_ID_NAMES or ("item_id" in mapping and text.str.len().max() > 64):
        canon["item_id"] = text_item_ids(text, canon["model"])
        notes.append(f"item ids are hashes of the text in column {id_col!r} (repeats get #2, #3, ...)")
    else:
        canon["item_id"] = text
    dup = canon.duplicated(["item_id", "model"], keep=False).to_numpy()
    if dup.any():
        first, second = np.flatnonzero(dup)[:2]
        raise ResultsImportError(
            f"{locate(int(second))}: item {canon['item_id'].iat[second]!r} has a second result for model "
            f"{canon['model'].iat[second]!r} (first at {locate(int(first))})"
        )
    return canon


def _to_outcomes(
    canon: pd.DataFrame,
    tiers: Sequence[str] | None,
    default_costs: Mapping[str, float] | None,
    files: list[Path],
    notes: list[str],
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    models = list(pd.unique(canon["model"]))
    if tiers is not None:
        unknown = [t for t in tiers if t not in models]
        if unknown:
            raise ResultsImportError(f"tiers {unknown} not found; the results hold models {models}")
        canon = canon[canon["model"].isin(tiers)].reset_index(drop=True)
    canon = _fill_costs(canon, default_costs, files, notes)
    _check_complete(canon, files)
    order = tuple(tiers) if tiers is not None else _order_by_cost(canon, notes)
    item_pos = pd.Index(pd.unique(canon["item_id"])).get_indexer(canon["item_id"])
    tier_index = pd.Index(order).get_indexer(canon["model"])
    tokens_out = canon["tokens_out"].where(canon["tokens_out"].notna(), canon["tokens"])  # a lone total -> out
    out = pd.DataFrame(
        {
            "item_id": canon["item_id"],
            "tier": canon["model"],
            "tier_index": tier_index,
            "answer": canon["answer"],
            "correct": canon["correct"],
            "confidence": canon["confidence"],
            "confidence_raw": canon["confidence_raw"].where(canon["confidence_raw"].notna(), canon["confidence"]),
            "tokens_in": canon["tokens_in"].fillna(0),
            "tokens_out": tokens_out.fillna(0),
            "cost": canon["cost"],
            "latency_ms": canon["latency_ms"],
            "category": canon["category"],
            "split": canon["split"],
        }
    )
    out = out.iloc[np.lexsort((tier_index, item_pos))].reset_index(drop=True)
    return out, order


COST_HINT = "`--cost MODEL=USD` on the command line, 'Cost per question' on the Sweep page"


def _fill_costs(
    canon: pd.DataFrame, default_costs: Mapping[str, float] | None, files: list[Path], notes: list[str]
) -> pd.DataFrame:
    costs = dict(default_costs or {})
    models = list(pd.unique(canon["model"]))
    unknown = [m for m in costs if m not in models]
    if unknown:
        raise ResultsImportError(f"costs given for {unknown}, which are not models here; models are {models}")
    missing = canon["cost"].isna()
    if missing.any():
        fill = canon["model"].map(costs).astype("float64")
        canon["cost"] = canon["cost"].where(~missing, fill)
        used = sorted(set(canon.loc[missing & fill.notna(), "model"]))
        if used:
            notes.append(f"the results hold no cost for {used}: the cost per item you gave is used")
    if not costs and missing.all():
        names = ", ".join(f.name for f in files)
        raise ResultsImportError(
            f"{names}: no cost column (nor <model>_cost columns); costs are never invented: give a cost per "
            f"item for models {models} ({COST_HINT})"
        )
    still = canon["cost"].isna().to_numpy()
    if still.any():
        need = sorted(set(canon.loc[still, "model"]))
        pos = int(np.flatnonzero(still)[0])
        names = ", ".join(f.name for f in files)
        raise ResultsImportError(
            f"{names}: no cost for model(s) {need} (first at {_locator(canon, files)(pos)}); costs are never "
            f"invented: give a cost per item ({COST_HINT}), e.g. {need[0]}=0.0006"
        )
    return canon


def _check_complete(canon: pd.DataFrame, files: list[Path]) -> None:
    per_item = canon.groupby("item_id", sort=False)["model"].nunique()
    n_models = canon["model"].nunique()
    short = per_item[per_item < n_models]
    if len(short):
        item = short.index[0]
        have = set(canon.loc[canon["item_id"] == item, "model"])
        lacking = [m for m in pd.unique(canon["model"]) if m not in have]
        pos = int(np.flatnonzero((canon["item_id"] == item).to_numpy())[0])
        raise ResultsImportError(
            f"{_locator(canon, files)(pos)}: item {item!r} has no result for model(s) {lacking} "
            f"({len(short)} item(s) incomplete); every item needs every model"
        )


def _order_by_cost(canon: pd.DataFrame, notes: list[str]) -> tuple[str, ...]:
    mean = canon.groupby("model", sort=False)["cost"].mean()  # first-appearance order breaks ties
    order = mean.sort_values(kind="stable")
    if order.duplicated().any():
        tied = list(order[order.duplicated(keep=False)].index)
        notes.append(f"models {tied} cost the same on average; their order follows the file (pass tiers=[...])")
    return tuple(order.index)
