"""The run log's engines side by side (issue 15). Starts its own throwaway PostgreSQL (Debian's `postgresql`).

    .venv/bin/python bench/bench_store.py writers [--writers 4] [--seconds 20] [--batch 250]
        N writer processes committing realistic runs (3 steps each, 500-char questions) as `serve` does, into
        DuckLake on PostgreSQL, DuckLake on a local SQLite catalog, and (one writer at a time) a DuckDB file:
        runs/s, data files before and after scheduled maintenance. Target: >= 2,000 runs/s on PostgreSQL.
    .venv/bin/python bench/bench_store.py latency [--runs 200] [--repeat 3]
        One run logged (Store.log_trace, what `query` does) p50/p95 on each engine, split into building the rows,
        the INSERT statements and the COMMIT, with the load average; PostgreSQL runs with its crash-safe
        defaults, and its catalog session with synchronous_commit on and off. Target: < 5 ms p50.
    .venv/bin/python bench/bench_store.py scale [--runs 1000000] [--no-fts] [--no-export] [--dsn DSN --data DIR]
        Overview + Runs page (from the per-hour rollup), text search as the Runs page does it (estimated count,
        newest-first page) and an exact count, DuckDB full-text search on a local copy, an export of every run
        (sorted ranges COPYed in order) with the exporting process's peak memory, on a DuckLake of --runs runs
        (or an existing lake: --dsn/--data).
    .venv/bin/python bench/bench_store.py export [--runs 1000000]      the export alone
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade_core.store import LakeTarget, Store, data_file_count, maintain  # noqa: E402
from cascade_core.store.store import trace_inserts  # noqa: E402
from tests.factories import make_trace  # noqa: E402
from tests.pg import LocalPostgres  # noqa: E402

WORDS = "the of capital river prime photosynthesis discount sharp ledger orbit vector enzyme treaty".split()

# Realistic run text for `scale`: real exam questions (MMLU prompts from the shared RouteLLM files when present,
# else the bundled datasets' questions) behind a customer's name and order number, ~500 characters; answers like
# "The answer is Paris.". Probes: a rare order number in RARE_ORDER_RUNS runs and a rare name in a few questions
# and answers, spread evenly over time; a text in no run; a common and a medium word.
FIRST_NAMES = ("Amara Bjorn Chen Dario Elif Farah Gustavo Hana Ivan Jomo Keiko Lars Mateo Nadia Omar Priya Quentin "
               "Rosa Sven Tariq Uma Viktor Wen Ximena Yusuf Zofia").split()
LAST_NAMES = ("Abebe Bergstrom Castillo Dubois Eriksen Fujita Garcia Haddad Ivanova Jensen Kowalski Lindqvist Moreau "
              "Nakamura Okafor Petrov Quispe Rossi Schmidt Tanaka Umarov Vasquez Weber Xu Yilmaz Zhang").split()
RARE_ORDER, RARE_ORDER_RUNS = "ZX-48213-QV", 5
RARE_NAME, RARE_NAME_QUESTIONS, RARE_NAME_ANSWERS = "Thandiwe Okonkwo-Lindqvist", 7, 3
ABSENT = "order #QJ-7731-XZ"
COMMON, MEDIUM = "following", "court"


def text_pool() -> tuple[list[str], list[str]]:
    """(questions, answers) to draw from: MMLU prompts if the shared datasets are there, bundled ones otherwise."""
    import csv
    import json

    answers, bundled = [], []
    for path in sorted((ROOT / "cascade_core" / "datasets" / "bundled").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            item = json.loads(line)
            bundled.append(item["question"])
            answers.append(str(item["gold"]))
    for shared in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        files = sorted((shared / "datasets" / "routellm" / "mmlu" / "responses").glob("*.csv"))
        if files:
            questions = [" ".join(row["prompt"].replace("Answer:", "").split())
                         for path in files for row in csv.DictReader(path.open())]
            return questions, answers
    return bundled, answers


def realistic_text(n: int) -> tuple[str, str, tuple[object, ...]]:
    """(question SQL, answer SQL, their parameters) for bench_dashboard.build: n runs of realistic text."""
    questions, answers = text_pool()
    question = (
        f"left(CASE WHEN i % {n // RARE_ORDER_RUNS} = 77 THEN 'Re: {RARE_ORDER}. ' ELSE '' END || "
        f"CASE WHEN i % {n // RARE_NAME_QUESTIONS} = 1234 THEN 'cc {RARE_NAME}. ' ELSE '' END || "
        "(?::VARCHAR[])[1 + (hash(i + 11) % 26)::INT] || ' ' || (?::VARCHAR[])[1 + (hash(i + 12) % 26)::INT] || "
        "' (order #' || (100000 + hash(i + 13) % 900000) || ', account ' || (hash(i + 14) % 100000) || ') asks: ' || "
        f"(?::VARCHAR[])[1 + (hash(i + 15) % {len(questions)})::INT] || ' Also: ' || "
        f"(?::VARCHAR[])[1 + (hash(i + 16) % {len(questions)})::INT], 500)")
    answer = (f"CASE WHEN i % {n // RARE_NAME_ANSWERS} = 4321 THEN 'Escalated to {RARE_NAME}.' "
              f"ELSE 'The answer is ' || (?::VARCHAR[])[1 + (hash(i + 17) % {len(answers)})::INT] || '.' END")
    return question, answer, (FIRST_NAMES, LAST_NAMES, questions, questions, answers)


def question(rng: random.Random) -> str:
    text = ""
    while len(text) < 500:
        text += rng.choice(WORDS) + " "
    return text[:500]


def traces(n: int, seed: int) -> list:
    rng = random.Random(seed)
    return [make_trace(rng.randrange(3), question=question(rng), source="api") for _ in range(n)]


def _writer(location: object, batch: int, seconds: float, barrier: object, seed: int, out: mp.Queue) -> None:
    pool = traces(4 * batch, seed)
    base_ids = [t.run_id for t in pool]
    store = Store(location, lock_wait=60.0)  # type: ignore[arg-type]
    if store.backend == "duckdb":
        store.release()
    barrier.wait()  # type: ignore[attr-defined]  # every writer has built its traces and opened the store
    start_at = time.time()
    written = commits = 0
    i = 0
    stop = start_at + seconds
    while time.time() < stop:
        first = i % 4 * batch
        chunk = pool[first:first + batch]
        for k, t in enumerate(chunk):  # fresh ids: every commit is new runs
            t.run_id = f"{seed}-{i}-{base_ids[first + k]}"
        store.log_traces(chunk)
        if store.backend == "duckdb":
            store.release()
        written += len(chunk)
        commits += 1
        i += 1
    out.put((written, commits, start_at, time.time()))
    store.close()


def run_writers(location: object, writers: int, batch: int, seconds: float) -> tuple[float, int, int]:
    Store(location).close()  # create + migrate once, before the race  # type: ignore[arg-type]
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    barrier = ctx.Barrier(writers)
    procs = [ctx.Process(target=_writer, args=(location, batch, seconds, barrier, s, out)) for s in range(writers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    total = sum(r[0] for r in results)
    wall = max(r[3] for r in results) - min(r[2] for r in results)
    return total / wall, sum(r[1] for r in results), total


def cmd_writers(args: argparse.Namespace) -> None:
    pg = LocalPostgres().start()
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
        targets = {
            "DuckLake, PostgreSQL catalog": LakeTarget("postgres", pg.new_database(), str(folder / "pg-data")),
            "DuckLake, SQLite catalog (WAL)": LakeTarget("sqlite", str(folder / "cat.sqlite"),
                                                         str(folder / "sqlite-data")),
            "DuckDB file (writers take turns)": folder / "file.duckdb",
        }
        for label, location in targets.items():
            rate, commits, written = run_writers(location, args.writers, args.batch, args.seconds)
            line = f"{label:<34} {args.writers} writers x {args.batch}-run commits: {rate:8,.0f} runs/s"
            line += f" ({commits} commits)"
            with Store(location) as store:  # type: ignore[arg-type]
                runs = store.count_runs()
                if store.lake is not None:
                    before = data_file_count(store)
                    report = maintain(store, keep_snapshots=0)
                    line += f"; data files {before} -> {report.files_after} after maintenance"
            verdict = "OK" if rate >= 2000 else "under 2,000"
            exact = "exact" if runs == written else f"{written:,} written: {runs - written:+,} MISMATCH"
            print(f"{line}; {runs:,} runs ({exact})  [{verdict}]", flush=True)
    finally:
        pg.stop()


def _steady_writer(location: object, rate: float, seed: int, stop: object, out: mp.Queue) -> None:
    """One run per commit at `rate` runs/s (a server logging `query`-sized commits), until `stop` is set."""
    pool = traces(50, seed)
    written = 0
    with Store(location, lock_wait=60.0) as store:  # type: ignore[arg-type]
        started = time.monotonic()
        while not stop.is_set():  # type: ignore[attr-defined]
            trace = pool[written % len(pool)]
            trace.run_id = f"{seed}-{written}"
            store.log_trace(trace)
            written += 1
            time.sleep(1 / rate)
    out.put((written, time.monotonic() - started))


def cmd_maintain(args: argparse.Namespace) -> None:
    """Maintenance passes beside steady writers: before the lake-wide write lock every pass failed at 2 writers
    x 20 runs/s (PostgreSQL after 15-20 s of retries, SQLite after 25-350 s)."""
    pg = LocalPostgres().start()
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-maintain-"))
        targets = {
            "DuckLake, PostgreSQL catalog": LakeTarget("postgres", pg.new_database(), str(folder / "pg-data"),
                                                       maintenance_every=0),
            "DuckLake, SQLite catalog": LakeTarget("sqlite", str(folder / "cat.sqlite"), str(folder / "sq-data"),
                                                   maintenance_every=0),
        }
        ctx = mp.get_context("spawn")
        for label, lake in targets.items():
            Store(lake).close()
            stop, out = ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_steady_writer, args=(lake, args.rate, s, stop, out))
                     for s in range(args.writers)]
            for proc in procs:
                proc.start()
            time.sleep(args.warmup)
            took, failed, files = [], 0, []
            with Store(lake) as store:
                for _ in range(args.passes):
                    time.sleep(args.every)
                    started = time.perf_counter()
                    try:
                        report = maintain(store)
                        took.append(time.perf_counter() - started)
                        files.append(f"{report.files_before}->{report.files_after}")
                    except Exception as err:  # a starved pass: counted, the benchmark goes on
                        failed += 1
                        print(f"  pass failed after {time.perf_counter() - started:.1f} s: "
                              f"{' '.join(str(err).split())[-120:]}", flush=True)
            stop.set()
            results = [out.get(timeout=120) for _ in procs]
            written = sum(n for n, _ in results)
            achieved = statistics.mean(n / max(t, 1e-9) for n, t in results)
            for proc in procs:
                proc.join()
            spread = f"{min(took):.2f}-{max(took):.2f} s" if took else "-"
            print(f"{label:<30} {args.writers} writers x {args.rate:g} runs/s: {len(took)}/{args.passes} passes ok "
                  f"({spread}; files {', '.join(files)}), {failed} failed; writers kept {achieved:.1f} runs/s each "
                  f"({written:,} runs)  [{_load()}]",
                  flush=True)
    finally:
        pg.stop()


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def _pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def _timed_log(store: Store, pool: list) -> list[float]:
    """Store.log_trace as `query` calls it, one run at a time (ms each, after 20 warm-up runs)."""
    times = []
    for i, trace in enumerate(pool):
        started = time.perf_counter()
        store.log_trace(trace)
        if i >= 20:
            times.append((time.perf_counter() - started) * 1000)
    return times


def _execute_all(statements: list[tuple[str, list[Any]]], con: Any) -> float:
    """A store.write work: the statements in order; returns when they ran (before the COMMIT)."""
    for sql, params in statements:
        con.execute(sql, params)
    return time.perf_counter()


def _timed_parts(store: Store, pool: list) -> dict[str, list[float]]:
    """The same work split: building the rows and statements, BEGIN + the INSERTs (on a lake the first one reads
    the catalog's snapshot), COMMIT (on a file the WAL's fsync; on a lake DuckLake's catalog transaction)."""
    parts: dict[str, list[float]] = {"rows": [], "statements": [], "commit": []}
    for i, trace in enumerate(pool):
        started = time.perf_counter()
        inserts = trace_inserts(trace)
        built = time.perf_counter()
        executed = store.write(partial(_execute_all, inserts))
        committed = time.perf_counter()
        if i >= 20:
            for name, a, b in (("rows", started, built), ("statements", built, executed),
                               ("commit", executed, committed)):
                parts[name].append((b - a) * 1000)
    return parts


def _floor(location: LakeTarget, pool: list) -> None:
    """What one DuckLake commit costs by what it writes (catalog session with synchronous_commit off): a commit's
    price is mostly per table it touches (DuckLake reads the catalog's stats and inlined-table entries, and
    writes stats, rows, snapshot and changes), so a run (one runs row + one steps INSERT) pays for two tables."""
    cases = {
        "one INTEGER row into a 1-column table": lambda t: [("INSERT INTO floor_probe VALUES (1)", [])],
        "the run's row alone (runs)": lambda t: trace_inserts(t)[:1],
        "its 3 steps alone (steps)": lambda t: trace_inserts(t)[1:],
        "both: one run as logged": trace_inserts,
    }
    print("DuckLake commit floor (PostgreSQL catalog, synchronous_commit off), BEGIN to COMMIT, p50:", flush=True)
    with Store(location) as store:
        store.execute("CREATE TABLE floor_probe (x INTEGER)")
        for label, statements in cases.items():
            times = []
            for i, trace in enumerate(pool):
                started = time.perf_counter()
                store.write(partial(_execute_all, statements(trace)))
                if i >= 20:
                    times.append((time.perf_counter() - started) * 1000)
            print(f"  {label:<40} {statistics.median(times):6.2f} ms  [{_load()}]", flush=True)


def cmd_latency(args: argparse.Namespace) -> None:
    """Fresh stores each repeat; PostgreSQL keeps its crash-safe defaults (fsync, synchronous_commit on), as in
    production, so the catalog session's `synchronous_commit` setting is measured for what it saves."""
    pg = LocalPostgres(durable=True).start()
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    labels = {"file": "DuckDB file", "pg": "DuckLake, PostgreSQL, synchronous_commit on (default)",
              "pg-async": "DuckLake, PostgreSQL, synchronous_commit off", "sqlite": "DuckLake, SQLite catalog"}
    p50s: dict[str, list[float]] = {key: [] for key in labels}
    print(f"one run (3 steps, 500-char question) logged by Store.log_trace, {args.runs} runs per store; "
          f"target < 5 ms p50; {_load()}", flush=True)
    try:
        pool = traces(args.runs + 20, 1)
        for rep in range(args.repeat):
            targets = {
                "file": folder / f"file{rep}.duckdb",
                "pg": LakeTarget("postgres", pg.new_database(), str(folder / f"pg{rep}")),
                "pg-async": LakeTarget("postgres", pg.new_database(), str(folder / f"pga{rep}"),
                                       synchronous_commit=False),
                "sqlite": LakeTarget("sqlite", str(folder / f"cat{rep}.sqlite"), str(folder / f"sq{rep}")),
            }
            for key, location in targets.items():
                with Store(location) as store:  # type: ignore[arg-type]
                    times = _timed_log(store, pool)
                    parts = _timed_parts(store, traces(args.runs + 20, 2 + rep))
                p50 = statistics.median(times)
                p50s[key].append(p50)
                split = ", ".join(f"{name} {statistics.median(v):.2f}" for name, v in parts.items())
                print(f"[{rep + 1}/{args.repeat}] {labels[key]:<53} p50 {p50:6.2f} ms  p95 {_pct(times, 0.95):6.2f} ms"
                      f"  ({5 / p50:4.2f}x the 5 ms target: {'OK' if p50 < 5 else 'OVER'})  parts p50 ms: {split}"
                      f"  [{_load()}]", flush=True)
        _floor(LakeTarget("postgres", pg.new_database(), str(folder / "floor"), synchronous_commit=False), pool)
        print("summary over repeats (p50 of each repeat):")
        for key, values in p50s.items():
            mid = statistics.median(values)
            print(f"  {labels[key]:<53} p50 {mid:6.2f} ms (repeats {min(values):.2f}-{max(values):.2f})  "
                  f"{5 / mid:4.2f}x target  {'OK' if mid < 5 else 'OVER TARGET'}", flush=True)
        print(f"{_load()}")
    finally:
        pg.stop()


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM: per address space, so not inherited through fork+exec like ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _export_child(location: LakeTarget, out: str) -> None:
    from cascade_core.store import RunFilter, RunSort, export_runs

    with Store(location) as store:
        store.count_runs()
        opened_mb = _peak_mb()
        rows = export_runs(store, RunFilter(), RunSort(), "csv", out)
    print(f"{rows} {_peak_mb():.0f} {opened_mb:.0f}")


def build_realistic(store: Store, runs: int) -> None:
    """`runs` runs x 3 steps with realistic ~500-character text (see realistic_text), then one maintenance pass."""
    from bench.bench_dashboard import build

    started = time.perf_counter()
    question, answer, params = realistic_text(runs)
    build(store, runs, question_sql=question, answer_sql=answer, params=params)
    maintain(store, keep_snapshots=0)
    print(f"built {runs:,} runs x 3 steps (~500-character questions) in {time.perf_counter() - started:.0f} s",
          flush=True)


def cmd_export(args: argparse.Namespace) -> None:
    pg = LocalPostgres().start()
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
        lake = LakeTarget("postgres", pg.new_database(), str(folder / "data"), inline_rows=0)
        with Store(lake) as store:
            build_realistic(store, args.runs)
        _export(lake, folder)
    finally:
        pg.stop()


def _export(lake: LakeTarget, folder: Path) -> None:
    out = folder / "export.csv"
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "_export", lake.dsn, lake.data_path, str(out)],
                           capture_output=True, text=True, cwd=ROOT)
    if child.returncode != 0:
        raise SystemExit(f"export failed: {child.stderr[-2000:]}")
    rows, peak, opened = child.stdout.split()
    print(f"Export: {int(rows):,} runs to CSV ({out.stat().st_size / 1e6:.0f} MB) by COPY in "
          f"{time.perf_counter() - started:.1f} s; exporting process peak RSS {peak} MB ({opened} MB before the "
          "export); target < 500 MB "
          f"({'OK' if int(peak) < 500 else 'OVER TARGET'})", flush=True)


