"""The Audit page renders (Streamlit AppTest) with no audits, one audit, and many weekly audits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cascade_core.store import Store
from tests.test_audit_support import seed_audits

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "audit.py")



def render(timeout: float = 30) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=timeout)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_page_with_no_audits(store_path: Path) -> None:
    app = render()
    assert any("No audits yet" in i.value for i in app.info)
    assert app.button  # the form's Run audit button


def test_page_with_one_audit(store_path: Path) -> None:
    with Store(store_path) as store:
        [audit_id] = seed_audits(store, 1, wrong_share=0.5)
    app = render()
    assert audit_id in app.selectbox[0].value
    labels = [m.label for m in app.metric]
    assert "Overconfidence rate" in labels and "Judge cost" in labels
    assert any("Alert" in e.value for e in app.error) or app.warning or app.success
    assert not app.info or all("No audits yet" not in i.value for i in app.info)


def test_page_with_many_weeks_and_a_review(store_path: Path) -> None:
    with Store(store_path) as store:
        ids = seed_audits(store, 8)
    app = render()
    assert ids[-1] in app.selectbox[0].value  # the newest audit is shown first
    assert len(app.get("plotly_chart")) >= 2  # the weekly trend and a breakdown
    agree = next(b for b in app.button if b.label == "Agree with the judge")
    agree.click().run()
    assert not app.exception, [e.message for e in app.exception]
    reviews = next(m for m in app.metric if m.label == "Reviews")
    assert reviews.value == "1"


def test_page_runs_an_audit_on_the_embedded_simulator(store_path: Path) -> None:
    from cascade_core.datasets import load_bundled
    from tests.factories import make_trace

    items = [i for i in load_bundled().items if i.answer_type == "number" and i.gold.strip() != "4"][:12]
    with Store(store_path) as store:
        for item in items:  # accepted by the small tier, answer "4": the judge grades it against the gold
            trace = make_trace(0, question=item.question)
            trace.created_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
            trace.gold, trace.category = item.gold, item.category
            store.log_trace(trace)
    app = render()
    app.number_input[1].set_value(10)  # sample size
    next(b for b in app.button if b.label == "Run audit").click().run(timeout=60)
    assert not app.exception, [e.message for e in app.exception]
    flagged = next(m for m in app.metric if m.label == "Flagged / audited")
    assert flagged.value == "10 / 10"  # every answer "4" is wrong against its gold, and was accepted at 0.75
    assert any("Simulated" in m.value for m in app.markdown)


def test_names_in_the_recommendation_and_review_render_as_text(store_path: Path) -> None:
    """Tier names (and sweep or dataset names) reach st.info / st.caption, which render Markdown: escaped."""
    hostile = "[evil](http://x.test) **bold** <b>"
    with Store(store_path) as store:
        [audit_id] = seed_audits(store, 1, wrong_share=0.5)
        store.execute("UPDATE audit_items SET tier_name = ? WHERE audit_id = ?", [hostile, audit_id])
    app = render()
    [rec] = [i.value for i in app.info if "threshold from" in i.value]
    assert "\\[evil\\]\\(http\\:" in rec and "\\*\\*bold\\*\\*" in rec and "[evil](" not in rec
    [caption] = [c.value for c in app.caption if c.value.startswith("Accepted answer")]
    assert "\\[evil\\]" in caption and "[evil](" not in caption


def test_markdown_report_cells_are_literal_text() -> None:
    from cascade_core.audit.report import _cell, md_text

    assert _cell("a | b <img src=x onerror=alert(1)> ![i](http://x) [l](y) `code` \\ end") == (
        "a \\| b \\<img src=x onerror=alert(1)\\> \\!\\[i\\](http://x) \\[l\\](y) \\`code\\` \\\\ end")
    assert md_text("plain text, 3.5% of 40") == "plain text, 3.5% of 40"


def test_reruns_reuse_the_report_and_read_items_once(store_path: Path, monkeypatch) -> None:
    """A render reads the audit's items once and the window through the slim query only; a rerun with nothing
    changed reads neither; a review (it changes agreement and the queue) recomputes the report."""
    from cascade_core.store import audits as audit_sql

    with Store(store_path) as store:
        seed_audits(store, 1, wrong_share=0.5)  # above the alert line: a recommendation reads the window
    calls: dict[str, int] = {}
    for name in ("audit_items", "accepted_steps", "accepted_confidences"):
        real = getattr(audit_sql, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(audit_sql, name, counting)
    app = render()
    assert any("threshold from" in i.value for i in app.info)
    assert calls == {"audit_items": 1, "accepted_confidences": 1}
    app.run()  # a rerun with nothing changed
    assert not app.exception and calls == {"audit_items": 1, "accepted_confidences": 1}
    next(b for b in app.button if b.label == "Agree with the judge").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert next(m for m in app.metric if m.label == "Reviews").value == "1"
    assert calls == {"audit_items": 2, "accepted_confidences": 2}


def test_no_eligible_answer_says_why_and_saves_nothing(store_path: Path) -> None:
    """Only sweep runs in the window: the page says so, and no empty audit is stored."""
    from tests.factories import make_trace

    with Store(store_path) as store:
        trace = make_trace(0, question="swept", source="sweep")
        trace.created_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
        store.log_trace(trace)
    app = render()
    next(b for b in app.button if b.label == "Run audit").click().run(timeout=60)
    assert not app.exception
    assert any("Nothing to audit" in w.value and "other sources" in w.value for w in app.warning)
    with Store(store_path) as store:
        assert store.execute("SELECT count(*) FROM audits") == [(0,)]


def test_an_audit_link_opens_that_audit_and_the_trace_button_lands_on_the_trace(store_path: Path) -> None:
    from tests.page_support import ROOT

    with Store(store_path) as store:
        ids = seed_audits(store, 3, wrong_share=0.5)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    app.switch_page("pages/audit.py")
    app.query_params["audit"] = ids[0]  # not the newest
    app.run()
    assert not app.exception
    assert ids[0] in app.selectbox[0].value and app.query_params["audit"] == ids[0]
    opened = next(b for b in app.button if b.label == "Open the run's trace")
    opened.click().run()
    assert not app.exception
    assert app.title[0].value == "Run trace"  # the Runs page, opened on the trace itself
    assert app.query_params["run"] == app.session_state["runs_open_id"]


def test_page_says_why_judge_calls_failed(store_path: Path, fresh_simulator, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_endpoint_hostile import audit_with_a_failing_judge

    assert audit_with_a_failing_judge(fresh_simulator, tmp_path, store_path) == 1
    capsys.readouterr()
    app = render()
    assert any("incomplete" in w.value for w in app.warning)  # with its Resume audit button
    assert any("4 of 4 judge calls failed" in c.value for c in app.caption)
    assert any("HTTP 502: an HTML page '502 Bad Gateway' (4)" in c.value for c in app.code)
    assert not any("and the judge come from" in str(b) for b in app.get("badge"))
