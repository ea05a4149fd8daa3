"""The text index (store/text_index.py) never misses a match: on a real DuckDB file and a real DuckLake, every
search through it (count, page, why-empty counts) equals a full scan with the same RE2 pattern, for random and
adversarial queries (unicode case variants, punctuation, short, spanning words, answers only), with runs logged
after the fold, runs committed late below its watermark, and after purges; its case folding agrees with RE2's."""

from __future__ import annotations

import random
import string
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from cascade_core.store import LakeTarget, PurgeCriteria, RunFilter, RunSort, Store, purge, text_search
from cascade_core.store import text_index as ti
from cascade_core.store.runs_query import count_runs, filter_counts, runs_page, text_pattern
from cascade_core.store.text_search import count_matches, search_page, text_candidates
from tests.factories import hours_ago, make_trace

WORDS = ("capital river prime photosynthesis discount ledger orbit vector enzyme treaty Straße ΣΟΦΙΑ σοφία "
         "Kelvin naïve café Ωmega 東京 emoji🙂 C++ 50% a_b [x] (y) $HOME ^caret dot.dot back\\slash").split()
ODD = ["\u212a", "\u017f", "\u0131", "\u0130", "\u1e9e", "\u00df", "\u03c2", "\u00b5", "\u03bc", "\u2126", "\u01c5"]
BLOCK = 40  # runs per block in these tests (BLOCK_RUNS is thousands): many blocks from a few thousand runs


def _text(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 9))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(ODD) + rng.choice(string.ascii_letters))
    if rng.random() < 0.2:
        words.append(f"#{rng.randrange(10**6):06d}")
    return " ".join(words)


def _log(store: Store, n: int, seed: int, hours: tuple[float, float] = (0, 300)) -> list[Any]:
    rng = random.Random(seed)
    traces = []
    for _ in range(n):
        trace = make_trace(rng.randrange(3), question=_text(rng), source=rng.choice(["api", "query"]),
                           when=hours_ago(rng.uniform(*hours)))
        trace.final_answer = _text(rng) if rng.random() < 0.8 else None
        traces.append(trace)
    store.log_traces(traces)
    return traces


def _queries(store: Store, seed: int, pieces: int = 60) -> list[str]:
    """Substrings of stored texts (`pieces` of them: some crossing words, some re-cased or with case variants
    swapped in), short ones, punctuation, texts only answers hold, and texts no run holds."""
    rng = random.Random(seed)
    texts = [t for row in store.execute("SELECT question, final_answer FROM runs USING SAMPLE 60 ROWS")
             for t in row if t]
    swaps = {"k": "\u212a", "s": "\u017f", "K": "k", "ß": "\u1e9e", "σ": "ς", "μ": "µ", "ω": "\u2126", "i": "I"}
    out = ["zebra crossing", "qqqzzz", "ab", "a", "50%", "[x] (y)", "back\\slash", "$HOME ^", "dot.d", "🙂",
           "東京", "STRASSE", "straße", "strasse", "ΣΟΦΊΑ", "σοφια", "kelvin", "\u212aelvin", "ſ", "NAÏVE", "Ωmega",
           "ωMEGA", "\u2126mega", "c++ 5", "a_b [", "ı", "İ"]
    for _ in range(pieces):
        text = rng.choice(texts)
        low = rng.randrange(len(text))
        piece = text[low:low + rng.randint(1, 14)]
        if rng.random() < 0.4:
            piece = piece.swapcase()
        if rng.random() < 0.3:
            piece = "".join(swaps.get(c, c) for c in piece)
        out.append(piece)
    return [q for q in out if q.strip()]


def _scan(store: Store, text: str) -> set[str]:
    """Run ids matching the text, found by reading every run (no index)."""
    pattern = text_pattern(text)
    return {r[0] for r in store.execute("SELECT run_id FROM runs WHERE regexp_matches(question, ?) OR "
                                        "regexp_matches(final_answer, ?)", [pattern, pattern])}