def cmd_scale(args: argparse.Namespace) -> None:
    pg = None if args.dsn else LocalPostgres().start()
    try:
        if pg is not None:
            folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
            lake = LakeTarget("postgres", pg.new_database(), str(folder / "data"), inline_rows=0)
        else:  # a lake built by an earlier run (--dsn/--data): measure it again without rebuilding
            folder = Path(args.data).parent
            lake = LakeTarget("postgres", args.dsn, args.data, inline_rows=0)
        with Store(lake) as store:
            if store.count_runs() == 0:
                build_realistic(store, args.runs)
            size = store.size_bytes() / 1e6
            print(f"{store.count_runs():,} runs; {data_file_count(store)} data files, {size:.0f} MB", flush=True)
            _scale_pages(store, rebuild_index=args.rebuild_index)
            if not args.no_fts:
                _fts(store)
        if not args.no_export:
            _export(lake, folder)
    finally:
        if pg is not None:
            pg.stop()


def _scale_pages(store: Store, *, rebuild_index: bool = False) -> None:
    from bench.bench_dashboard import report, runs_page_render, timed
    from cascade_core.store import (
        RunFilter,
        RunSort,
        count_matches,
        count_runs,
        filter_counts,
        rollup,
        search_page,
        text_candidates,
    )
    from cascade_core.views import compute_overview

    rollup.reset(store)
    started = time.perf_counter()
    rollup.refresh(store)  # what the first dashboard render (or a server's maintenance) does once
    print(f"rollup folded from every run in {time.perf_counter() - started:.1f} s (once; later folds read only "
          f"the tail): {store.execute('SELECT count(*) FROM run_rollup')[0][0]:,} rows", flush=True)
    print("Overview (rollup + the runs after its watermark):")
    for window in ("all time", "last 7 days"):
        first, median = timed(lambda w=window: compute_overview(store, w))
        report(f"window '{window}'", first, median, 1000)
    print("Runs page (tier options, time bounds, count, one page of 50):")
    for label, f, sort in [("first page, newest first", RunFilter(), RunSort()),
                           ("first page sorted by cost", RunFilter(), RunSort("cost", True))]:
        first, median = timed(lambda f=f, s=sort: runs_page_render(store, f, s), repeat=3)
        report(label, first, median, 1000)
    from cascade_core.store import text_index

    if rebuild_index or not store.execute("SELECT count(*) FROM run_text_index")[0][0]:
        text_index.reset(store)
        started = time.perf_counter()
        indexed = text_index.refresh(store)  # what `store maintain` (or a server's maintenance) does once
        size = store.execute("SELECT count(*), sum(octet_length(bits)) FROM run_text_index")[0]
        print(f"text index built from {indexed:,} runs in {time.perf_counter() - started:.1f} s: {size[0]:,} blocks, "
              f"{size[1] / 1e6:.0f} MB of bitmaps", flush=True)
        maintain(store, keep_snapshots=0)  # the old blocks' files go, as a server's next maintenance does
    print("Text search, the Runs page's way (text index; else estimated count + first page newest first within "
          "0.5 s):")
    probes = [("common", COMMON), ("medium", MEDIUM), ("rare order number", RARE_ORDER), ("rare name", RARE_NAME),
              ("absent", ABSENT)]
    for kind, text in probes:
        f = RunFilter(text=text)

        def page(f: RunFilter = f) -> None:  # what pages/runs.py asks
            narrowed = text_candidates(store, f)
            counted = count_matches(store, f, narrowed=narrowed, page=(RunSort(), 50, 0))
            search_page(store, f, RunSort(), narrowed=narrowed)
            if counted.exact and not counted.value:  # the page then says which filter emptied it
                filter_counts(store, f)
        first, median = timed(page, repeat=3)
        c = count_matches(store, f)
        p = search_page(store, f, RunSort())
        found = text_index.candidates(store, text)
        report(f"{kind} '{text}'", first, median, 1000)
        shown = "exact" if c.exact else f"≈, 95% {c.low:,}-{c.high:,} from {c.sampled_runs:,} runs"
        blocks = "" if found is None else (f"; the index keeps {found.kept:,} of {found.blocks:,} blocks "
                                           f"({found.runs:,} runs with the tail)")
        print(f"      count {c.value:,} ({shown}); page {len(p.rows)} rows, "
              f"{'complete' if p.complete else f'searched back to {p.searched_to}'}{blocks}", flush=True)
    for kind, text in (("rare name", RARE_NAME), ("common", COMMON)):
        started = time.perf_counter()
        exact = count_runs(store, RunFilter(text=text))
        print(f"  exact count ('Count exactly') of the {kind} '{text}': {exact:,} in "
              f"{(time.perf_counter() - started) * 1000:.0f} ms", flush=True)


