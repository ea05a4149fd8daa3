"""The store's schema as numbered forward migrations. Add a new version; never edit an applied one."""

from __future__ import annotations

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

_V1 = [
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

# version -> statements, applied in order inside one transaction per version.
MIGRATIONS: dict[int, list[str]] = {
    1: _V1,
    2: [  # threshold sweeps (issue 4): the call cache, saved sweeps, their points and outcome tables
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
    ],
    3: [  # overconfidence audits (issue 5)
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
    ],
    4: [  # real endpoints (issue 11): lost attempts (timed out, cut off) charged at an estimate
        "ALTER TABLE call_cache ADD COLUMN lost_attempts INTEGER DEFAULT 0",
        "ALTER TABLE call_cache ADD COLUMN lost_tokens_in BIGINT DEFAULT 0",
        "ALTER TABLE call_cache ADD COLUMN lost_tokens_out BIGINT DEFAULT 0",
        "ALTER TABLE call_cache ADD COLUMN estimated_cost DOUBLE DEFAULT 0",
        # audits grade against the answer key when there is one; the judge's verdict then measures the judge
        "ALTER TABLE audit_items ADD COLUMN key_correct BOOLEAN",
        "ALTER TABLE audit_items ADD COLUMN judge_disagrees BOOLEAN",
    ],
    5: [  # calls in flight (issue 13): a request is recorded before it is sent and answered by a later cache
        # row (an audit deletes it), so a run resumed after kill -9 can tell which calls may have been paid twice
        """
        CREATE TABLE call_intents (
            owner VARCHAR NOT NULL,                  -- sweep:<dataset> | audit:<audit_id>
            request_key VARCHAR NOT NULL,            -- sweep: the request hash; audit: <run_id>/<step_index>
            item_id VARCHAR,
            tier_name VARCHAR,
            model VARCHAR,
            started_at TIMESTAMP NOT NULL            -- naive UTC, when the request was about to be sent
        )                                            -- no key: appended per call, an index would double its cost
        """,
    ],
    6: [  # routing (issue 14): the embedding cache and shadow labels from live traffic
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
    ],
    7: [  # the run log at 10M runs (issue 15): per-hour aggregates the Overview and the Runs page's counts read
        # instead of scanning every run (store/rollup.py); filled and repaired from `runs`, never written by loggers
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
    ],
}
