"""A big export downloaded from the running dashboard, with the dashboard process's memory (issue 15).

Starts the dashboard as ./run does (`streamlit run asgi.py`) on a DuckLake, opens the Runs page filtered to the
`query` and `api` sources in headless chromium (Playwright), clicks Export CSV, downloads the file through the
link, and samples the dashboard process's resident memory all along (its peak: VmHWM). Target: under 500 MB
while exporting 5M runs.

    .venv/bin/python bench/bench_export_download.py --dsn DSN --data DIR    # a lake built by bench_store.py scale
    .venv/bin/python bench/bench_export_download.py --runs 10000000         # builds one first (PostgreSQL in /tmp)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade_core.store import LakeTarget, Store, maintain  # noqa: E402
from tests.pg import LocalPostgres  # noqa: E402
from tests.ports import free_port  # noqa: E402

CONFIG = (ROOT / "examples" / "ducklake.toml").read_text()  # the embedded tiers on a lake from the environment


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn")
    parser.add_argument("--data")
    parser.add_argument("--runs", type=int, default=10_000_000, help="runs to build when no --dsn is given")
    args = parser.parse_args()
    pg = None
    if not args.dsn:
        from bench.bench_dashboard import build

        pg = LocalPostgres().start()
        args.dsn, args.data = pg.new_database(), tempfile.mkdtemp(prefix="bench-export-") + "/data"
        with Store(LakeTarget("postgres", args.dsn, args.data, inline_rows=0)) as store:
            build(store, args.runs)
            store.execute("UPDATE runs SET question = question || ' ' || repeat('lorem ipsum dolor ', 26)")
            maintain(store, keep_snapshots=0)
    with Store(LakeTarget("postgres", args.dsn, args.data)) as store:
        expected = int(store.execute("SELECT count(*) FROM runs WHERE source IN ('query', 'api')")[0][0])
    folder = Path(tempfile.mkdtemp(prefix="bench-download-"))
    config = folder / "lake.toml"
    config.write_text(CONFIG)
    port = free_port()
    env = {**os.environ, "CASCADE_CONFIG": str(config), "CASCADE_PG_DSN": args.dsn, "CASCADE_LAKE_PATH": args.data}
    proc = subprocess.Popen([str(ROOT / ".venv/bin/streamlit"), "run", "asgi.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    samples: list[int] = []
    children: dict[int, int] = {}  # the export process the page starts (on a lake): its peak RSS
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.25):
            try:
                samples.append(_status(proc.pid, "VmRSS"))
                kids = [k for task in Path(f"/proc/{proc.pid}/task").iterdir()
                        for k in (task / "children").read_text().split()]
            except OSError:
                return
            for kid in map(int, kids):
                try:
                    children[kid] = max(children.get(kid, 0), _status(kid, "VmHWM"))
                except OSError:
                    continue
    threading.Thread(target=sample, daemon=True).start()
    try:
        _drive(port, folder, expected, proc.pid)
        peak = _status(proc.pid, "VmHWM")
    finally:
        stop.set()
        proc.terminate()
        proc.wait(30)
        if pg is not None:
            pg.stop()
    print(f"dashboard process: peak RSS {peak:,} MB (VmHWM; sampled max {max(samples or [0]):,} MB); "
          f"target < 500 MB: {'OK' if peak < 500 else 'OVER TARGET'}", flush=True)
    for kid, kid_peak in children.items():
        print(f"  its export process {kid}: peak RSS {kid_peak:,} MB (sampled every 0.25 s)", flush=True)


def _drive(port: int, folder: Path, expected: int, pid: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_context(accept_downloads=True).new_page()
        deadline = time.time() + 120
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/runs?source=query&source=api")
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(1)
        try:
            page.get_by_text(f"{expected:,} runs match").first.wait_for(timeout=120_000)
        except Exception:
            page.screenshot(path=str(folder / "runs.png"), full_page=True)
            raise SystemExit(f"the Runs page did not show {expected:,} runs; see {folder / 'runs.png'}") from None
        before = _status(pid, "VmHWM")
        started = time.perf_counter()
        page.get_by_role("button", name="Export CSV").click()
        link = page.get_by_role("link", name="Download cascade-runs.csv")
        failed = page.locator('[data-testid="stException"]')
        while not link.count():
            if failed.count():
                raise SystemExit(f"the export failed on the page: {failed.first.inner_text()[:2000]}")
            if time.perf_counter() - started > 1800:
                raise SystemExit("no download link after 30 minutes")
            time.sleep(1)
        written = time.perf_counter() - started
        with page.expect_download(timeout=1_800_000) as info:
            link.click()
        target = folder / "download.csv"
        info.value.save_as(target)
        fetched = time.perf_counter() - started - written
        with target.open("rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
        browser.close()
    size = target.stat().st_size
    print(f"{expected:,} runs (sources query + api) exported to CSV by the page in {written:.0f} s and downloaded "
          f"by chromium in {fetched:.0f} s: {size / 1e9:.2f} GB, {lines:,} lines (header + rows; a question's "
          f"newline adds one); dashboard peak RSS before the export {before:,} MB", flush=True)
    target.unlink()


if __name__ == "__main__":
    main()
