"""The dashboard's frame: page config, the sidebar's backend line, the store check, and navigation over pages/.
app.py runs it; so does a page that Streamlit started alone (see through_app)."""

from __future__ import annotations

import streamlit as st

from cascade_core.cascade import ConfigError
from cascade_core.security import is_loopback
from cascade_core.store import StoreError
from ui.state import get_config, get_store

# One line per page, in menu order. A page renders; its logic lives in cascade_core.
PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/query.py", "Query", ":material/play_arrow:"),
    ("pages/runs.py", "Runs", ":material/list:"),
    ("pages/sweep.py", "Sweep", ":material/query_stats:"),
    ("pages/audit.py", "Audit", ":material/gavel:"),
    ("pages/settings.py", "Settings", ":material/settings:"),
]


def sidebar_backend() -> None:
    """Which backend is live, always visible."""
    try:
        config = get_config()
    except ConfigError as err:
        st.sidebar.error(str(err))
        st.stop()
    with st.sidebar:
        address = str(st.get_option("server.address") or "")  # ./run sets 127.0.0.1 (.streamlit/config.toml)
        if address and not is_loopback(address):  # README "Data and security": put a login in front of it
            st.warning(f"Listening on {address}: this dashboard has no login of its own. "
                       "Anyone who reaches it can run paid queries and read every stored prompt; put it behind "
                       "an authenticating reverse proxy.")
        if config.uses_embedded:
            st.markdown(":orange-badge[SIMULATED] tiers on the embedded simulator (127.0.0.1, no key, no network)")
        else:
            hosts = sorted({t.base_url for t in config.tiers})
            st.markdown(":green-badge[LIVE] " + ", ".join(f"`{h}`" for h in hosts))
        st.caption(" → ".join(f"{t.name} ({t.model})" for t in config.tiers))
    try:
        get_store()
    except StoreError as err:
        st.error(str(err))
        st.stop()


def run_app() -> None:
    # An emoji favicon is drawn locally; a :material/...: one is fetched from fonts.gstatic.com (breaks offline).
    st.set_page_config(page_title="Cascade Lab", page_icon="🪜", layout="wide")
    pages = [st.Page(path, title=title, icon=icon, default=i == 0) for i, (path, title, icon) in enumerate(PAGES)]
    # Navigation first: a page that stops (bad config, unreadable store) must still have our menu, or Streamlit
    # falls back to listing pages/ itself and opens a page without this frame.
    navigation = st.navigation(pages)
    sidebar_backend()
    navigation.run()
