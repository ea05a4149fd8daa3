"""How fast the command line starts: `cascade-lab --help` and `import cascade_core` (target: under 0.5 s).

    .venv/bin/python bench/bench_cli_startup.py [--runs 10]

Each figure is the median wall time of fresh interpreter processes; the heavy libraries (pandas, duckdb, openai,
plotly) load only when a command needs them, so `--help` pays for the interpreter and argparse alone. A
command's own `--help` imports that command's module (which imports the library only when the command runs) and
is shown for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    py = sys.executable
    cases = {
        "python -c pass (interpreter alone)": [py, "-c", "pass"],
        "import cascade_core": [py, "-c", "import cascade_core"],
        "cascade-lab --help": [py, "-m", "cascade_core", "--help"],
        "cascade-lab query --help": [py, "-m", "cascade_core", "query", "--help"],
        # cli/sweep.py imports the sweep library at module level, so its --help still pays for pandas and numpy.
        "cascade-lab sweep --help": [py, "-m", "cascade_core", "sweep", "--help"],
    }
    base = None
    for name, cmd in cases.items():
        seconds = median_seconds(cmd, runs)
        base = base or seconds
        verdict = ""
        if name == "cascade-lab --help":
            verdict = f"{'meets' if seconds < TARGET_S else 'MISSES'} the {TARGET_S} s target"
        print(f"{name:38s} {seconds * 1000:7.0f} ms  {seconds / base:5.1f}x interpreter  {verdict}")


if __name__ == "__main__":
    main()
