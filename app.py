"""Cascade Lab dashboard: `./run` (`streamlit run asgi.py`: this script plus the export download route). The frame
(page config, navigation over pages/, the sidebar) is ui/entry.py."""

from __future__ import annotations

from ui.entry import run_app

run_app()