def _check_exact(store: Store, seed: int, pieces: int) -> None:
    for text in _queries(store, seed, pieces):
        expected = _scan(store, text)
        found = ti.candidates(store, text)
        if found is not None:  # every match lies in a range the index keeps
            created = store.execute("SELECT created_at FROM runs WHERE list_contains(?, run_id)", [list(expected)])
            for (when,) in created:
                assert any(low <= when and (high is None or when < high) for low, high in found.ranges), text
        f = RunFilter(text=text)
        assert count_runs(store, f) == len(expected), text
        assert count_matches(store, f).value == len(expected), text
        everything = len(expected) + 1
        assert set(runs_page(store, f, RunSort(), limit=everything)["run_id"]) == expected, text
        assert set(search_page(store, f, RunSort("cost"), limit=everything).rows["run_id"]) == expected, text
        narrowed = text_candidates(store, f)  # as the page asks: looked up once, count and page read together
        counted = count_matches(store, f, narrowed=narrowed, page=(RunSort("latency"), 7, 0))
        shown = search_page(store, f, RunSort("latency"), limit=7, narrowed=narrowed).rows["run_id"].tolist()
        assert counted.exact and counted.value == len(expected), text
        assert shown == runs_page(store, f, RunSort("latency"), limit=7)["run_id"].tolist(), text
        if not expected:
            counts = filter_counts(store, dataclass_with(f, sources=("api",)))
            assert counts.matching == 0 and counts.without["sources"] == 0, text
            assert counts.without["text"] == int(store.execute(
                "SELECT count(*) FROM runs WHERE source = 'api'")[0][0])


def dataclass_with(f: RunFilter, **changes: Any) -> RunFilter:
    import dataclasses

    return dataclasses.replace(f, **changes)


def _lifecycle(store: Store, monkeypatch: pytest.MonkeyPatch, pieces: int = 60) -> None:
    """The index through its life (fold, late runs, repair, purge, rebuild), every search checked against a full
    scan; `pieces`: random substrings per check beside the fixed hard cases."""
    monkeypatch.setattr(ti, "BLOCK_RUNS", BLOCK)
    monkeypatch.setattr(ti, "BATCH_RUNS", 3 * BLOCK)  # several batches per piece, several pieces per fold
    monkeypatch.setattr(ti, "PIECE_RUNS", 7 * BLOCK)
    monkeypatch.setattr(text_search, "SHARED_ROWS", 5)  # a count from the page's scan, and one counted apart
    _log(store, 1500, seed=1)
    assert ti.candidates(store, "capital") is None  # nothing indexed yet (the tail is under FOLD_MIN_RUNS)
    indexed = ti.refresh(store, min_runs=0, margin=timedelta(hours=20))
    assert 1300 < indexed < 1500
    blocks = store.execute("SELECT count(*), sum(runs), min(runs), max(runs) FROM run_text_index")[0]
    assert blocks[0] > 30 and blocks[1] == indexed and blocks[2] >= 1
    kept = ti.candidates(store, "zebra crossing")
    assert kept is not None and kept.kept == 0 and kept.blocks == blocks[0]  # absent: only the tail is read
    _check_exact(store, seed=2, pieces=pieces)

    _log(store, 300, seed=3, hours=(0, 5))  # logged after the fold: above the watermark, scanned
    _check_exact(store, seed=4, pieces=pieces)

    late = _log(store, 4, seed=5, hours=(100, 101))  # committed late below the watermark: no block has its bits
    late_text = late[0].question
    assert ti.candidates(store, late_text) is not None  # the disagreement is seen and repaired before reading
    assert ti.repair(store) == 0  # ... so nothing is left to repair
    assert late[0].run_id in _scan(store, late_text) and late[0].run_id in set(
        runs_page(store, RunFilter(text=late_text), RunSort(), limit=1000)["run_id"])

    first = store.execute("SELECT min(block_start) FROM run_text_index")[0][0]
    store.log_traces([make_trace(1, question="unique late words", when=first + timedelta(minutes=1)),  # late into
                      make_trace(1, question="older than every block", when=first - timedelta(hours=100))])  # the
    # first block, and before it: a run that belongs to no block
    assert ti.repair(store) >= 1
    oldest = RunFilter(text="older than every block")
    assert len(_scan(store, oldest.text)) == count_runs(store, oldest) == 1
    _check_exact(store, seed=6, pieces=pieces)

    gone = late[1].question
    assert purge(store, PurgeCriteria(text=gone), rewrite=False).removed["runs"] >= 1
    stale = store.execute(  # after a purge every block's count and checksum match its runs again
        "SELECT count(*) FROM run_text_index b WHERE runs <> (SELECT count(*) FROM runs r WHERE r.created_at >= "
        "b.block_start AND r.created_at < b.block_end)")[0][0]
    assert stale == 0
    assert ti.repair(store, thorough=True) == 0
    assert count_runs(store, RunFilter(text=gone)) == 0
    purge(store, PurgeCriteria(older_than=hours_ago(150)), rewrite=False)
    _check_exact(store, seed=7, pieces=pieces)

    ti.reset(store)  # the rebuild path: forget, then index every run again
    assert ti.candidates(store, "capital") is None
    ti.refresh(store, min_runs=0, margin=timedelta(0))
    assert int(store.execute("SELECT sum(runs) FROM run_text_index")[0][0]) == store.count_runs() - int(
        store.execute("SELECT count(*) FROM runs WHERE created_at = (SELECT max(created_at) FROM runs)")[0][0])
    _check_exact(store, seed=8, pieces=pieces)


