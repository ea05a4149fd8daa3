"""The README's Phoenix screenshot: a local offline Phoenix, `serve` on the simulator sending it traces, one
escalated question, and headless chromium on the trace's page.

    .venv/bin/python scripts/phoenix_screenshot.py [docs/screenshots/phoenix-trace.png]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cascade_core.cascade.config import SimulatorConfig  # noqa: E402
from cascade_core.datasets import load_bundled  # noqa: E402
from cascade_core.simulator import EmbeddedSimulator  # noqa: E402
from tests.phoenix_server import LocalPhoenix  # noqa: E402
from tests.test_serve_support import ServerProc  # noqa: E402


def sim_model(reply: dict) -> str:
    """The model of the tier that answered (the simulator's tiers: small, mid, large)."""
    return {"small": "sim-llama-3.1-8b", "mid": "sim-llama-3.1-70b", "large": "sim-llama-3.1-405b"}[
        reply["cascade"]["tier"]]


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "phoenix-trace.png"
    from playwright.sync_api import sync_playwright

    phoenix = LocalPhoenix().start()
    try:
        with EmbeddedSimulator(SimulatorConfig()) as sim:
            env = {"OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url, "OTEL_BSP_SCHEDULE_DELAY": "100",
                   "OTEL_RESOURCE_ATTRIBUTES": "openinference.project.name=cascade-lab"}
            server = ServerProc(Path(tempfile.mkdtemp()) / "runs.duckdb", sim.base_url, "--threshold", "0.95",
                                env=env)
            for item in [i for i in load_bundled().items if i.difficulty == "hard"]:  # the first that escalates
                reply = httpx.post(f"{server.base_url}/chat/completions", timeout=30, json={
                    "model": "cascade", "messages": [{"role": "user", "content": item.question}]}).json()
                if len(reply["cascade"]["tiers_called"]) >= 2:
                    break
            server.stop()
        run_id = reply["cascade"]["run_id"]
        for _ in range(100):
            roots = [s for s in phoenix.spans("cascade-lab") if s["parent_id"] is None
                     and s["attributes"].get("cascade.run_id") == run_id]
            if roots:
                break
            time.sleep(0.2)
        trace_id = roots[0]["context"]["trace_id"]
        project = next(p for p in httpx.get(f"{phoenix.url}/v1/projects").json()["data"] if p["name"] == "cascade-lab")
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                           args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            page.goto(f"{phoenix.url}/projects/{project['id']}/traces/{trace_id}", wait_until="networkidle")
            page.wait_for_timeout(2500)
            answering = f"chat {sim_model(reply)}"
            page.get_by_text(answering, exact=True).last.click()  # show the accepting tier's span
            page.wait_for_timeout(1500)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
        sys.stdout.write(f"{out}: run {run_id}, tiers {reply['cascade']['tiers_called']}\n")
    finally:
        phoenix.stop()


if __name__ == "__main__":
    main()
