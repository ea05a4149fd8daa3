"""Schema version 2. Threshold sweeps (issue 4): the call cache, saved sweeps, their points and outcome tables.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    """
    CREATE TABLE call_cache (
        request_hash VARCHAR PRIMARY KEY,        -- sha256 of canonical JSON {endpoint, params}; no key
        endpoint VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        tier_name VARCHAR,
        item_id VARCHAR,                         -- first item that asked (informational)
        dataset VARCHAR,
        kind VARCHAR NOT NULL,                   -- answer | verify
        raw_output VARCHAR,
        finish_reason VARCHAR,
        tokens_in BIGINT NOT NULL,
        tokens_out BIGINT NOT NULL,
        cost DOUBLE NOT NULL,
        cost_source VARCHAR NOT NULL,
        latency_ms DOUBLE NOT NULL,
        attempts INTEGER NOT NULL,
        logprobs VARCHAR,                        -- JSON [[token, logprob], ...]
        simulated BOOLEAN NOT NULL,
        error VARCHAR,                           -- set: the call failed and is retried on the next sweep
        error_kind VARCHAR,
        created_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE sweeps (
        sweep_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMP NOT NULL,
        name VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        config_fingerprint VARCHAR,
        source VARCHAR NOT NULL,                 -- live | import
        signal VARCHAR,
        tiers VARCHAR NOT NULL,                  -- JSON list, escalation order
        grid VARCHAR NOT NULL,                   -- JSON {shared_steps, per_tier_steps}
        target DOUBLE NOT NULL,
        split VARCHAR NOT NULL,                  -- JSON: column name or fraction
        seed INTEGER NOT NULL,
        n_items INTEGER NOT NULL,
        simulated BOOLEAN NOT NULL,
        recommendation VARCHAR,                  -- JSON
        metrics VARCHAR,                         -- JSON
        notes VARCHAR                            -- JSON list
    )
    """,
    """
    CREATE TABLE sweep_points (
        sweep_id VARCHAR NOT NULL,
        point_index INTEGER NOT NULL,
        kind VARCHAR NOT NULL,                   -- shared | per_tier | always | oracle
        label VARCHAR,
        thresholds VARCHAR NOT NULL,             -- JSON list
        accuracy DOUBLE,
        cost_per_1k DOUBLE,
        mean_latency_ms DOUBLE,
        tier_share VARCHAR NOT NULL,             -- JSON list
        on_front BOOLEAN NOT NULL,
        PRIMARY KEY (sweep_id, point_index)
    )
    """,
    """
    CREATE TABLE sweep_outcomes (
        sweep_id VARCHAR NOT NULL,
        item_id VARCHAR NOT NULL,
        tier VARCHAR NOT NULL,
        tier_index INTEGER NOT NULL,
        answer VARCHAR,
        correct BOOLEAN,
        confidence DOUBLE,
        confidence_raw DOUBLE,
        tokens_in BIGINT NOT NULL,
        tokens_out BIGINT NOT NULL,
        cost DOUBLE NOT NULL,
        latency_ms DOUBLE,
        category VARCHAR,
        split VARCHAR,
        PRIMARY KEY (sweep_id, item_id, tier)
    )
    """,
]
