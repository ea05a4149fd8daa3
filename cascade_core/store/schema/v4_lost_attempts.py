"""Schema version 4. Real endpoints (issue 11): lost attempts (timed out, cut off) charged at an estimate.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    "ALTER TABLE call_cache ADD COLUMN lost_attempts INTEGER DEFAULT 0",
    "ALTER TABLE call_cache ADD COLUMN lost_tokens_in BIGINT DEFAULT 0",
    "ALTER TABLE call_cache ADD COLUMN lost_tokens_out BIGINT DEFAULT 0",
    "ALTER TABLE call_cache ADD COLUMN estimated_cost DOUBLE DEFAULT 0",
    # audits grade against the answer key when there is one; the judge's verdict then measures the judge
    "ALTER TABLE audit_items ADD COLUMN key_correct BOOLEAN",
    "ALTER TABLE audit_items ADD COLUMN judge_disagrees BOOLEAN",
]
