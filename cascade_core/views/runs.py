"""The Runs page's table and its empty state, as plain functions (tested without a browser)."""

from __future__ import annotations

import pandas as pd

from cascade_core.store.run_filter import RunFilter
from cascade_core.store.runs_query import FilterCounts
from cascade_core.store.text_search import MatchCount, SearchPage
from cascade_core.views.money import usd

QUESTION_CHARS = 60  # the table's question column; the full text is in the cell's tooltip and the trace
ANSWER_CHARS = 40


def _clip(text: object, limit: int) -> str:
    flat = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _estimated(page: pd.DataFrame) -> list[bool]:
    if "always_large_estimated" not in page:
        return [False] * len(page)
    return [bool(v) and not pd.isna(v) for v in page["always_large_estimated"]]


def runs_table(page: pd.DataFrame) -> pd.DataFrame:
    """One page of runs, columns in the order people read them: what was asked, who answered, what it cost
    against always-large, escalations and errors; the question clipped, the run id last (it is the link)."""
    def correct(value: object) -> str:
        return "" if value is None or pd.isna(value) else ("✓" if value else "✗")

    return pd.DataFrame({
        "time (UTC)": page["created_at"],
        "question": [_clip(q, QUESTION_CHARS) for q in page["question"]],
        "tier": page["final_tier"].fillna("(no answer)"),
        "confidence": page["confidence"],
        "correct": [correct(v) for v in page["correct"]],
        "cost": [usd(float(v)) for v in page["total_cost"]],
        # "≈": estimated from tokens and the last tier's price (the run never reached it), as the trace says
        "always-large": [("≈ " if estimated else "") + usd(float(v))
                         for v, estimated in zip(page["always_large_cost"], _estimated(page), strict=True)],
        "escalations": page["escalations"],
        # "failed": no tier answered (never a saving); "error": some tier call failed and a later tier answered
        "error": ["" if not bool(err) else "failed" if pd.isna(tier) else "error"
                  for err, tier in zip(page["error"], page["final_tier"], strict=True)],
        "run": page["run_id"],
        "answer": [_clip(a, ANSWER_CHARS) for a in page["answer"]],
        "source": page["source"],
        "route": page["route"] if "route" in page else None,
        "latency": [f"{v:,.0f} ms" if pd.notna(v) else "" for v in page["latency_ms"]],
    })


def describe_filters(f: RunFilter, window: str | None) -> dict[str, str]:
    """Each active filter by name, as a person would say it."""
    parts: dict[str, str] = {}
    if f.start is not None or f.end is not None:
        span = window if window and window != "custom dates" else (
            f"{f.start:%Y-%m-%d} to {f.end:%Y-%m-%d}" if f.start and f.end else "custom dates")
        parts["time"] = f"time: {span}"
    if f.sources:
        parts["sources"] = "source: " + ", ".join(f.sources)
    if f.final_tiers:
        parts["final_tiers"] = "final tier: " + ", ".join(f.final_tiers)
    if f.confidence is not None:
        parts["confidence"] = f"final confidence {f.confidence[0]:.2f}–{f.confidence[1]:.2f}"
    if f.graded != "any":
        parts["graded"] = f"graded: {f.graded}"
    if f.errors_only:
        parts["errors_only"] = "errors only"
    if f.text:
        parts["text"] = f"text “{_clip(f.text, 40)}”"
    return parts


def why_empty(counts: FilterCounts, f: RunFilter, window: str | None = None) -> str:
    """For a filter that matches nothing: which filter emptied the result, and what removing it would show."""
    parts = describe_filters(f, window)
    if counts.logged == 0:
        return "No runs are logged yet."
    if len(parts) == 1:
        said = next(iter(parts.values()))
        logged = "1 run is" if counts.logged == 1 else f"{counts.logged:,} runs are"
        return f"No run matches {said}; {logged} logged in all."
    culprits = [f"{parts[name]} (without it: {n:,} run{'' if n == 1 else 's'})"
                for name, n in counts.without.items() if n > 0 and name in parts]
    if len(culprits) == 1:
        return "No run matches. The filter that empties it: " + culprits[0] + "."
    if culprits:
        return "No run matches. Each of these filters alone empties it: " + "; ".join(culprits) + "."
    return ("No run matches: no single filter is to blame, the combination of " + ", ".join(parts.values())
            + " is. Clear some of them.")


def count_caption(count: MatchCount, *, filtered: bool, offset: int, shown: int) -> str:
    """The line above the table: how many runs match, and how sure that number is."""
    noun = "run matches" if count.value == 1 else "runs match"
    where = " the filters" if filtered else ""
    showing = f" · showing {offset + 1:,}–{offset + shown:,}" if shown else ""
    if count.exact:
        return f"{count.value:,} {noun}{where}{showing}"
    return (f"≈ {count.value:,} {noun}{where} (estimated: the text was searched in {count.sampled_runs:,} of the "
            f"{count.candidates:,} runs the other filters keep, {count.slices} random time blocks; 95% interval "
            f"{count.low:,}–{count.high:,}){showing}")


def search_note(page: SearchPage, budget_s: float) -> str | None:
    """When a text search stopped before reading every run: how far back this page looked."""
    if page.complete or page.searched_to is None:
        return None
    end, way, rest = ("newest", "back", "older") if page.newest_first else ("oldest", "up", "newer")
    return (f"Within {budget_s:.1f} s this page searched from the {end} run {way} to {page.searched_to:%Y-%m-%d %H:%M} "
            f"UTC; {rest} runs were not searched for it.")