def test_searches_through_the_index_equal_a_full_scan_on_a_file(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(tmp_path / "t.duckdb") as store:
        _lifecycle(store, monkeypatch)


def test_searches_through_the_index_equal_a_full_scan_on_a_lake(lake: LakeTarget,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(lake) as store:
        options = {(name, entry): value for name, value, entry in store.execute(
            "SELECT option_name, value, scope_entry FROM ducklake_options('lake') WHERE scope = 'TABLE'")}
        assert options[("parquet_row_group_size", "main.runs")] == "16384"  # a block's range reads ~16k questions
        assert options[("data_inlining_row_limit", "main.run_text_index")] == "0"  # BLOBs are never inlined
        _lifecycle(store, monkeypatch, pieces=12)  # the same code as on a file; every lake query costs ~5x more


def test_a_read_only_store_uses_no_index_that_disagrees_with_the_runs(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ti, "BLOCK_RUNS", BLOCK)
    path = tmp_path / "t.duckdb"
    with Store(path) as store:
        _log(store, 400, seed=9)
        ti.refresh(store, min_runs=0, margin=timedelta(hours=1))
        late = _log(store, 1, seed=10, hours=(200, 200))[0]
    with Store(path, read_only=True) as reader:
        assert ti.candidates(reader, late.question) is None  # cannot repair: no index, every run is read
        assert late.run_id in set(runs_page(reader, RunFilter(text=late.question), RunSort(), limit=1000)["run_id"])


@pytest.mark.parametrize("text", ["ab", "a", "µµµ", "ςσς", "ΣΟΦ"])
def test_texts_the_index_cannot_narrow_use_no_index(text: str) -> None:
    assert ti.query_bits(text) is None


def test_bits_come_from_every_safe_trigram() -> None:
    assert ti.query_bits("Kelvin") == ti.query_bits("\u212aELVIN") == ti.query_bits("kelvin")
    assert ti.query_bits("ſoſ") == ti.query_bits("SOS")
    some = ti.query_bits("aσbcd")  # σ is unsafe (σ/ς/Σ fold apart): only "bcd" is looked up
    assert some is not None and len(some) == 1


def test_unsafe_characters_are_those_whose_case_variants_fold_apart() -> None:
    """UNSAFE, recomputed from Unicode's case mappings (a superset of RE2's case orbits) and `fold` itself."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for c in range(0x110000):
        if 0xD800 <= c < 0xE000:
            continue
        ch = chr(c)
        for other in (ch.lower(), ch.upper(), ch.casefold(), ch.title()):
            if len(other) == 1 and other != ch:
                a, b = find(c), find(ord(other))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, set[int]] = {}
    for c in list(parent):
        groups.setdefault(find(c), {find(c)}).add(c)
    members = sorted(set().union(*groups.values()))
    folded = dict(zip(members, ti.fold(pa.array([chr(c) for c in members])).to_pylist(), strict=True))
    unsafe = {chr(c) for group in groups.values() if len({folded[c] for c in group}) > 1 for c in group}
    assert unsafe == ti.UNSAFE


def _re2_agrees(first: int, last: int) -> None:
    """For every character a in [first, last): each character RE2's (?i)a matches in the BMP folds like a (or a
    is UNSAFE, so the index never looks it up)."""
    chars = [c for c in range(0x20, 0x10000) if not 0xD800 <= c < 0xE000]
    everything = "".join(chr(c) for c in chars)
    folded = dict(zip(chars, ti.fold(pa.array([chr(c) for c in chars])).to_pylist(), strict=True))
    con = duckdb.connect()
    wrong = []
    for a in range(max(first, 0x20), last):
        if 0xD800 <= a < 0xE000 or chr(a) in ti.UNSAFE:
            continue
        pattern = text_pattern(chr(a))
        for match in con.execute("SELECT regexp_extract_all(?, ?)", [everything, pattern]).fetchone()[0]:
            if folded[ord(match)] != folded[a]:
                wrong.append((hex(a), hex(ord(match))))
    assert not wrong


def test_case_folding_agrees_with_re2_on_latin_greek_cyrillic_and_letterlike_symbols() -> None:
    for first, last in ((0x20, 0x250), (0x370, 0x530), (0x1E00, 0x2000), (0x2100, 0x2150)):
        _re2_agrees(first, last)


@pytest.mark.slow
def test_case_folding_agrees_with_re2_on_the_whole_bmp() -> None:
    _re2_agrees(0x20, 0x10000)
