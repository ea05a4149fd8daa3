"""What went wrong in an outcome table, said once each: failed cells, endpoints without logprobs, cut-off answers.

`analyse` adds these notes to every sweep (live, saved, reopened), so the CLI, the page and the saved sweep all
say how many cells failed; the CLI also exits non-zero for failed cells unless --allow-failures.
"""

from __future__ import annotations

from typing import Any

from cascade_core.cascade.signals.logprob import NO_LOGPROBS


def failed_cells(outcomes: Any) -> int:
    """Cells whose call (or verify call) failed after retries: they have no answer and count as wrong."""
    if "error" not in outcomes.columns:
        return 0
    return int(outcomes["error"].notna().sum())


def outcome_notes(outcomes: Any) -> list[str]:
    notes: list[str] = []
    total = len(outcomes)
    failed = failed_cells(outcomes)
    if failed:
        example = str(outcomes.loc[outcomes["error"].notna(), "error"].iloc[0])
        notes.append(f"{failed:,} of {total:,} cells failed (no answer after retries; they count as wrong "
                     f"answers on every point): e.g. {example[:160]}. Rerun the sweep to retry them")
    if "parse_error" in outcomes.columns:
        parse = outcomes["parse_error"].astype("string")
        no_logprobs = outcomes.loc[parse == NO_LOGPROBS, "tier"]
        for tier, count in no_logprobs.value_counts().items():
            notes.append(f"tier {tier!r} returned no logprobs for {int(count):,} answer(s): the logprob signal "
                         "gives them no confidence (they always escalate); the request asks for top_logprobs=1, "
                         "which llama.cpp needs; the endpoint may not support logprobs at all")
        truncated = int(parse.str.contains("finish_reason=length", regex=False).fillna(False).sum())
        if truncated:
            notes.append(f"{truncated:,} answer(s) were cut off (finish_reason=length): never counted as "
                         "confident; raise the tier's max_tokens")
    return notes
