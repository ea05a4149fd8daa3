"""Schema version 7. The run log at 10M runs (issue 15): per-hour aggregates the Overview and the Runs page's
counts read instead of scanning every run (store/rollup.py); filled and repaired from `runs`, never written by
loggers.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    """
    CREATE TABLE run_rollup (
        hour TIMESTAMP NOT NULL,                 -- date_trunc('hour', created_at)
        source VARCHAR NOT NULL,
        final_tier VARCHAR,
        final_tier_index INTEGER,
        runs BIGINT NOT NULL,
        spend DOUBLE NOT NULL,                   -- answered runs (error IS NULL)
        always_large DOUBLE NOT NULL,            -- answered runs
        failed_spend DOUBLE NOT NULL,            -- runs no tier answered
        estimated_runs BIGINT NOT NULL,
        escalated BIGINT NOT NULL,
        parse_errors BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        failed BIGINT NOT NULL,
        graded BIGINT NOT NULL,
        correct BIGINT NOT NULL,
        simulated BIGINT NOT NULL,
        first_at TIMESTAMP NOT NULL,
        last_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE run_latency_rollup (
        hour TIMESTAMP NOT NULL,
        bin INTEGER NOT NULL,                    -- latency histogram bin (rollup.LATENCY_BIN)
        runs BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE run_rollup_state (
        watermark TIMESTAMP NOT NULL,            -- runs created before it are in the rollup tables
        folded_at TIMESTAMP NOT NULL
    )
    """,
]
