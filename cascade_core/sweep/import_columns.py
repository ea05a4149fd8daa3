"""Column recognition and value parsing for imported results, with errors that name file, column and line."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

# Recognised column names per field (case-insensitive), most specific first.
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id", "id", "question_id", "qid", "prompt_id", "prompt", "question"),
    "model": ("model", "tier", "model_name"),
    "correct": ("correct", "is_correct", "score", "label"),
    "confidence": ("confidence", "conf", "prob", "probability"),
    "confidence_raw": ("confidence_raw", "raw_confidence"),
    "cost": ("cost", "price", "usd", "cost_usd"),
    "tokens_in": ("tokens_in", "prompt_tokens", "input_tokens"),
    "tokens_out": ("tokens_out", "completion_tokens", "output_tokens"),
    "tokens": ("tokens", "total_tokens"),
    "latency_ms": ("latency_ms", "latency"),
    "split": ("split", "fold"),
    "category": ("category", "subject", "topic"),
    "answer": ("answer", "response", "output", "prediction"),
}
# Wide format: per-model attribute columns are "<model><suffix>".
WIDE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "answer": ("_response", "_answer"),
    "confidence": ("_confidence", "_conf", "_prob"),
    "confidence_raw": ("_confidence_raw",),
    "cost": ("_cost",),
    "latency_ms": ("_latency_ms", "_latency"),
    "tokens_in": ("_tokens_in", "_prompt_tokens"),
    "tokens_out": ("_tokens_out", "_completion_tokens"),
}
TEXT_ID_NAMES = frozenset({"prompt", "question", "text", "input"})  # id columns holding the question text
_TRUE = frozenset({"true", "yes", "1", "1.0"})
_FALSE = frozenset({"false", "no", "0", "0.0"})

Locate = Callable[[int], str]  # row position -> "file.csv line 12"


class ResultsImportError(ValueError):
    """An import problem; the message names the file, the column and, for bad values, the line."""


def find_column(columns: list[str], field: str, mapping: Mapping[str, str]) -> str | None:
    """The column holding `field`: the explicit mapping if given (must exist), else the first synonym present."""
    if field in mapping:
        col = mapping[field]
        if col not in columns:
            raise ResultsImportError(f"mapping {field}={col!r}: no such column; columns are {columns}")
        return col
    lower = {c.lower(): c for c in columns}
    for name in FIELD_SYNONYMS[field]:
        if name in lower:
            return lower[name]
    return None


def parse_bool(series: pd.Series, column: str, locate: Locate) -> pd.Series:
    """True/False, 1/0, yes/no (any case) -> pandas "boolean"; empty -> <NA>; anything else is an error."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    text = series.astype(object).map(lambda v: None if _missing(v) else str(v).strip().lower())
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    bad = text.notna() & ~text.isin(_TRUE | _FALSE)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise ResultsImportError(
            f"{locate(pos)}: column {column!r} holds {_shown(series.iloc[pos])!r}; expected True/False (or 1/0), "
            "or an empty cell when ungraded"
        )
    return out


def parse_float(
    series: pd.Series, column: str, locate: Locate, lo: float = -np.inf, hi: float = np.inf, what: str = "a number"
) -> np.ndarray:
    """Numbers (empty -> NaN); a non-number or a value outside [lo, hi] is an error naming the line."""
    values: np.ndarray = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    bad = (series.notna().to_numpy() & np.isnan(values)) | (values < lo) | (values > hi)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ResultsImportError(
            f"{locate(pos)}: column {column!r} holds {_shown(series.iloc[pos])!r}; expected {what}"
        )
    return values


def mostly_boolean(series: pd.Series) -> bool:
    """At least half the non-empty values read as True/False: a wide-format model (correctness) column.

    A model column with a few malformed cells is still taken, so parsing then names the bad line.
    """
    if pd.api.types.is_bool_dtype(series):
        return True
    vals = series.dropna().astype(str).str.strip().str.lower()
    return len(vals) > 0 and bool(vals.isin(_TRUE | _FALSE).mean() >= 0.5)


def text_item_ids(text: pd.Series, group: pd.Series | None = None) -> pd.Series:
    """Stable ids for question text: first 16 hex of SHA-256; repeats of one text get "#2", "#3", ...

    With `group` (the model, in long format), repeats are counted within each group, so the k-th copy of a
    question gets the same id in wide and long files.
    """
    digest = text.map(lambda s: hashlib.sha256(str(s).encode("utf-8")).hexdigest()[:16])
    frame = pd.DataFrame({"d": digest} if group is None else {"d": digest, "g": group.to_numpy()}, index=text.index)
    nth = frame.groupby(list(frame.columns), sort=False).cumcount()
    return digest.where(nth == 0, digest + "#" + (nth + 1).astype(str))


def _shown(value: object) -> object:
    """A plain Python value for messages (7.0, not np.float64(7.0))."""
    return value.item() if isinstance(value, np.generic) else value


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value == ""


def physical_line(path: Path, record: int) -> str:
    """Where data record `record` (0-based, header excluded) starts: a 1-based line for CSV and JSONL."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        try:
            with path.open(newline="", encoding="utf-8") as f:
                reader = csv.reader(f, delimiter="\t" if suffix == ".tsv" else ",")
                next(reader, None)
                start, i = reader.line_num + 1, 0
                for rec in reader:
                    if rec:  # blank lines hold no record (pandas skips them too)
                        if i == record:
                            return f"{path.name} line {start}"
                        i += 1
                    start = reader.line_num + 1
        except (OSError, UnicodeDecodeError, csv.Error):
            pass
        return f"{path.name} record {record + 1} (after the header)"
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as f:
            nonblank = (n for n, line in enumerate(f, start=1) if line.strip())
            for i, n in enumerate(nonblank):
                if i == record:
                    return f"{path.name} line {n}"
    return f"{path.name} row {record + 1}"
