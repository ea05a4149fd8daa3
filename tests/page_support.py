"""Opening a dashboard page the way a user does: through app.py's navigation (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(page: str, *, timeout: float = 60) -> AppTest:
    """Run app.py, then switch to pages/<page>.py, as clicking it in the sidebar does."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout).run()
    return at.switch_page(f"pages/{page}.py").run()
