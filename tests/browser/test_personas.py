"""Each persona's main task, walked in headless chromium on a fresh store (the app started as `./run` does):
an engineer finds why a run escalated, shares the run's link and a colleague lands on its trace; an audit owner
runs the weekly audit and opens a judged answer's trace; a product manager picks a threshold on the Sweep page and
saves it to the config file in use. Screenshots go to test-output/ and, with
CASCADE_DOCS_SCREENSHOTS=1, to docs/screenshots/ for the README."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser import (  # noqa: F401  (fixtures are found by name in this module)
    OUT,
    ROOT,
    app_folder,
    assert_clean,
    browser,
    charts_drawn,
    open_title,
    page,
    running_app,
    settle,
    shoot,
    shown,
    start_live_sweep,
)
from tests.polling import wait_for

pytestmark = pytest.mark.browser
DOCS = ROOT / "docs" / "screenshots"
HEALTH_PROBE = re.compile(r"_stcore/health.*404|404.*_stcore/health|status of 404")


@pytest.fixture(scope="module")
def app_url(app_folder: Path) -> Iterator[str]:  # noqa: F811
    """The dashboard as `./run` starts it on a fresh store, with a cascade.toml of the embedded tiers (the same
    cascade as no config at all) so that saving an operating point to the config in use can be observed."""
    config = app_folder / "cascade.toml"
    shutil.copy(ROOT / "examples" / "embedded.toml", config)
    with running_app(app_folder, config) as url:
        yield url


def keep(tab, name: str) -> None:
    """A screenshot in test-output/, copied to docs/screenshots/ when asked (to refresh the README's), once
    every chart on the page has drawn."""
    charts_drawn(tab)
    shoot(tab, name)
    if os.environ.get("CASCADE_DOCS_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(OUT / f"{name}.png", DOCS / f"{name}.png")


def ask_example(tab, label_start: str) -> None:
    tab.locator('[data-testid="stButtonGroup"] button', has_text=label_start).first.click()
    settle(tab)
    tab.get_by_role("button", name="Run", exact=True).click()
    tab.get_by_text("Confidence vs threshold").first.wait_for(timeout=60_000)
    settle(tab)


def test_getting_started_a_sweep_then_its_results(app_url: str, app_folder: Path, page) -> None:  # noqa: F811
    """A new user on an empty store: the Overview's guided start; after step 2 (a sweep, here from the command
    line as the README shows) the Overview says where sweep results live and its link opens that sweep."""
    page.goto(app_url)
    settle(page)
    shown(page.get_by_text("No runs logged yet"))
    shown(page.get_by_text("Run a sweep"))
    assert_clean(page)
    done = subprocess.run(
        [sys.executable, "-m", "cascade_core", "sweep", "bundled", "--limit", "24", "--save", "first look",
         "--store", str(app_folder / "cascade.duckdb")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={k: v for k, v in os.environ.items()
                                                                   if k != "CASCADE_CONFIG"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    page.reload()
    settle(page)
    page.get_by_text("Step 2 done").first.wait_for(timeout=30_000)
    shown(page.get_by_text(re.compile(r"Sweep results.*first look.*24 questions")))
    keep(page, "overview-after-sweep")
    assert_clean(page)
    page.get_by_role("link", name=re.compile("Open sweep .first look.")).click()
    settle(page)
    assert "sweep=" in page.url and "/sweep" in page.url
    page.get_by_text("first look").first.wait_for(timeout=60_000)  # the saved sweep is the one opened
    assert_clean(page)


def test_find_why_a_run_escalated_then_share_its_link(app_url: str, page, browser) -> None:  # noqa: F811
    page.goto(app_url)
    settle(page)
    open_title(page, "Query")
    ask_example(page, "medium · factual")  # on the simulator: small and mid unsure, the large tier answers
    # Each step's decision reads as a pill with its reason, in the signal's own units, no scrolling sideways.
    pill = page.get_by_text(re.compile(r"^escalated: \d of 5 < 4$")).first
    shown(pill)
    shown(page.get_by_text(re.compile(r"^final: last tier answers")))
    shown(page.get_by_text(re.compile(r"vs always-large|Cost vs always-large")))
    width = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert width <= 1400, f"the page scrolls sideways ({width}px)"
    keep(page, "query-escalated")
    assert_clean(page)

    link = page.locator('a[href*="/runs?run="]').last
    url = link.get_attribute("href")
    assert url and url.startswith(app_url + "/runs?run=")
    colleague = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
    errors: list[str] = []
    colleague.on("console", lambda msg: msg.type == "error" and not HEALTH_PROBE.search(
        f"{msg.text} {msg.location.get('url')}") and errors.append(msg.text))
    colleague.goto(url)
    settle(colleague)
    colleague.get_by_role("heading", name="Run trace").wait_for(timeout=30_000)
    settle(colleague)
    bones = "How many bones are in the typical adult human body?"
    question = colleague.locator('[data-testid="stCode"]', has_text=bones)
    question.first.wait_for(timeout=30_000)
    settle(colleague)
    keep(colleague, "run-link")
    shown(colleague.get_by_text(re.compile(r"^escalated: \d of 5 < 4$")))
    assert colleague.locator('[data-testid="stException"]').count() == 0 and errors == []
    colleague.context.close()


def test_weekly_audit_then_open_a_trace(app_url: str, page) -> None:  # noqa: F811
    page.goto(app_url)
    settle(page)
    open_title(page, "Query")
    for example in ("easy · factual", "hard · multistep"):  # answers the small tier accepts: audit material
        ask_example(page, example)
    open_title(page, "Audit")
    page.get_by_role("button", name="Run audit").click()
    page.get_by_text("Trend by week").first.wait_for(timeout=120_000)
    settle(page)
    shown(page.get_by_text("Overconfidence rate"))
    assert "audit=" in page.url  # the audit's own address
    keep(page, "audit")
    assert_clean(page)
    page.get_by_role("button", name="Open the run's trace").click()
    page.get_by_role("heading", name="Run trace").wait_for(timeout=30_000)
    settle(page)
    assert "run=" in page.url
    shown(page.get_by_text(re.compile(r"^accepted: \d of 5 ≥ 4$")))
    assert_clean(page)

    open_title(page, "Overview")
    shown(page.get_by_text("Latest audit"))
    shown(page.get_by_text(re.compile(r"^\d+% of \d+ graded")))
    keep(page, "overview")
    assert_clean(page)

    open_title(page, "Runs")
    page.get_by_label("Search question or answer").fill("no such words")
    page.keyboard.press("Enter")
    settle(page)
    shown(page.get_by_text("No run matches text"))
    assert "q=no+such+words" in page.url or "q=no%20such%20words" in page.url
    page.get_by_label("Search question or answer").fill("")
    page.keyboard.press("Enter")
    settle(page)
    keep(page, "runs")
    assert_clean(page)


def test_share_a_filtered_runs_view(app_url: str, page, browser) -> None:  # noqa: F811
    """An engineer narrows the Runs table and sends the address: a colleague gets the same filters and rows."""
    page.goto(app_url)
    settle(page)
    open_title(page, "Query")
    page.get_by_label("Question").fill("Which city is the capital of Australia?")
    page.keyboard.press("Control+Enter")  # commits the text area; the Run button enables
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Confidence vs threshold").first.wait_for(timeout=60_000)
    settle(page)
    open_title(page, "Runs")
    page.get_by_label("Search question or answer").fill("australia")
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_text(re.compile(r"^1 run matches the filters")).first.wait_for(timeout=30_000)
    assert "q=australia" in page.url
    colleague = browser.new_context(viewport={"width": 1400, "height": 1200}, accept_downloads=True).new_page()
    errors: list[str] = []
    colleague.on("console", lambda msg: msg.type == "error" and not HEALTH_PROBE.search(
        f"{msg.text} {msg.location.get('url')}") and errors.append(msg.text))
    colleague.goto(page.url)
    settle(colleague)
    colleague.get_by_text(re.compile(r"^1 run matches the filters")).first.wait_for(timeout=30_000)
    expect(colleague.get_by_label("Search question or answer")).to_have_value("australia", timeout=30_000)
    colleague.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)  # a canvas: no cell text
    colleague.get_by_role("button", name="Export CSV").click()  # writes the file on the server's disk
    link = colleague.get_by_role("link", name="Download cascade-runs.csv")
    link.wait_for(timeout=60_000)
    with colleague.expect_download() as info:  # the rows the colleague sees: the filtered runs, exported
        link.click()  # streamed from disk by asgi.py's route
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert [row["question"] for row in rows] == ["Which city is the capital of Australia?"]
    assert colleague.locator('[data-testid="stException"]').count() == 0 and errors == []
    colleague.context.close()


def _rerun_requests(frames: list[bytes]) -> list[str]:
    """The fragment id of every rerun the browser asked for ("" for a whole-page rerun), read from Streamlit's
    websocket messages."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    out = []
    for frame in frames:
        msg = BackMsg()
        try:
            msg.ParseFromString(frame)
        except Exception:  # not a BackMsg (e.g. a text frame)
            continue
        if msg.WhichOneof("type") == "rerun_script":
            out.append(msg.rerun_script.fragment_id)
    return out


