"""Plain pandas helpers for the Audit page (so the page only renders, and this is testable without a browser)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from cascade_core.audit.report import interval, pct


def audit_label(row: dict[str, Any]) -> str:
    """One line per audit for a select box."""
    days = (pd.Timestamp(row["window_end"]) - pd.Timestamp(row["window_start"])).total_seconds() / 86400
    return (f"{pd.Timestamp(row['created_at']):%Y-%m-%d %H:%M} · {row['status']} · {int(row['flagged'])} flagged "
            f"of {int(row['judged'])} judged · {days:g}-day window · {row['audit_id']}")


def rate_display(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """A breakdown table with readable rate and interval columns."""
    out = table[[key, "flagged", "audited"]].copy()
    out["rate"] = [pct(v) for v in table["rate"]]
    out["95% interval"] = [interval(lo, hi, n, " – ")
                           for lo, hi, n in zip(table["low"], table["high"], table["audited"], strict=True)]
    return out.rename(columns={key: key.replace("_", " ")})


def flagged_display(flagged: pd.DataFrame) -> pd.DataFrame:
    """Flagged answers as the page lists them (the run id opens the trace on the Runs page)."""
    return pd.DataFrame({
        "tier": flagged["tier_name"], "category": flagged["category"], "question": flagged["question"],
        "accepted answer": flagged["answer"], "confidence": flagged["confidence"], "gold": flagged["gold"],
        "verdict": flagged["verdict"], "rationale": flagged["rationale"], "run_id": flagged["run_id"],
    })


def review_queue(items: pd.DataFrame) -> pd.DataFrame:
    """Judged items in review order: flagged first, then unreviewed, then the rest."""
    judged = items[items["status"] == "judged"].copy()
    judged["_flag"] = ~judged["overconfident"].fillna(False).astype(bool)
    judged["_seen"] = judged["review_agrees"].notna()
    return judged.sort_values(["_flag", "_seen", "item_index"]).drop(columns=["_flag", "_seen"])


def review_label(row: dict[str, Any]) -> str:
    flag = "FLAGGED · " if row.get("overconfident") else ""
    agrees = row.get("review_agrees")
    seen = "" if agrees is None or pd.isna(agrees) else (" · reviewed: agree" if agrees else " · reviewed: disagree")
    question = " ".join(str(row["question"]).split())
    question = question if len(question) <= 80 else question[:79] + "…"
    return f"{flag}{row['verdict']} · {row['tier_name']} · {question}{seen}"
