"""A data-skipping index for text search (the design of ClickHouse's ngrambf skip indexes), kept as a table of
the store so it works on a DuckDB file and on DuckLake alike.

The runs created before a watermark are cut into blocks of about BLOCK_RUNS consecutive runs by created_at (a
block is a plain range [block_start, block_end), its edges between distinct created_at values, and the blocks
tile the runs below the watermark). Per block, one bitmap of 2^BITS bits: one bit per hashed byte trigram of the
case-folded question and final answer of its runs. A run that holds a text holds every trigram of it, so a
block missing one of the text's bits holds no match: a search scans only the blocks that have them all (and
the runs after the watermark) with the real RE2 pattern, so what it finds and counts stays exact.

Never missing a match:
- case folding: the text and the query are folded the same way (Unicode lower case, then ſ -> s and ı -> i, so
  every character RE2's (?i) takes for s or i folds alike; the Kelvin sign lower-cases to k); a query trigram
  touching a character whose case variants still fold apart (UNSAFE: µ/μ, ς/σ, ϑ/θ, ...) is not required;
- queries under MIN_CHARS characters use no index; trigrams crossing from one run's text into the next only add
  bits;
- completeness is checked on every read, as the rollup's is (the runs below the watermark against the blocks'
  counts, in one snapshot): a late commit, a migration or a purge makes them disagree, and the blocks whose
  runs changed (their count, or with `thorough` a checksum of their run ids) are built again; a reader that
  cannot write uses no index until then. Bits of deleted runs only add candidates; a purge repairs thoroughly.

Loggers never write here. A process that may write folds the tail once it holds rollup.FOLD_MIN_RUNS runs (the
dashboard before a search, each server's lake maintenance), vectorised over Arrow buffers with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cascade_core.clock import utc_now
from cascade_core.store import rollup
from cascade_core.store.connection import registered
from cascade_core.store.store import Store

BLOCK_RUNS = 4096  # runs per block (about): fewer runs, fewer trigrams per bitmap, fewer false candidates
BITS = 17  # 2^17 bits (16 KiB) per block
PIECE_RUNS = 1_000_000  # a fold commits every this many runs, so a long backfill keeps its progress
BATCH_RUNS = 32_768  # runs hashed at once (bounds memory: ~25 MB of text)
MIN_CHARS = 3
READ_FOLD_RUNS = 2_000_000  # a search folds a tail up to this many runs itself (~20 s at most); more is a backlog
REBUILD_SHARE = 0.25  # more blocks than this share to repair: rebuild the whole index
TABLES = ("run_text_index_state", "run_text_index")
# Characters whose case variants RE2's (?i) matches but `fold` maps apart (recomputed from Unicode's case data
# in tests/test_text_index.py): a query trigram touching one is not looked up.
UNSAFE = frozenset(  # as escapes: U+1FBE would be normalised to U+03B9 by an editor
    "\u00b5\u0345\u0392\u0395\u0398\u0399\u039a\u039c\u03a0\u03a1\u03a3\u03a6\u03b2\u03b5\u03b8\u03b9"
    "\u03ba\u03bc\u03c0\u03c1\u03c2\u03c3\u03c6\u03d0\u03d1\u03d5\u03d6\u03f0\u03f1\u03f4\u03f5\u0412"
    "\u0414\u041e\u0421\u0422\u042a\u0432\u0434\u043e\u0441\u0442\u044a\u0462\u0463\u1c80\u1c81\u1c82"
    "\u1c83\u1c84\u1c85\u1c86\u1c87\u1c88\u1e60\u1e61\u1e9b\u1fbe\ua64a\ua64b")
_FOLDS = (("ſ", "s"), ("ı", "i"))
_MULTIPLIER = np.uint32(0x9E3779B1)  # Fibonacci hashing of the 24-bit trigram


def fold(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text as the index sees it: lower case, with ſ and ı folded to s and i."""
    lowered = pc.utf8_lower(values)
    for char, plain in _FOLDS:
        lowered = pc.replace_substring(lowered, char, plain)
    return lowered.combine_chunks() if isinstance(lowered, pa.ChunkedArray) else lowered


def trigram_hashes(data: np.ndarray) -> np.ndarray:
    """Per byte position p of `data` (uint8), the BITS-bit hash of data[p:p+3]: len(data) - 2 values."""
    if len(data) < 3:
        return np.empty(0, np.uint32)
    h = data[:-2].astype(np.uint32) << 16
    h |= data[1:-1].astype(np.uint32) << 8
    h |= data[2:]
    h *= _MULTIPLIER
    h >>= 32 - BITS
    return h


