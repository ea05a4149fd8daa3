"""Schema version 9. Text search at 10M runs (issue 15): a data-skipping index of the runs' text, one bitmap of
hashed trigrams per block of consecutive runs (store/text_index.py); built and repaired from `runs` behind a
watermark, never written by loggers.

Applied once, in one transaction; never edit it: add a new version.
"""

STATEMENTS: list[str] = [
    """
    CREATE TABLE run_text_index (
        block_start TIMESTAMP NOT NULL,          -- the block holds the runs with block_start <= created_at
        block_end TIMESTAMP NOT NULL,            -- ... < block_end (blocks tile the runs below the watermark)
        runs BIGINT NOT NULL,                    -- runs in the block when it was built
        checksum BIGINT NOT NULL,                -- bit_xor(hash(run_id)) >> 1 of those runs
        bits BLOB NOT NULL                       -- the trigram bitmap (text_index.BITS bits, most significant first)
    )
    """,
    """
    CREATE TABLE run_text_index_state (
        watermark TIMESTAMP NOT NULL,            -- runs created before it are in the blocks
        folded_at TIMESTAMP NOT NULL
    )
    """,
]
