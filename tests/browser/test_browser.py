"""The dashboard in a real browser: started the way the README says (`./run`), driven by Playwright in Debian's
headless chromium. Visits every page in the sidebar navigation, runs a query, and saves a screenshot per page
under test-output/<run>/."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OUT = ROOT / "test-output" / f"browser-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"
EXCEPTION = '[data-testid="stException"]'

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def app_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's dashboard keeps its store (cascade.duckdb) and its log (app.log)."""
    return tmp_path_factory.mktemp("browser")


@contextmanager
def running_app(folder: Path, config: Path | None = None) -> Iterator[str]:
    """`./run --server.port <free> --server.headless true` on a fresh store in `folder` (and the config file
    `config`, else none); yields its URL and stops it on exit."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    port = free_port()
    env = {**os.environ, "CASCADE_STORE": str(folder / "cascade.duckdb")}
    env.pop("CASCADE_CONFIG", None)
    if config is not None:
        env["CASCADE_CONFIG"] = str(config)
    log = open(folder / "app.log", "wb")  # closed below
    proc = subprocess.Popen(
        [str(ROOT / "run"), "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the app did not start:\n" + (folder / "app.log").read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, 15)  # the session started for ./run: streamlit and the simulator thread
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture(scope="module")
def app_url(app_folder: Path) -> Iterator[str]:
    """The dashboard as `./run` starts it, on a fresh store and no config file; stopped after the module."""
    with running_app(app_folder) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
    tab = context.new_page()
    tab.console_errors = []  # type: ignore[attr-defined]
    tab.on("console", lambda msg: msg.type == "error"
           and tab.console_errors.append(f"{msg.text} ({msg.location.get('url')})"))
    tab.on("pageerror", lambda err: tab.console_errors.append(str(err)))
    yield tab
    context.close()


def settle(tab, timeout: float = 30_000) -> None:
    """Wait until the app's script run is over: the status widget is idle and the page has drawn elements."""
    tab.wait_for_selector('[data-testid="stSidebarNav"]', timeout=timeout)
    tab.wait_for_function(
        """() => {
            const status = document.querySelector('[data-testid="stStatusWidget"]');
            if (status && /running/i.test(status.innerText)) return false;
            if (document.querySelector('[data-stale="true"]')) return false;
            return !!document.querySelector('[data-testid="stMain"] [data-testid="stElementContainer"]');
        }""",
        timeout=timeout,
    )
    charts_drawn(tab, timeout)  # charts draw after the run ends
    quiet(tab, timeout)  # and some elements after that


QUIET_MS = 500
VISIBLE_MS = 30_000  # what a test waits for text it expects on the page


def shown(locator) -> None:
    """Assert the first match becomes visible within VISIBLE_MS (Playwright polls; no fixed wait)."""
    expect(locator.first).to_be_visible(timeout=VISIBLE_MS)


def quiet(tab, timeout: float = 30_000) -> None:
    """Wait until nothing on the page has changed for QUIET_MS (a MutationObserver stamps every change)."""
    tab.evaluate("""() => {
        if (window.__lastChange === undefined) {
            window.__lastChange = performance.now();
            new MutationObserver(() => { window.__lastChange = performance.now(); }).observe(
                document.body, {subtree: true, childList: true, attributes: true, characterData: true});
        }
    }""")
    tab.wait_for_function(f"() => performance.now() - window.__lastChange > {QUIET_MS}", timeout=timeout)