def query_bits(text: str) -> list[int] | None:
    """The bits a block must have to hold `text` (case-insensitively), or None when the index cannot help."""
    if len(text) < MIN_CHARS:
        return None
    chars = list(text)
    parts: list[bytes] = [b""]  # the folded bytes of runs of safe characters; an unsafe one cuts a run
    for char, folded in zip(chars, fold(pa.array(chars)).to_pylist(), strict=True):
        if char in UNSAFE:
            parts.append(b"")
        else:
            parts[-1] += str(folded).encode()
    bits = sorted({int(h) for part in parts for h in trigram_hashes(np.frombuffer(part, np.uint8))})
    return bits or None


def _buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a string array, offsets relative to the bytes returned."""
    if pa.types.is_large_string(values.type):
        width: type[np.signedinteger[Any]] = np.int64
    elif pa.types.is_string(values.type):
        width = np.int32
    else:
        values = values.cast(pa.large_string())
        width = np.int64
    _, offsets_buf, data_buf = values.buffers()
    offsets = np.frombuffer(offsets_buf, width)[values.offset:values.offset + len(values) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    return offsets - offsets[0], data[offsets[0]:offsets[-1]]


def bitmaps(table: pa.Table, row_starts: np.ndarray) -> np.ndarray:
    """One packed bitmap per block (rows [row_starts[b], row_starts[b+1]) of `table`, sorted by created_at):
    uint8 array of shape (blocks, 2^BITS / 8)."""
    blocks = len(row_starts) - 1
    bits = np.zeros((blocks, 1 << BITS), np.bool_)
    for column in ("question", "final_answer"):
        offsets, data = _buffers(fold(table[column]))
        hashes = trigram_hashes(data)
        edges = offsets[row_starts]
        for b in range(blocks):
            bits[b, hashes[edges[b]:max(edges[b], edges[b + 1] - 2)]] = True
    return np.packbits(bits, axis=1)


def _checksums(ids: np.ndarray, row_starts: np.ndarray) -> list[int]:
    """bit_xor(hash(run_id)) >> 1 per block, as the SQL in `repair` computes it (0 for an empty block)."""
    out = []
    for b in range(len(row_starts) - 1):
        part = ids[row_starts[b]:row_starts[b + 1]]
        out.append(int(np.bitwise_xor.reduce(part) >> np.uint64(1)) if len(part) else 0)
    return out


def _build(con: duckdb.DuckDBPyConnection, edges: list[datetime]) -> int:
    """Insert the blocks [edges[i], edges[i+1]) built from the runs in them, a batch of blocks at a time; the
    runs indexed."""
    step = max(1, BATCH_RUNS // BLOCK_RUNS)
    indexed = 0
    for i in range(0, len(edges) - 1, step):
        cuts = edges[i:i + step + 1]
        table = con.execute("SELECT created_at, question, final_answer, hash(run_id) AS h FROM runs "
                            "WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
                            [cuts[0], cuts[-1]]).fetch_arrow_table()
        times = table["created_at"].to_numpy().astype("datetime64[us]")
        row_starts = np.searchsorted(times, np.array(cuts, dtype="datetime64[us]"), side="left")
        rows = pa.table({
            "block_start": pa.array(cuts[:-1], pa.timestamp("us")),
            "block_end": pa.array(cuts[1:], pa.timestamp("us")),
            "runs": pa.array(np.diff(row_starts).astype(np.int64)),
            "checksum": pa.array(_checksums(table["h"].to_numpy().astype(np.uint64), row_starts), pa.int64()),
            "bits": pa.array([m.tobytes() for m in bitmaps(table, row_starts)], pa.binary()),
        })
        with registered(con, _text_blocks=rows):
            con.execute("INSERT INTO run_text_index SELECT block_start, block_end, runs, checksum, bits "
                        "FROM _text_blocks")
        indexed += len(table)
    return indexed


def block_edges(times: np.ndarray, counts: np.ndarray, low: datetime, high: datetime) -> list[datetime]:
    """Block edges from `low` to `high` over the distinct created_at values `times` (sorted, in [low, high)) and
    their run counts: a new block starts at the first distinct time once BLOCK_RUNS more runs are behind."""
    before = np.cumsum(counts) - counts  # runs before each distinct time
    targets = np.arange(BLOCK_RUNS, int(before[-1]) + 1 if len(before) else 0, BLOCK_RUNS)
    starts = np.unique(np.searchsorted(before, targets, side="left"))
    starts = starts[(starts > 0) & (starts < len(times))]
    inner = [pd.Timestamp(t).to_pydatetime() for t in times[starts]]
    return [low, *inner, high]


def _set_watermark(con: duckdb.DuckDBPyConnection, w: datetime) -> None:
    con.execute("DELETE FROM run_text_index_state")
    con.execute("INSERT INTO run_text_index_state VALUES (?, ?)", [w, utc_now()])


def _current(con: duckdb.DuckDBPyConnection) -> datetime | None:
    row = con.execute("SELECT max(watermark) FROM run_text_index_state").fetchone()
    return None if row is None or row[0] is None else pd.Timestamp(row[0]).to_pydatetime()


def fold_tail(store: Store, w: datetime | None, target: datetime) -> int:
    """Index the runs in [w, target) (every run before `target` when w is None), committing every PIECE_RUNS
    runs with the watermark moved to the piece's end; stops when another process folded meanwhile. Runs indexed."""
    low_sql, low_params = ("created_at >= ? AND ", [w]) if w is not None else ("", [])
    frame = store.query_df(f"SELECT created_at, count(*) AS n FROM runs WHERE {low_sql}created_at < ? "
                           "GROUP BY 1 ORDER BY 1", [*low_params, target])
    if frame.empty:
        return 0
    times = frame["created_at"].to_numpy().astype("datetime64[us]")
    counts = frame["n"].to_numpy().astype(np.int64)
    low = w if w is not None else pd.Timestamp(times[0]).to_pydatetime()
    edges = block_edges(times, counts, low, target)
    per_piece = max(1, PIECE_RUNS // BLOCK_RUNS)
    indexed = 0
    expected = w
    for i in range(0, len(edges) - 1, per_piece):
        cuts = edges[i:i + per_piece + 1]

        def work(con: duckdb.DuckDBPyConnection, cuts: list[datetime] = cuts,
                 expected: datetime | None = expected) -> int | None:
            if _current(con) != expected:  # another process folded meanwhile
                return None
            done = _build(con, cuts)
            _set_watermark(con, cuts[-1])
            return done

        done = store.write(work)
        if done is None:
            break
        indexed += done
        expected = cuts[-1]
    return indexed


def refresh(store: Store, *, min_runs: int = rollup.FOLD_MIN_RUNS, margin: timedelta = rollup.FOLD_MARGIN,
            max_runs: int | None = None) -> int:
    """Repair blocks whose runs changed, then index the tail when it holds at least `min_runs` runs (all but the
    last `margin` of time, where late commits land) and, given `max_runs`, at most that many (a bigger backlog
    is left to `store maintain` or a server's maintenance). A no-op for a read-only store. Runs indexed."""
    if store.read_only:
        return 0
    state = rollup.tail_state(store, *TABLES)
    if not state.consistent:
        repair(store)
        state = rollup.tail_state(store, *TABLES)
    if state.newest is None or state.tail < min_runs or (max_runs is not None and state.tail > max_runs):
        return 0
    target = state.newest - margin
    if state.w is not None and target <= state.w:
        return 0
    return fold_tail(store, state.w, target)


def repair(store: Store, *, thorough: bool = False) -> int:
    """Build again every block whose runs changed since it was built: its count differs (or, `thorough`, the
    checksum of its run ids: a run deleted and another added); runs before the first block join it. Blocks
    rebuilt (every block when more than REBUILD_SHARE of them changed)."""
    def work(con: duckdb.DuckDBPyConnection) -> int:
        w = _current(con)
        if w is None:  # blocks without a watermark (a fold half undone by hand): start again
            con.execute("DELETE FROM run_text_index")
            return 0
        blocks = con.execute("SELECT block_start, block_end, runs, checksum FROM run_text_index "
                             "ORDER BY block_start").df()
        actual = con.execute(
            "SELECT b.block_start, count(*) AS n, (bit_xor(hash(r.run_id)) >> 1)::BIGINT AS checksum "
            "FROM (SELECT run_id, created_at FROM runs WHERE created_at < ?) r "
            "ASOF JOIN (SELECT block_start FROM run_text_index) b ON r.created_at >= b.block_start GROUP BY 1",
            [w]).df()
        first = blocks["block_start"].min() if len(blocks) else w
        row = con.execute("SELECT min(created_at) FROM runs WHERE created_at < ?", [first]).fetchone()
        orphans_from = None if row is None or row[0] is None else pd.Timestamp(row[0]).to_pydatetime()
        merged = blocks.merge(actual, on="block_start", how="left", suffixes=("", "_now"))
        merged["n"] = merged["n"].fillna(0).astype(np.int64)
        merged["checksum_now"] = merged["checksum_now"].fillna(0).astype(np.int64)
        changed = merged["runs"] != merged["n"]
        if thorough:
            changed |= merged["checksum"] != merged["checksum_now"]
        bad = merged[changed]
        if orphans_from is None and bad.empty:
            return 0
        if len(bad) > REBUILD_SHARE * max(1, len(blocks)):
            con.execute("DELETE FROM run_text_index")
            con.execute("DELETE FROM run_text_index_state")
            return len(blocks)
        starts = [pd.Timestamp(t).to_pydatetime() for t in bad["block_start"]]
        ends = [pd.Timestamp(t).to_pydatetime() for t in bad["block_end"]]
        if orphans_from is not None:  # the first block grows back to the earliest run
            starts.insert(0, orphans_from)
            ends.insert(0, pd.Timestamp(first).to_pydatetime())
        con.execute("DELETE FROM run_text_index WHERE list_contains(?, block_start)",
                    [[pd.Timestamp(t).to_pydatetime() for t in bad["block_start"]]])
        for start, end in zip(starts, ends, strict=True):
            _build(con, [start, end])
        return len(starts)

    return store.write(work)


def reset(store: Store) -> None:
    """Forget the index: the next refresh indexes every run again."""
    def work(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("DELETE FROM run_text_index")
        con.execute("DELETE FROM run_text_index_state")
    store.write(work)


@dataclass(frozen=True)
class Candidates:
    """Where a text may occur: created_at ranges [low, high) (high None: no end) holding every run that may
    match; the runs elsewhere (below the watermark, in blocks missing a bit) hold none."""

    ranges: list[tuple[datetime, datetime | None]]
    runs: int  # runs in those ranges (the tail counted whole)
    window_runs: int  # runs in the blocks overlapping the window and in the tail
    blocks: int  # blocks in the window
    kept: int  # ... of which have every bit
    # What one render's readers found in these ranges (text_search: a count and a page read in one scan), so
    # the next reader of the same render need not scan again; dropped with this object.
    found: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


MAX_RANGES = 48  # more ranges than this: the closest ones are merged (scanning the few runs between them)


def candidates(store: Store, text: str, start: datetime | None = None, end: datetime | None = None
               ) -> Candidates | None:
    """The ranges holding every possible match of `text` among the runs created in [start, end], or None when
    the index cannot tell (a short or unindexable text, an index that disagrees with the runs and a store that
    may not repair it). Brings the index up to date first when the store may write (see `refresh`)."""
    bits = query_bits(text)
    if bits is None:
        return None

    def read(w: datetime | None) -> Candidates | None:
        if w is None:
            return None
        window, params = _overlapping(start, end)
        needs = " AND ".join("get_bit(bits::BIT, ?) = 1" for _ in bits)
        upto = "" if end is None else " AND created_at <= ?"
        frame = store.query_df(  # the blocks in the window, then one row (block_start NULL) counting the tail
            f"SELECT block_start, block_end, runs, {needs} AS kept FROM run_text_index WHERE {window} "
            f"UNION ALL SELECT NULL, NULL, count(*), NULL FROM all_runs WHERE created_at >= ?{upto} "
            "ORDER BY block_start NULLS LAST",
            [*bits, *params, w if start is None else max(w, start), *([] if end is None else [end])])
        return _ranges(frame.iloc[:-1], w, int(frame["runs"].iloc[-1]))

    return rollup.read(store, read, tables=TABLES, refresh_fn=_refresh_quietly)


def _refresh_quietly(store: Store) -> None:
    refresh(store, max_runs=READ_FOLD_RUNS)


def _overlapping(start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    """Blocks overlapping the runs created in [start, end]."""
    conds = (["block_end > ?"] if start is not None else []) + (["block_start <= ?"] if end is not None else [])
    return " AND ".join(conds) or "TRUE", [v for v in (start, end) if v is not None]


def _ranges(frame: pd.DataFrame, w: datetime, tail: int) -> Candidates:
    """Kept blocks merged into ranges (adjacent ones joined, then the closest while there are too many), plus
    the tail from the watermark on."""
    spans: list[list[Any]] = []  # [low, high, runs in kept blocks, runs in skipped blocks inside]
    gap = 0
    gaps: list[int] = []
    for low, high, runs, kept in frame.itertuples(index=False):
        if not kept:
            gap += int(runs)
            continue
        if spans and spans[-1][1] == low and gap == 0:
            spans[-1][1] = high
            spans[-1][2] += int(runs)
        else:
            if spans:
                gaps.append(gap)
            spans.append([low, high, int(runs)])
        gap = 0
    if tail:
        if spans and spans[-1][1] == w and gap == 0:
            spans[-1][1] = None
            spans[-1][2] += tail
        else:
            if spans:
                gaps.append(gap)
            spans.append([w, None, tail])
    while len(spans) > MAX_RANGES:  # join the two ranges with the fewest runs between them
        k = int(np.argmin(gaps))
        spans[k][1] = spans[k + 1][1]
        spans[k][2] += gaps[k] + spans[k + 1][2]
        del spans[k + 1]
        del gaps[k]
    ranges = [(pd.Timestamp(lo).to_pydatetime(), None if hi is None else pd.Timestamp(hi).to_pydatetime())
              for lo, hi, _ in spans]
    return Candidates(ranges, sum(s[2] for s in spans), int(frame["runs"].sum()) + tail, len(frame),
                      int(frame["kept"].sum()) if len(frame) else 0)