def _metric(tab, label: str) -> str:
    box = tab.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_pick_and_apply_a_threshold(app_url: str, app_folder: Path, page) -> None:  # noqa: F811
    """A product manager runs a sweep, moves the operating point and sees the numbers beside the plot change
    (only the chooser reruns), reads the change against the current setting, and saves the setting to the
    config file in use, which then holds the new thresholds."""
    from cascade_core.cascade import load_config

    frames: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda data: isinstance(data, bytes) and frames.append(data)))
    page.goto(app_url)
    settle(page)
    start_live_sweep(page, 200, name="pm pick")
    page.get_by_text("Choose an operating point").first.wait_for(timeout=180_000)
    settle(page)
    shown(page.get_by_text("pm pick"))
    before = _metric(page, "Accuracy"), _metric(page, "Cost per 1,000")
    plot = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
    numbers = page.locator('[data-testid="stMetric"]', has_text="Accuracy").first.bounding_box()
    assert plot and numbers and numbers["x"] > plot["x"] + plot["width"] * 0.5  # beside the plot, not below it
    assert abs(numbers["y"] - plot["y"]) < 400
    thumb = page.get_by_role("slider").last  # the chooser's select slider
    value = thumb.get_attribute("aria-valuenow")
    thumb.focus()
    sent = len(frames)
    page.keyboard.press("Home" if value != "0" else "End")
    settle(page)
    # The chooser's fragment answers over the websocket: poll for its new numbers (a deadline, not a pause).
    wait_for(lambda: (_metric(page, "Accuracy"), _metric(page, "Cost per 1,000")) != before, timeout=30,
             what=f"the chosen point's numbers to change from {before}")
    reruns = _rerun_requests(frames[sent:])
    assert reruns and all(reruns), reruns  # the chooser reran as a fragment, never the whole page
    shown(page.get_by_text("vs your current setting (small: accept 4 or 5"))
    snippet = page.locator('[data-testid="stCode"]', has_text="thresholds = [").first.inner_text()
    page.get_by_role("heading", name="Results").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    keep(page, "sweep")
    assert_clean(page)
    page.get_by_role("button", name="Save to cascade.toml").click()
    page.get_by_text("Saved to").first.wait_for(timeout=30_000)
    settle(page)
    assert_clean(page)
    written = next(line for line in snippet.splitlines() if line.startswith("thresholds = ["))
    saved = load_config(app_folder / "cascade.toml")  # the file in use, read as the next start will read it
    assert f"thresholds = [{', '.join(f'{v:g}' for v in saved.thresholds)}]" == written
    assert "thresholds = [0.75, 0.75]" not in (app_folder / "cascade.toml").read_text() or written.endswith(
        "[0.75, 0.75]")
