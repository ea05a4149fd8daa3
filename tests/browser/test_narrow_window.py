"""The dashboard in a 1,280 px wide window (a laptop with the sidebar open): nothing a user needs is clipped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cascade_core.clock import utc_now
from cascade_core.store import Store
from tests.browser.test_browser import (  # noqa: F401  (fixtures are found by name in this module)
    assert_clean,
    browser,
    open_title,
    running_app,
    settle,
    shoot,
    shown,
)
from tests.factories import make_trace

pytestmark = pytest.mark.browser
WIDTH = 1280

# True when some element inside `el` is cut off (a label ending in "…" or text running past its box).
CLIPPED = """el => [el, ...el.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1
    && getComputedStyle(e).overflowX !== 'visible')"""


def measurable(tab) -> None:
    """Settled and drawn in the app's own font: a fallback font still loading measures wider (or narrower)."""
    settle(tab)
    tab.evaluate("() => document.fonts.ready.then(() => true)")
    tab.wait_for_function("() => document.fonts.status === 'loaded'")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a store holding a few runs of the last hours (the audit's window): answered by each tier,
    so some always-large costs are estimated and others measured, and some are small-tier answers to audit."""
    folder = tmp_path_factory.mktemp("narrow")
    with Store(folder / "cascade.duckdb") as store:
        store.log_traces([make_trace(i % 3, when=utc_now() - timedelta(hours=i), correct=i % 2 == 0)
                          for i in range(6)])
    with running_app(folder) as url:
        yield url


@pytest.fixture
def narrow(browser) -> Iterator:  # noqa: F811
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    tab = context.new_page()
    tab.console_errors = []  # type: ignore[attr-defined]
    tab.on("console", lambda msg: msg.type == "error"
           and tab.console_errors.append(f"{msg.text} ({msg.location.get('url')})"))
    yield tab
    context.close()


def test_runs_table_shows_its_link_column_and_export_labels_whole(app_url: str, narrow) -> None:
    narrow.goto(app_url)
    settle(narrow)
    open_title(narrow, "Runs")
    grid = narrow.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=30_000)
    measurable(narrow)
    # The grid draws on a canvas; its accessible table holds a header cell for each column in view.
    headers = grid.locator('th, [role="columnheader"]').all_inner_texts()
    assert {"error", "link"} <= {h.strip() for h in headers}, headers
    for label in ("Export CSV", "Export Parquet"):
        button = narrow.get_by_role("button", name=label)
        assert not button.evaluate(CLIPPED), f"{label!r} is clipped at {WIDTH} px"
    shoot(narrow, "runs-1280")
    assert_clean(narrow)


def test_audit_figures_are_whole_and_carry_their_interval(app_url: str, narrow) -> None:
    narrow.goto(app_url)
    settle(narrow)
    open_title(narrow, "Audit")
    narrow.get_by_role("button", name="Run audit").click()
    narrow.get_by_text("Trend by week").first.wait_for(timeout=120_000)
    measurable(narrow)
    labels = narrow.locator('[data-testid="stMetricLabel"]')
    assert labels.count() >= 5
    for i in range(labels.count()):
        assert not labels.nth(i).evaluate(CLIPPED), f"{labels.nth(i).inner_text()!r} is clipped at {WIDTH} px"
    # The estimate of wrong answers served shows its interval, not only in a tooltip.
    shown(narrow.get_by_text(re.compile(r"^95% interval \d+–\d+ of \d+ accepted$")))
    shoot(narrow, "audit-1280")
    assert_clean(narrow)


def test_overview_figures_are_whole(app_url: str, narrow) -> None:
    narrow.goto(app_url)
    measurable(narrow)
    labels = narrow.locator('[data-testid="stMetricLabel"]')
    assert labels.count() >= 5
    clipped = [labels.nth(i).inner_text() for i in range(labels.count()) if labels.nth(i).evaluate(CLIPPED)]
    assert clipped == [], f"clipped at {WIDTH} px: {clipped}"
    shoot(narrow, "overview-1280")
    assert_clean(narrow)
