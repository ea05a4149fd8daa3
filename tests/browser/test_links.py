"""A shared link as the very first request a freshly started dashboard gets (a colleague opens it after a
restart): it lands on the trace inside the app's frame (its navigation, wide layout and the sidebar's backend
line), not on the page file run alone. A module of its own, so its server has served nothing before."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.test_browser import (  # noqa: F401  (fixtures are found by name in this module)
    ROOT,
    app_folder,
    app_url,
    browser,
    nav_links,
    page,
    settle,
    shoot,
)

pytestmark = pytest.mark.browser
HEALTH_PROBE = re.compile(r"status of 404")  # a direct load of /runs probes /runs/_stcore/health first


def test_a_run_link_is_the_servers_first_request(app_folder: Path, app_url: str, page) -> None:  # noqa: F811
    done = subprocess.run(
        [sys.executable, "-m", "cascade_core", "query", "How many bones are in the typical adult human body?",
         "--store", str(app_folder / "cascade.duckdb")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "CASCADE_CONFIG"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    run_id = re.search(r"run id: ([0-9a-f]+)", done.stdout)
    assert run_id, done.stdout[-2000:]
    page.goto(f"{app_url}/runs?run={run_id.group(1)}")
    settle(page)
    page.get_by_role("heading", name="Run trace").wait_for(timeout=30_000)
    settle(page)
    shoot(page, "first-request-run-link")
    assert [title for title, _ in nav_links(page)] == ["Overview", "Query", "Runs", "Sweep", "Audit", "Settings"]
    assert page.locator('[data-testid="stSidebar"]').get_by_text("SIMULATED").first.is_visible()
    assert page.get_by_text(re.compile(r"^escalated: \d of 5 < 4$")).first.is_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert [e for e in page.console_errors if not HEALTH_PROBE.search(e)] == []
    assert f"run={run_id.group(1)}" in page.url
