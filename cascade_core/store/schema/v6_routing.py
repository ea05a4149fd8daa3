"""Schema version 6. Routing (issue 14): the embedding cache and shadow labels from live traffic.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    """
    CREATE TABLE embeddings (
        key VARCHAR PRIMARY KEY,                 -- sha256 of model + text
        model VARCHAR NOT NULL,
        text VARCHAR NOT NULL,
        vector FLOAT[] NOT NULL,                 -- L2-normalised
        created_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE shadow_labels (
        run_id VARCHAR PRIMARY KEY,              -- the live run whose accepted answer was shadowed
        created_at TIMESTAMP NOT NULL,           -- naive UTC, when the shadow call finished
        run_created_at TIMESTAMP NOT NULL,
        run_source VARCHAR NOT NULL,             -- api | query
        route VARCHAR,
        tier_index INTEGER NOT NULL,             -- the non-final tier that accepted
        tier_name VARCHAR NOT NULL,
        confidence DOUBLE,
        threshold DOUBLE,
        answer VARCHAR,
        shadow_tier VARCHAR NOT NULL,            -- the last tier, asked in the background
        shadow_model VARCHAR NOT NULL,
        shadow_answer VARCHAR,
        agree BOOLEAN,                           -- NULL when the shadow call failed
        gold VARCHAR,
        correct BOOLEAN,                         -- the accepted answer against gold (NULL: no gold)
        shadow_correct BOOLEAN,
        cost DOUBLE NOT NULL,                    -- the shadow call's cost, USD (charged, kept apart)
        tokens_in BIGINT NOT NULL,
        tokens_out BIGINT NOT NULL,
        latency_ms DOUBLE NOT NULL,
        error VARCHAR,
        simulated BOOLEAN NOT NULL
    )
    """,
]