def _fts(store: Store) -> None:
    from bench.bench_dashboard import report, timed

    started = time.perf_counter()
    store.execute("CREATE OR REPLACE TABLE memory.main.search_copy AS "
                  "SELECT run_id, question FROM runs")
    store.execute("PRAGMA create_fts_index('memory.main.search_copy', 'run_id', 'question', "
                  "overwrite=1)")
    print(f"  full-text index on a local copy built in {time.perf_counter() - started:.1f} s")
    sql = ("SELECT count(*) FROM (SELECT memory.fts_main_search_copy.match_bm25(run_id, 'photosynthesis') AS s "
           "FROM memory.main.search_copy) WHERE s IS NOT NULL")
    first, median = timed(lambda: store.execute(sql), repeat=3)
    report("text search (fts BM25 on the local copy)", first, median, 1000)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "_export":
        _export_child(LakeTarget("postgres", sys.argv[2], sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("writers")
    w.add_argument("--writers", type=int, default=4)
    w.add_argument("--seconds", type=float, default=20.0)
    w.add_argument("--batch", type=int, default=250, help="runs per commit (a server's 0.5 s of traffic)")
    lat = sub.add_parser("latency")
    lat.add_argument("--runs", type=int, default=200)
    lat.add_argument("--repeat", type=int, default=3, help="fresh stores this many times: the spread under load")
    sc = sub.add_parser("scale")
    sc.add_argument("--runs", type=int, default=1_000_000)
    sc.add_argument("--no-fts", action="store_true", help="skip the full-text index (5 min to build at 1M runs)")
    sc.add_argument("--no-export", action="store_true", help="skip the export (run `export` on its own)")
    sc.add_argument("--dsn", help="measure an existing lake (its PostgreSQL DSN) instead of building one")
    sc.add_argument("--data", help="... and its data path")
    sc.add_argument("--rebuild-index", action="store_true", help="time the text index's build again")
    mt = sub.add_parser("maintain", help="maintenance passes beside steady writers")
    mt.add_argument("--writers", type=int, default=2)
    mt.add_argument("--rate", type=float, default=20.0, help="runs/s per writer, one run per commit")
    mt.add_argument("--passes", type=int, default=4)
    mt.add_argument("--warmup", type=float, default=3.0, help="seconds of writes before the passes start")
    mt.add_argument("--every", type=float, default=1.0, help="seconds between passes")
    ex = sub.add_parser("export")
    ex.add_argument("--runs", type=int, default=1_000_000)
    args = parser.parse_args()
    {"writers": cmd_writers, "latency": cmd_latency, "scale": cmd_scale, "export": cmd_export,
     "maintain": cmd_maintain}[args.cmd](args)


if __name__ == "__main__":
    main()
