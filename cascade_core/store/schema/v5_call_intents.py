"""Schema version 5. Calls in flight (issue 13): a request is recorded before it is sent and answered by a
later cache row (an audit deletes it), so a run resumed after kill -9 can tell which calls may
have been paid twice.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
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
]
