"""Cascade Lab dashboard: `./run` (or `streamlit run app.py`). The frame (page config, sidebar, navigation over
pages/) is ui/entry.py."""

from __future__ import annotations

from ui.entry import run_app

run_app()
