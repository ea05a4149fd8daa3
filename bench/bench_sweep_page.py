"""The Sweep page's operating-point chooser in headless chromium: how long one slider step takes until the numbers
beside the plot show the new point (a fragment rerun), against a whole-page rerun of the same page (a widget
outside the chooser: the details' split radio), on a saved live sweep of the bundled questions.

Issue 12 measured 0.8-3 s per slider step when each step reran the whole page.

    .venv/bin/python bench/bench_sweep_page.py [--questions 1000] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard_pages import IDLE, _start_app, launch_chromium  # noqa: E402

from tests.ports import free_port  # noqa: E402


def _saved_sweep(store: Path, questions: int) -> str:
    """A live sweep of the first `questions` bundled questions on the simulator, saved by the CLI; its id."""
    env = {k: v for k, v in os.environ.items() if k != "CASCADE_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "cascade_core", "sweep", "bundled", "--limit", str(questions),
                           "--save", "bench", "--store", str(store), "--json", "--allow-failures"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=True)
    import json

    return str(json.loads(done.stdout)["sweep_id"])


def _saved_continuous(store: Path, questions: int) -> str:
    """A saved sweep of generated outcomes with continuous confidence (as logprob gives): ~20,000 per-tier
    settings, so the plot carries big point clouds."""
    import numpy as np
    import pandas as pd

    from cascade_core.store import Store
    from cascade_core.sweep import SweepMeta, analyse, save_result

    rng = np.random.default_rng(0)
    difficulty = rng.random(questions)
    rows = []
    for k, (tier, ability, cost) in enumerate((("small", 0.6, 0.0002), ("mid", 0.8, 0.001), ("large", 0.88, 0.004))):
        right = difficulty < ability
        conf = np.clip(np.where(right, rng.beta(5, 2, questions), rng.beta(2, 3, questions)), 0, 1)
        rows.append(pd.DataFrame({"item_id": [f"g{i}" for i in range(questions)], "tier": tier, "tier_index": k,
                                  "correct": right, "confidence": conf.round(4), "cost": cost}))
    with Store(store) as s:
        return save_result(s, analyse(pd.concat(rows)), SweepMeta(name="bench continuous", dataset="generated",
                                                                  source="import"))


def _metric(tab, label: str) -> str:
    box = tab.locator('[data-testid="stMetric"]', has_text=label).first
    return str(box.locator('[data-testid="stMetricValue"]').inner_text().strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--continuous", action="store_true",
                        help="generated outcomes with continuous confidence instead of a live self-rated sweep")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-page-"))
    store = folder / "cascade.duckdb"
    started = time.perf_counter()
    if args.continuous:
        sweep_id = _saved_continuous(store, args.questions)
        what = "generated questions with continuous confidence"
    else:
        sweep_id = _saved_sweep(store, args.questions)
        what = "bundled questions, self-rated, on the simulator"
    print(f"saved sweep {sweep_id}: {args.questions} {what} x 3 tiers ({time.perf_counter() - started:.1f} s)")
    port = free_port()
    proc = _start_app(store, port)
    try:
        with sync_playwright() as play:
            browser = launch_chromium(play)
            tab = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
            tab.goto(f"http://127.0.0.1:{port}/sweep?sweep={sweep_id}")
            tab.get_by_text("Choose an operating point").first.wait_for(timeout=300_000)
            tab.wait_for_function(IDLE, timeout=120_000)
            thumb = tab.get_by_role("slider").last
            thumb.focus()
            tab.keyboard.press("Home")
            tab.wait_for_function(IDLE, timeout=60_000, polling=20)
            steps: list[float] = []
            for i in range(args.steps):
                before = _metric(tab, "Cost per 1,000")
                t0 = time.perf_counter()
                tab.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
                tab.wait_for_function(
                    """before => {
                        const box = [...document.querySelectorAll('[data-testid="stMetric"]')]
                            .find(m => m.innerText.includes('Cost per 1,000'));
                        return box && !box.innerText.includes(before);
                    }""", arg=before, timeout=60_000, polling=10)
                tab.wait_for_function(IDLE, timeout=60_000, polling=10)
                steps.append((time.perf_counter() - t0) * 1000)
            whole: list[float] = []
            for i in range(args.steps):
                split = "calibration" if i % 2 == 0 else "held-out"
                t0 = time.perf_counter()
                tab.get_by_text(split, exact=True).last.click()
                tab.get_by_text(re.compile(rf"^[\d,]+ {split} questions$")).first.wait_for(timeout=60_000)
                tab.wait_for_function(IDLE, timeout=60_000, polling=10)
                whole.append((time.perf_counter() - t0) * 1000)
            browser.close()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    med_step, med_whole = statistics.median(steps), statistics.median(whole)
    print(f"{args.steps} of each, median (min-max):")
    print(f"  slider step, numbers beside the plot updated (fragment rerun): {med_step:,.0f} ms "
          f"({min(steps):,.0f}-{max(steps):,.0f})")
    print(f"  whole-page rerun of the same page (what each step cost before):  {med_whole:,.0f} ms "
          f"({min(whole):,.0f}-{max(whole):,.0f})")
    print(f"  ratio: {med_whole / med_step:.1f}x")


if __name__ == "__main__":
    main()
