"""Schema version 1. The run log: one `runs` row per run, one `steps` row per tier invoked.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    """
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,           -- naive UTC
        source VARCHAR NOT NULL,                 -- query | sweep | audit | api
        question VARCHAR NOT NULL,
        item_id VARCHAR,
        dataset VARCHAR,
        category VARCHAR,
        gold VARCHAR,
        correct BOOLEAN,                         -- NULL when ungraded
        config_fingerprint VARCHAR NOT NULL,
        signal VARCHAR NOT NULL,
        final_tier VARCHAR,
        final_tier_index INTEGER,
        final_answer VARCHAR,
        final_confidence DOUBLE,
        total_cost DOUBLE NOT NULL,              -- every invoked call, USD
        tokens_in BIGINT NOT NULL,
        tokens_out BIGINT NOT NULL,
        latency_ms DOUBLE NOT NULL,
        overhead_ms DOUBLE NOT NULL,
        always_large_cost DOUBLE NOT NULL,
        always_large_estimated BOOLEAN NOT NULL,
        n_steps INTEGER NOT NULL,
        escalations INTEGER NOT NULL,
        had_error BOOLEAN NOT NULL,
        had_parse_error BOOLEAN NOT NULL,
        error VARCHAR,
        simulated BOOLEAN NOT NULL,
        meta VARCHAR                             -- JSON
    )
    """,
    """
    CREATE TABLE steps (
        run_id VARCHAR NOT NULL,
        step_index INTEGER NOT NULL,
        tier_index INTEGER NOT NULL,
        tier_name VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        endpoint VARCHAR NOT NULL,
        prompt VARCHAR NOT NULL,                 -- JSON messages of the answer call
        raw_output VARCHAR,
        finish_reason VARCHAR,
        answer VARCHAR,
        confidence_raw DOUBLE,                   -- as the model gave it (1-5, log-prob, P(yes))
        confidence DOUBLE,                       -- normalised to [0, 1]
        parse_error VARCHAR,
        threshold DOUBLE,                        -- NULL for the last tier
        tokens_in BIGINT NOT NULL,               -- step totals, verify call included
        tokens_out BIGINT NOT NULL,
        cost DOUBLE NOT NULL,
        cost_source VARCHAR NOT NULL,
        latency_ms DOUBLE NOT NULL,
        attempts INTEGER NOT NULL,
        decision VARCHAR NOT NULL,               -- accepted | escalated | error | final
        reason VARCHAR NOT NULL,
        error VARCHAR,
        error_kind VARCHAR,
        simulated BOOLEAN NOT NULL,
        verify_prompt VARCHAR,
        verify_output VARCHAR,
        verify_tokens_in BIGINT,
        verify_tokens_out BIGINT,
        verify_cost DOUBLE,
        verify_latency_ms DOUBLE,
        verify_error VARCHAR,
        created_at TIMESTAMP NOT NULL           -- no key: (run_id, step_index) is unique by construction and
                                                -- an index here doubles the cost of logging a run
    )
    """,
]
