"""Whole page loads for bench_dashboard.py: every script a page runs (store queries, view functions, figures,
Streamlit's own work), not only what it asks the store.

- AppTest: a fresh session opens the page (as a new browser tab does) and the script runs to its end; the
  median of `repeat` loads after one warm-up (first imports). The Overview is timed twice: right after the log
  moved (its live-traffic figures computed again, the first visitor's wait) and once they are kept.
- Browser (optional): the dashboard started as `./run` does on the same store, Debian's headless chromium
  clicks the sidebar and waits until the page's last element is drawn and the app is idle.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 1000.0


def _report(label: str, times: list[float], note: str = "") -> tuple[str, float, float]:
    median, worst = statistics.median(times), max(times)
    verdict = "OK" if median < TARGET_MS else "OVER TARGET"
    load = os.getloadavg()[0]
    print(f"  {label:<52} median {median:7.0f} ms  max {worst:7.0f} ms  (n={len(times)})  target < "
          f"{TARGET_MS:.0f} ms  {TARGET_MS / max(median, 1e-9):4.1f}x under  {verdict}{note}  [load {load:.1f}]",
          flush=True)
    return label, median, worst


def page_cases(run_id: str) -> list[tuple[str, str, dict[str, str]]]:
    """(label, page file, URL parameters): what a user opens, by link or from the sidebar."""
    return [
        ("Overview, all time", "pages/overview.py", {}),
        ("Runs, first page", "pages/runs.py", {}),
        ("Runs, sorted by cost, page 1,000", "pages/runs.py", {"sort": "cost", "page": "1000"}),
        ("Runs, filtered by link (4 filters + text)", "pages/runs.py",
         {"window": "last 30 days", "source": "query", "tier": "small", "graded": "incorrect", "q": "capital"}),
        ("Runs, text search alone ('50%' literal)", "pages/runs.py", {"q": "50%"}),
        ("Runs, empty result and which filter emptied it", "pages/runs.py",
         {"source": "audit", "graded": "correct", "q": "no such words"}),
        ("Run link /runs?run=<id> (its trace + first page)", "pages/runs.py", {"run": run_id}),
        ("Query (before a question)", "pages/query.py", {}),
        ("Audit", "pages/audit.py", {}),
        ("Settings", "pages/settings.py", {}),
    ]


def _load(page: str, params: dict[str, str]) -> tuple[float, Any]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page)
    started = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - started) * 1000
    if at.exception:
        raise RuntimeError(f"{page} {params}: {at.exception[0].value}")
    return elapsed, at


def _live_shown(at: Any) -> bool:
    return any("labels (gold/audit/shadow)" in df.value.columns for df in at.dataframe)


def apptest_loads(store_path: Path, run_id: str, repeat: int) -> list[tuple[str, float, float]]:
    """Each page opened by a fresh session on the store; median of `repeat` after a warm-up."""
    import streamlit as st

    from ui.live import forget_live_health

    os.environ["CASCADE_STORE"] = str(store_path)
    os.environ.pop("CASCADE_CONFIG", None)
    rows = []
    cases = page_cases(run_id)
    for _, page, params in cases:
        _load(page, params)  # warm-up: first imports, the store opened, plotly loaded
    print(f"Page loads through AppTest (a fresh session opens the page; {repeat} loads each after a warm-up):")
    cold, ready = [], []
    for _ in range(repeat):
        forget_live_health()  # as after a new run: the live-traffic figures are computed again
        started = time.perf_counter()
        elapsed, at = _load("pages/overview.py", {})
        cold.append(elapsed)
        while not _live_shown(at):  # the placeholder's poll, until the figures computed in the background show
            time.sleep(0.2)
            at.run()
        ready.append((time.perf_counter() - started) * 1000)
    rows.append(_report("Overview, all time, right after the log moved", cold, "  (live figures being computed)"))
    print(f"    (its live-traffic figures appeared after {statistics.median(ready):,.0f} ms, median; the page does "
          "not wait for them)", flush=True)
    for label, page, params in cases:
        times = [_load(page, params)[0] for _ in range(repeat)]
        rows.append(_report(label, times, "  (live figures kept)" if page.endswith("overview.py") else ""))
    _, at = _load("pages/overview.py", {})
    clicks = []
    for window in ("last 7 days", "all time") * ((repeat + 1) // 2):
        started = time.perf_counter()
        at.segmented_control(key="ov_window").set_value(window).run()
        clicks.append((time.perf_counter() - started) * 1000)
    rows.append(_report("Overview, a click on another time window", clicks))
    st.cache_resource.clear()
    return rows


# --- in a real browser -------------------------------------------------------------------------------------

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch_chromium(play: Any) -> Any:
    """Debian's chromium, as the browser tests start it (Playwright's own browser download does not work here)."""
    return play.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)


IDLE = """() => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    if (status && /running/i.test(status.innerText)) return false;
    return !document.querySelector('[data-stale="true"]');
}"""

# What each page draws last, so "loaded" means the whole page is on screen.
SENTINELS: dict[str, Callable[[Any], Any]] = {
    "Overview": lambda tab: tab.get_by_text("Shadow labels", exact=False).first,  # the live figures, once kept
    "Runs": lambda tab: tab.get_by_label("Open a run by id (or select a row above)"),
    "Query": lambda tab: tab.get_by_role("button", name="Run", exact=True),
    "Audit": lambda tab: tab.get_by_text("Overconfidence audits").first,
    "Settings": lambda tab: tab.get_by_text("Size:", exact=False).first,
}


def _start_app(store_path: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CASCADE_STORE": str(store_path)}
    env.pop("CASCADE_CONFIG", None)
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "streamlit"), "run", "asgi.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the dashboard did not start")


def browser_loads(store_path: Path, port: int, repeat: int) -> list[tuple[str, float, float]]:
    """Click each page in the sidebar, as a user does; time until its last element is drawn and the app is idle."""
    from playwright.sync_api import sync_playwright

    proc = _start_app(store_path, port)
    rows = []
    try:
        with sync_playwright() as play:
            browser = launch_chromium(play)
            tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            tab.goto(f"http://127.0.0.1:{port}")
            SENTINELS["Overview"](tab).wait_for(timeout=120_000)
            tab.wait_for_function(IDLE, timeout=120_000)
            links = tab.locator('[data-testid="stSidebarNav"] a')
            titles = [links.nth(i).inner_text().strip().splitlines()[-1].strip() for i in range(links.count())]
            print(f"Page loads in headless chromium (a click in the sidebar until the page's last element is drawn; "
                  f"{repeat} each):")
            order = [t for t in ("Runs", "Query", "Audit", "Settings", "Overview") if t in titles]
            times: dict[str, list[float]] = {t: [] for t in order}
            for _ in range(repeat):
                for title in order:
                    started = time.perf_counter()
                    links.nth(titles.index(title)).click()
                    SENTINELS[title](tab).wait_for(timeout=120_000)
                    tab.wait_for_function(IDLE, timeout=120_000, polling=20)
                    times[title].append((time.perf_counter() - started) * 1000)
            for title in order:
                rows.append(_report(f"{title} (browser)", times[title]))
            browser.close()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    return rows
