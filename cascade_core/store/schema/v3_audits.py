"""Schema version 3. Overconfidence audits (issue 5): audits, their sampled items with the judge's verdicts, reviews.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    """
    CREATE TABLE audits (
        audit_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,           -- naive UTC
        finished_at TIMESTAMP,
        status VARCHAR NOT NULL,                 -- running | interrupted | incomplete | done
        window_start TIMESTAMP NOT NULL,
        window_end TIMESTAMP NOT NULL,
        sample_size INTEGER NOT NULL,            -- requested
        seed INTEGER NOT NULL,
        include_audited BOOLEAN NOT NULL,
        sources VARCHAR NOT NULL,                -- JSON list of run sources sampled
        alert_rate DOUBLE NOT NULL,
        judge_tier VARCHAR NOT NULL,
        judge_model VARCHAR NOT NULL,
        judge_endpoint VARCHAR NOT NULL,
        accepted_volume BIGINT NOT NULL,         -- accepted non-final answers in the window
        candidates BIGINT NOT NULL,              -- of which not audited before (unless include_audited)
        simulated BOOLEAN NOT NULL
    )
    """,
    """
    CREATE TABLE audit_items (
        audit_id VARCHAR NOT NULL,
        item_index INTEGER NOT NULL,
        run_id VARCHAR NOT NULL,
        step_index INTEGER NOT NULL,
        run_created_at TIMESTAMP NOT NULL,
        tier_index INTEGER NOT NULL,
        tier_name VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        confidence DOUBLE,
        confidence_level VARCHAR NOT NULL,
        threshold DOUBLE,
        question VARCHAR NOT NULL,
        answer VARCHAR,
        gold VARCHAR,
        run_cost DOUBLE NOT NULL,                -- the cascade's cost of the run (not the judge's)
        status VARCHAR NOT NULL,                 -- pending | judged | error
        verdict VARCHAR,                         -- correct | incorrect | unsure
        rationale VARCHAR,
        parse_error VARCHAR,
        overconfident BOOLEAN,
        judge_prompt VARCHAR,                    -- JSON messages
        judge_output VARCHAR,                    -- raw reply
        judge_tokens_in BIGINT,
        judge_tokens_out BIGINT,
        judge_cost DOUBLE,                       -- USD, kept apart from cascade cost
        judge_cost_source VARCHAR,
        judge_latency_ms DOUBLE,
        judge_error VARCHAR,
        judged_at TIMESTAMP,
        PRIMARY KEY (audit_id, run_id, step_index)
    )
    """,
    """
    CREATE TABLE audit_reviews (
        audit_id VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL,
        step_index INTEGER NOT NULL,
        agrees BOOLEAN NOT NULL,                 -- the reviewer agrees with the judge's verdict
        reviewer VARCHAR,
        note VARCHAR,
        reviewed_at TIMESTAMP NOT NULL,
        PRIMARY KEY (audit_id, run_id, step_index)
    )
    """,
]