def charts_drawn(tab, timeout: float = 30_000) -> None:
    """Wait until every chart on the page has drawn (plotly's SVG is in place) and the browser painted it."""
    tab.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(chart => chart.querySelector('svg.main-svg'))""", timeout=timeout)
    tab.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def shoot(tab, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def assert_clean(tab) -> None:
    assert tab.locator(EXCEPTION).count() == 0, tab.locator(EXCEPTION).first.inner_text()
    assert tab.console_errors == [], tab.console_errors


def nav_links(tab) -> list[tuple[str, str]]:
    links = tab.locator('[data-testid="stSidebarNav"] a')
    # A link's text is its icon's ligature name, then the title.
    return [(links.nth(i).inner_text().strip().splitlines()[-1].strip(), links.nth(i).get_attribute("href") or "")
            for i in range(links.count())]


def open_page(tab, index: int) -> None:
    """Navigate the way a user does: click the sidebar link (a direct load of /page makes Streamlit probe
    /page/_stcore/health first, which logs a 404 in the console)."""
    tab.locator('[data-testid="stSidebarNav"] a').nth(index).click()
    settle(tab)


def open_title(tab, title: str) -> None:
    titles = [t for t, _ in nav_links(tab)]
    open_page(tab, titles.index(title))


def start_live_sweep(tab, questions: int, name: str | None = None) -> None:
    """Open the Sweep page and start a live sweep of the first `questions` bundled questions."""
    open_title(tab, "Sweep")
    if name is not None:
        tab.get_by_label("Name of this sweep", exact=True).fill(name)
    limit = tab.get_by_label("Only the first N questions (0 = all)")
    limit.fill(str(questions))
    limit.press("Enter")
    settle(tab)
    tab.get_by_role("button", name="Start").click()


def test_every_page_renders(app_url: str, page) -> None:
    page.goto(app_url)
    settle(page)
    links = nav_links(page)
    titles = [title for title, _ in links]
    assert {"Overview", "Query", "Runs", "Settings"} <= set(titles), titles
    for index, (title, _) in enumerate(links):
        open_page(page, index)
        shoot(page, "page-" + "".join(c if c.isalnum() else "-" for c in title.lower()))
        assert_clean(page)


def test_query_shows_trace_then_runs_lists_it(app_url: str, page) -> None:
    page.goto(app_url)
    settle(page)
    open_title(page, "Query")
    page.get_by_label("Question").fill("What is the capital of France?")
    page.keyboard.press("Control+Enter")  # commits the text area; the Run button enables
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Confidence vs threshold").first.wait_for(timeout=60_000)
    settle(page)
    shown(page.get_by_text("simulated"))
    shown(page.get_by_text("raw model output"))
    shoot(page, "query-trace")
    assert_clean(page)

    open_title(page, "Runs")
    page.get_by_text("1 run matches").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Export CSV").click()  # writes the file on the server's disk
    link = page.get_by_role("link", name="Download cascade-runs.csv")
    link.wait_for(timeout=60_000)
    with page.expect_download() as info:
        link.click()  # streamed from disk by asgi.py's route
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(rows) == 1 and rows[0]["question"] == "What is the capital of France?"
    page.get_by_label("Open a run by id (or select a row above)").fill(rows[0]["run_id"])
    page.keyboard.press("Enter")
    page.get_by_text("Confidence vs threshold").first.wait_for(timeout=30_000)
    settle(page)
    shoot(page, "runs-trace")
    assert_clean(page)


def test_live_sweep_draws_the_frontier(app_url: str, page) -> None:
    page.goto(app_url)
    settle(page)
    start_live_sweep(page, 80)
    page.get_by_text("Calibration per tier").first.wait_for(timeout=120_000)
    settle(page)
    page.locator('[data-testid="stPlotlyChart"] svg.main-svg').first.wait_for(timeout=30_000)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
    shoot(page, "sweep-frontier")
    assert_clean(page)
    with page.expect_download() as info:  # the HTML page is built on click (a deferred download)
        page.get_by_role("button", name="Plot (HTML)").click()
    html = Path(info.value.path()).read_text()
    assert "<html>" in html[:200] and "plotly" in html.lower()


def test_audit_runs_from_the_page(app_url: str, page) -> None:
    page.goto(app_url)
    settle(page)
    # A run whose small-tier answer is accepted: what the audit samples. Logged here, not left to the query test,
    # which may run on the other xdist worker (its own app and store).
    open_title(page, "Query")
    page.get_by_label("Question").fill("What is the capital of France?")
    page.keyboard.press("Control+Enter")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Confidence vs threshold").first.wait_for(timeout=60_000)
    settle(page)
    open_title(page, "Audit")
    page.get_by_role("button", name="Run audit").click()
    page.get_by_text("Trend by week").first.wait_for(timeout=120_000)
    settle(page)
    shown(page.get_by_text("Flagged answers"))
    shoot(page, "audit-result")
    assert_clean(page)


def test_bad_config_keeps_the_menu_and_names_the_file(tmp_path: Path, page) -> None:
    """A config that fails to load stops every page in the sidebar with the error; the menu is still ours
    (before the fix, Streamlit listed pages/ itself: "app, audit, overview...", opening pages without app.py)."""
    config = tmp_path / "cascade.toml"
    config.write_text("this is = = not toml\n")
    with running_app(tmp_path, config) as url:
        page.goto(url)
        error = page.locator('[data-testid="stSidebar"] [data-testid="stAlertContentError"]')
        error.first.wait_for(timeout=60_000)
        assert str(config) in error.first.inner_text() and "not valid TOML" in error.first.inner_text()
        page.wait_for_selector('[data-testid="stSidebarNav"] a', timeout=30_000)
        titles = [title for title, _ in nav_links(page)]
        assert titles == ["Overview", "Query", "Runs", "Sweep", "Audit", "Settings"], titles
        assert page.locator(EXCEPTION).count() == 0
