"""Links that open a run, an audit or a sweep directly (st.query_params), and the Runs page's URL state."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cascade_core.views import params_from_state, state_from_params


def base_url() -> str:
    """The app's address as the browser sees it ("" under AppTest, where links stay relative)."""
    try:
        url = st.context.url or ""
    except Exception:  # no browser context (AppTest, bare mode)
        url = ""
    scheme_host = url.split("?", 1)[0]
    if "://" not in scheme_host:
        return ""
    scheme, rest = scheme_host.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


def run_url(run_id: str) -> str:
    """A Markdown link to the run's trace on the Runs page (run ids are hex: safe in a URL and in Markdown)."""
    safe = "".join(ch for ch in run_id if ch.isalnum() or ch in "-_")
    url = f"{base_url()}/runs?run={safe}"
    return f"[{url}]({url})"


_URL_SEEN = "_runs_url_seen"


def runs_state_from_url() -> None:
    """Before the widgets: when the URL differs from what this page last wrote, its values become the widgets'."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    seen = sorted((k, tuple(v)) for k, v in params.items())
    if st.session_state.get(_URL_SEEN) == seen:
        return
    for key, value in state_from_params(params).items():
        st.session_state[key] = value
    st.session_state[_URL_SEEN] = seen


def runs_state_to_url(state: dict[str, Any]) -> None:
    """After the widgets: the URL shows the current filters, sort, page and open run (shareable)."""
    params = params_from_state(state)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    wanted = {k: (v if isinstance(v, list) else [v]) for k, v in params.items()}
    if current != wanted:
        st.query_params.from_dict(params)
    st.session_state[_URL_SEEN] = sorted((k, tuple(v)) for k, v in wanted.items())
