"""The store's schema as numbered forward migrations, one module per version, and the run log's columns.

Add a new version (a module and a line in MIGRATIONS); never edit an applied one.
"""

from __future__ import annotations

from cascade_core.store.schema import (
    v1_run_log,
    v2_sweeps,
    v3_audits,
    v4_lost_attempts,
    v5_call_intents,
    v6_routing,
    v7_run_rollup,
    v8_sweep_questions,
    v9_run_text_index,
)

RUN_COLUMNS: tuple[str, ...] = (
    "run_id", "created_at", "source", "question", "item_id", "dataset", "category", "gold", "correct",
    "config_fingerprint", "signal", "final_tier", "final_tier_index", "final_answer", "final_confidence",
    "total_cost", "tokens_in", "tokens_out", "latency_ms", "overhead_ms", "always_large_cost",
    "always_large_estimated", "n_steps", "escalations", "had_error", "had_parse_error", "error", "simulated", "meta",
)

STEP_COLUMNS: tuple[str, ...] = (
    "run_id", "step_index", "tier_index", "tier_name", "model", "endpoint", "prompt", "raw_output",
    "finish_reason", "answer", "confidence_raw", "confidence", "parse_error", "threshold", "tokens_in",
    "tokens_out", "cost", "cost_source", "latency_ms", "attempts", "decision", "reason", "error", "error_kind",
    "simulated", "verify_prompt", "verify_output", "verify_tokens_in", "verify_tokens_out", "verify_cost",
    "verify_latency_ms", "verify_error", "created_at",
)

# version -> statements, applied in order inside one transaction per version.
MIGRATIONS: dict[int, list[str]] = {
    1: v1_run_log.STATEMENTS,
    2: v2_sweeps.STATEMENTS,
    3: v3_audits.STATEMENTS,
    4: v4_lost_attempts.STATEMENTS,
    5: v5_call_intents.STATEMENTS,
    6: v6_routing.STATEMENTS,
    7: v7_run_rollup.STATEMENTS,
    8: v8_sweep_questions.STATEMENTS,
    9: v9_run_text_index.STATEMENTS,
}
